"""The attention model in numpy, float64: the reference the Rust forward pass is tested against,
and the shape of every weights file (safetensors, float32, sizes and features in the metadata).

Architecture (docs/design.md): each feature vector of the window is normalised, embedded
(linear) and layer-normed, and projected to a key and a value; the newest one also to a query.
One multi-head attention of that query over the window's keys, plus a learned bias per head and
window slot (where in the window a row sits), pools the window; the result is added to the newest
embedding, then a pre-norm ReLU MLP is added, a final layer norm, a linear head and a softmax
give (down, flat, up). Rows are embedded on their own, so the live signal computes each row
once, when it arrives, and per update only the newest query's attention (see signal.rs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from arbiter.books import FEATURES

Array = npt.NDArray[np.float64]
Params = dict[str, Array]
EPS = 1e-5
CLASSES = ("down", "flat", "up")


@dataclass(frozen=True, slots=True)
class Sizes:
    window: int
    d_model: int
    heads: int
    hidden: int
    horizon: int

    def shapes(self) -> dict[str, tuple[int, ...]]:
        f, d, h = len(FEATURES), self.d_model, self.hidden
        return {
            "norm.mean": (f,),
            "norm.std": (f,),
            "embed.weight": (d, f),
            "embed.bias": (d,),
            "block.ln1.weight": (d,),
            "block.ln1.bias": (d,),
            "block.qkv.weight": (3 * d, d),
            "block.qkv.bias": (3 * d,),
            "block.position_bias": (self.heads, self.window),
            "block.proj.weight": (d, d),
            "block.proj.bias": (d,),
            "block.ln2.weight": (d,),
            "block.ln2.bias": (d,),
            "block.fc1.weight": (h, d),
            "block.fc1.bias": (h,),
            "block.fc2.weight": (d, h),
            "block.fc2.bias": (d,),
            "ln_final.weight": (d,),
            "ln_final.bias": (d,),
            "head.weight": (len(CLASSES), d),
            "head.bias": (len(CLASSES),),
        }


def initial_params(sizes: Sizes, rng: np.random.Generator) -> Params:
    """Small random weights, unit layer norms, identity normalisation."""
    params: Params = {}
    for name, shape in sizes.shapes().items():
        if name.endswith("bias") or name == "norm.mean":
            params[name] = np.zeros(shape)
        elif name.endswith(("ln1.weight", "ln2.weight", "ln_final.weight")) or name == "norm.std":
            params[name] = np.ones(shape)
        else:
            fan_in = shape[-1] if len(shape) > 1 else 1
            params[name] = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
    return params


def layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed: Array = (x - mean) / np.sqrt(var + EPS) * weight + bias
    return normed


def softmax(x: Array) -> Array:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    probabilities: Array = e / e.sum(axis=-1, keepdims=True)
    return probabilities


def forward(params: Params, sizes: Sizes, windows: Array) -> Array:
    """(down, flat, up) probabilities for windows of raw features, shape [batch, window, F]."""
    p, batch, d, heads = params, windows.shape[0], sizes.d_model, sizes.heads
    dh = d // heads
    x = (windows - p["norm.mean"]) / p["norm.std"]
    embedded = x @ p["embed.weight"].T + p["embed.bias"]  # [batch, t, d]
    h = layer_norm(embedded, p["block.ln1.weight"], p["block.ln1.bias"])
    qkv = h @ p["block.qkv.weight"].T + p["block.qkv.bias"]  # [batch, t, 3d]
    query = qkv[:, -1, :d].reshape(batch, heads, dh)
    keys = qkv[..., d : 2 * d].reshape(batch, -1, heads, dh)  # [batch, t, heads, dh]
    values = qkv[..., 2 * d :].reshape(batch, -1, heads, dh)
    scores = np.einsum("bhd,bthd->bht", query, keys) / np.sqrt(dh) + p["block.position_bias"]
    attended = np.einsum("bht,bthd->bhd", softmax(scores), values).reshape(batch, d)
    x = embedded[:, -1] + attended @ p["block.proj.weight"].T + p["block.proj.bias"]
    h = layer_norm(x, p["block.ln2.weight"], p["block.ln2.bias"])
    hidden = np.maximum(h @ p["block.fc1.weight"].T + p["block.fc1.bias"], 0.0)
    x = x + hidden @ p["block.fc2.weight"].T + p["block.fc2.bias"]
    final = layer_norm(x, p["ln_final.weight"], p["ln_final.bias"])
    return softmax(final @ p["head.weight"].T + p["head.bias"])


def save(path: Path, params: Params, sizes: Sizes, facts: dict[str, str]) -> None:
    """A weights file: float32 tensors, and in the metadata the features, sizes and `facts`
    (training data, metrics)."""
    metadata = {
        "features": json.dumps(list(FEATURES)),
        "window": str(sizes.window),
        "d_model": str(sizes.d_model),
        "heads": str(sizes.heads),
        "layers": "1",
        "hidden": str(sizes.hidden),
        "horizon": str(sizes.horizon),
        **facts,
    }
    tensors = {name: np.asarray(value, dtype=np.float32) for name, value in params.items()}
    save_file(tensors, str(path), metadata=metadata)


def load(path: Path) -> Params:
    """The tensors of a weights file, as float64."""
    return {name: value.astype(np.float64) for name, value in load_file(str(path)).items()}
