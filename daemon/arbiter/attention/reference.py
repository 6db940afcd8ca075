"""The attention model in numpy, float64: the reference the Rust forward pass is tested against,
and the shape of every weights file (safetensors, float32, sizes and features in the metadata).

Architecture (docs/design.md): normalise → linear embedding + learned positions → `layers`
pre-norm blocks (multi-head self-attention, then a ReLU MLP, each added back) → layer norm →
mean over the window → linear → softmax over (down, flat, up).
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
    layers: int
    hidden: int
    horizon: int

    def shapes(self) -> dict[str, tuple[int, ...]]:
        f, d, h = len(FEATURES), self.d_model, self.hidden
        shapes: dict[str, tuple[int, ...]] = {
            "norm.mean": (f,),
            "norm.std": (f,),
            "embed.weight": (d, f),
            "embed.bias": (d,),
            "positions": (self.window, d),
            "ln_final.weight": (d,),
            "ln_final.bias": (d,),
            "head.weight": (len(CLASSES), d),
            "head.bias": (len(CLASSES),),
        }
        for i in range(self.layers):
            shapes |= {
                f"blocks.{i}.ln1.weight": (d,),
                f"blocks.{i}.ln1.bias": (d,),
                f"blocks.{i}.qkv.weight": (3 * d, d),
                f"blocks.{i}.qkv.bias": (3 * d,),
                f"blocks.{i}.proj.weight": (d, d),
                f"blocks.{i}.proj.bias": (d,),
                f"blocks.{i}.ln2.weight": (d,),
                f"blocks.{i}.ln2.bias": (d,),
                f"blocks.{i}.fc1.weight": (h, d),
                f"blocks.{i}.fc1.bias": (h,),
                f"blocks.{i}.fc2.weight": (d, h),
                f"blocks.{i}.fc2.bias": (d,),
            }
        return shapes


def initial_params(sizes: Sizes, rng: np.random.Generator) -> Params:
    """Small random weights, unit layer norms, identity normalisation."""
    params: Params = {}
    for name, shape in sizes.shapes().items():
        if name.endswith(".bias") or name == "norm.mean":
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
    p = params
    batch, t, d, heads = windows.shape[0], sizes.window, sizes.d_model, sizes.heads
    dh = d // heads
    x = (windows - p["norm.mean"]) / p["norm.std"]
    x = x @ p["embed.weight"].T + p["embed.bias"] + p["positions"]
    for i in range(sizes.layers):
        b = f"blocks.{i}."
        h = layer_norm(x, p[b + "ln1.weight"], p[b + "ln1.bias"])
        qkv = h @ p[b + "qkv.weight"].T + p[b + "qkv.bias"]  # [batch, t, 3d]
        q, k, v = (
            qkv[..., part * d : (part + 1) * d].reshape(batch, t, heads, dh).transpose(0, 2, 1, 3)
            for part in range(3)
        )
        weights = softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh))  # [batch, heads, t, t]
        attended = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, t, d)
        x = x + attended @ p[b + "proj.weight"].T + p[b + "proj.bias"]
        h = layer_norm(x, p[b + "ln2.weight"], p[b + "ln2.bias"])
        hidden = np.maximum(h @ p[b + "fc1.weight"].T + p[b + "fc1.bias"], 0.0)
        x = x + hidden @ p[b + "fc2.weight"].T + p[b + "fc2.bias"]
    pooled = layer_norm(x, p["ln_final.weight"], p["ln_final.bias"]).mean(axis=1)
    return softmax(pooled @ p["head.weight"].T + p["head.bias"])


def save(path: Path, params: Params, sizes: Sizes, facts: dict[str, str]) -> None:
    """A weights file: float32 tensors, and in the metadata the features, sizes and `facts`
    (training data, metrics)."""
    metadata = {
        "features": json.dumps(list(FEATURES)),
        "window": str(sizes.window),
        "d_model": str(sizes.d_model),
        "heads": str(sizes.heads),
        "layers": str(sizes.layers),
        "hidden": str(sizes.hidden),
        "horizon": str(sizes.horizon),
        **facts,
    }
    tensors = {name: np.asarray(value, dtype=np.float32) for name, value in params.items()}
    save_file(tensors, str(path), metadata=metadata)


def load(path: Path) -> Params:
    """The tensors of a weights file, as float64."""
    return {name: value.astype(np.float64) for name, value in load_file(str(path)).items()}
