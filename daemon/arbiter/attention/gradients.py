"""The model's loss and its gradients by hand, in numpy: what training needs and nothing more
(no autodiff framework: the dependencies would outweigh the model by a thousand times). The
forward pass here keeps what the backward pass needs; it must equal `reference.forward`, and the
gradients must equal finite differences (both tested)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from arbiter.attention.reference import EPS, Array, Params, Sizes, softmax

Labels = npt.NDArray[np.int64]
#: Tensors that training does not move: the normalisation is measured on the data.
FROZEN = frozenset({"norm.mean", "norm.std"})


@dataclass
class _Norm:
    xhat: Array
    inv: Array


def _layer_norm(x: Array, weight: Array, bias: Array) -> tuple[Array, _Norm]:
    mean = x.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + EPS)
    xhat = (x - mean) * inv
    return xhat * weight + bias, _Norm(xhat, inv)


def _layer_norm_back(dy: Array, weight: Array, cache: _Norm) -> tuple[Array, Array, Array]:
    axes = tuple(range(dy.ndim - 1))
    dweight = (dy * cache.xhat).sum(axis=axes)
    dbias = dy.sum(axis=axes)
    dxhat = dy * weight
    dx = cache.inv * (
        dxhat
        - dxhat.mean(axis=-1, keepdims=True)
        - cache.xhat * (dxhat * cache.xhat).mean(axis=-1, keepdims=True)
    )
    return dx, dweight, dbias


def _linear_back(dy: Array, x: Array, weight: Array) -> tuple[Array, Array, Array]:
    """For y = x W^T + b over any leading axes: (dx, dW, db)."""
    flat_dy = dy.reshape(-1, dy.shape[-1])
    flat_x = x.reshape(-1, x.shape[-1])
    return dy @ weight, flat_dy.T @ flat_x, flat_dy.sum(axis=0)


@dataclass
class _Heads:
    """Moves between [batch, t, d] and [batch, heads, t, d / heads]."""

    batch: int
    t: int
    d: int
    heads: int

    def split(self, a: Array) -> Array:
        return a.reshape(self.batch, self.t, self.heads, -1).transpose(0, 2, 1, 3)

    def merge(self, a: Array) -> Array:
        return a.transpose(0, 2, 1, 3).reshape(self.batch, self.t, self.d)


def loss_and_gradients(
    params: Params, sizes: Sizes, windows: Array, labels: Labels
) -> tuple[float, Params, Array]:
    """Mean cross-entropy of `labels` (0 down, 1 flat, 2 up) over the batch, its gradient for
    every trained tensor, and the predicted probabilities."""
    heads = _Heads(windows.shape[0], sizes.window, sizes.d_model, sizes.heads)
    xn, caches, final = _forward(params, sizes, windows, heads)
    probabilities = final["probabilities"]
    batch = windows.shape[0]
    loss = float(-np.log(probabilities[np.arange(batch), labels] + 1e-12).mean())
    gradients = _backward(params, sizes, labels, heads=heads, xn=xn, caches=caches, final=final)
    return loss, gradients, probabilities


def _forward(
    params: Params, sizes: Sizes, windows: Array, heads: _Heads
) -> tuple[Array, list[dict[str, Any]], dict[str, Any]]:
    p, split, merge = params, heads.split, heads.merge
    dh = sizes.d_model // sizes.heads
    d = sizes.d_model

    xn = (windows - p["norm.mean"]) / p["norm.std"]
    x = xn @ p["embed.weight"].T + p["embed.bias"] + p["positions"]
    caches: list[dict[str, Any]] = []
    for i in range(sizes.layers):
        b = f"blocks.{i}."
        c: dict[str, Any] = {"x": x}
        c["h1"], c["ln1"] = _layer_norm(x, p[b + "ln1.weight"], p[b + "ln1.bias"])
        qkv = c["h1"] @ p[b + "qkv.weight"].T + p[b + "qkv.bias"]
        c["q"], c["k"], c["v"] = (split(qkv[..., j * d : (j + 1) * d]) for j in range(3))
        c["a"] = softmax(c["q"] @ c["k"].transpose(0, 1, 3, 2) / np.sqrt(dh))
        c["o"] = merge(c["a"] @ c["v"])
        x = x + c["o"] @ p[b + "proj.weight"].T + p[b + "proj.bias"]
        c["x1"] = x
        c["h2"], c["ln2"] = _layer_norm(x, p[b + "ln2.weight"], p[b + "ln2.bias"])
        c["z"] = c["h2"] @ p[b + "fc1.weight"].T + p[b + "fc1.bias"]
        c["r"] = np.maximum(c["z"], 0.0)
        x = x + c["r"] @ p[b + "fc2.weight"].T + p[b + "fc2.bias"]
        caches.append(c)
    hf, lnf = _layer_norm(x, p["ln_final.weight"], p["ln_final.bias"])
    pooled = hf.mean(axis=1)
    probabilities = softmax(pooled @ p["head.weight"].T + p["head.bias"])
    return xn, caches, {"lnf": lnf, "pooled": pooled, "probabilities": probabilities}


def _backward(
    params: Params,
    sizes: Sizes,
    labels: Labels,
    *,
    heads: _Heads,
    xn: Array,
    caches: list[dict[str, Any]],
    final: dict[str, Any],
) -> Params:
    p, split, merge = params, heads.split, heads.merge
    batch, t, dh = heads.batch, sizes.window, sizes.d_model // sizes.heads
    lnf, pooled = final["lnf"], final["pooled"]
    g: Params = {}
    dlogits = final["probabilities"].copy()
    dlogits[np.arange(batch), labels] -= 1.0
    dlogits /= batch
    dpooled, g["head.weight"], g["head.bias"] = _linear_back(dlogits, pooled, p["head.weight"])
    dhf = np.repeat(dpooled[:, None, :] / t, t, axis=1)
    dx, g["ln_final.weight"], g["ln_final.bias"] = _layer_norm_back(dhf, p["ln_final.weight"], lnf)
    for i in reversed(range(sizes.layers)):
        b, c = f"blocks.{i}.", caches[i]
        dr, g[b + "fc2.weight"], g[b + "fc2.bias"] = _linear_back(dx, c["r"], p[b + "fc2.weight"])
        dz = dr * (c["z"] > 0)
        dh2, g[b + "fc1.weight"], g[b + "fc1.bias"] = _linear_back(dz, c["h2"], p[b + "fc1.weight"])
        dln2, g[b + "ln2.weight"], g[b + "ln2.bias"] = _layer_norm_back(
            dh2, p[b + "ln2.weight"], c["ln2"]
        )
        dx = dx + dln2
        do, g[b + "proj.weight"], g[b + "proj.bias"] = _linear_back(
            dx, c["o"], p[b + "proj.weight"]
        )
        do = split(do)
        da = do @ c["v"].transpose(0, 1, 3, 2)
        dv = c["a"].transpose(0, 1, 3, 2) @ do
        ds = c["a"] * (da - (da * c["a"]).sum(axis=-1, keepdims=True)) / np.sqrt(dh)
        dq = ds @ c["k"]
        dk = ds.transpose(0, 1, 3, 2) @ c["q"]
        dqkv = np.concatenate([merge(dq), merge(dk), merge(dv)], axis=-1)
        dh1, g[b + "qkv.weight"], g[b + "qkv.bias"] = _linear_back(
            dqkv, c["h1"], p[b + "qkv.weight"]
        )
        dln1, g[b + "ln1.weight"], g[b + "ln1.bias"] = _layer_norm_back(
            dh1, p[b + "ln1.weight"], c["ln1"]
        )
        dx = dx + dln1
    g["positions"] = dx.sum(axis=0)
    _, g["embed.weight"], g["embed.bias"] = _linear_back(dx, xn, p["embed.weight"])
    return g
