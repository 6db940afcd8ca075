"""The model's loss and its gradients by hand, in numpy: what training needs and nothing more
(an autodiff framework would outweigh the model a thousand times over in dependencies). The
forward pass here keeps what the backward pass needs; it must equal `reference.forward`, and the
gradients must equal finite differences (both tested)."""

from __future__ import annotations

from dataclasses import dataclass

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
    dxhat = dy * weight
    dx = cache.inv * (
        dxhat
        - dxhat.mean(axis=-1, keepdims=True)
        - cache.xhat * (dxhat * cache.xhat).mean(axis=-1, keepdims=True)
    )
    return dx, (dy * cache.xhat).sum(axis=axes), dy.sum(axis=axes)


def _linear_back(dy: Array, x: Array, weight: Array) -> tuple[Array, Array, Array]:
    """For y = x W^T + b over any leading axes: (dx, dW, db)."""
    flat_dy, flat_x = dy.reshape(-1, dy.shape[-1]), x.reshape(-1, x.shape[-1])
    return dy @ weight, flat_dy.T @ flat_x, flat_dy.sum(axis=0)


def loss_and_gradients(
    params: Params, sizes: Sizes, windows: Array, labels: Labels
) -> tuple[float, Params, Array]:
    """Mean cross-entropy of `labels` (0 down, 1 flat, 2 up) over the batch, its gradient for
    every trained tensor, and the predicted probabilities."""
    p, batch, t, d, heads = params, windows.shape[0], sizes.window, sizes.d_model, sizes.heads
    dh = d // heads
    root = np.sqrt(dh)
    # Forward, as reference.forward, keeping the intermediates.
    xn = (windows - p["norm.mean"]) / p["norm.std"]
    embedded = xn @ p["embed.weight"].T + p["embed.bias"]
    h1, ln1 = _layer_norm(embedded, p["block.ln1.weight"], p["block.ln1.bias"])
    qkv = h1 @ p["block.qkv.weight"].T + p["block.qkv.bias"]
    query = qkv[:, -1, :d].reshape(batch, heads, dh)
    keys = qkv[..., d : 2 * d].reshape(batch, t, heads, dh)
    values = qkv[..., 2 * d :].reshape(batch, t, heads, dh)
    scores = np.einsum("bhd,bthd->bht", query, keys) / root + p["block.position_bias"]
    weights = softmax(scores)
    attended = np.einsum("bht,bthd->bhd", weights, values).reshape(batch, d)
    x1 = embedded[:, -1] + attended @ p["block.proj.weight"].T + p["block.proj.bias"]
    h2, ln2 = _layer_norm(x1, p["block.ln2.weight"], p["block.ln2.bias"])
    z = h2 @ p["block.fc1.weight"].T + p["block.fc1.bias"]
    r = np.maximum(z, 0.0)
    x2 = x1 + r @ p["block.fc2.weight"].T + p["block.fc2.bias"]
    final, lnf = _layer_norm(x2, p["ln_final.weight"], p["ln_final.bias"])
    probabilities = softmax(final @ p["head.weight"].T + p["head.bias"])
    loss = float(-np.log(probabilities[np.arange(batch), labels] + 1e-12).mean())

    # Backward.
    g: Params = {}
    dlogits = probabilities.copy()
    dlogits[np.arange(batch), labels] -= 1.0
    dlogits /= batch
    dfinal, g["head.weight"], g["head.bias"] = _linear_back(dlogits, final, p["head.weight"])
    dx2, g["ln_final.weight"], g["ln_final.bias"] = _layer_norm_back(
        dfinal, p["ln_final.weight"], lnf
    )
    dr, g["block.fc2.weight"], g["block.fc2.bias"] = _linear_back(dx2, r, p["block.fc2.weight"])
    dh2, g["block.fc1.weight"], g["block.fc1.bias"] = _linear_back(
        dr * (z > 0), h2, p["block.fc1.weight"]
    )
    dln2, g["block.ln2.weight"], g["block.ln2.bias"] = _layer_norm_back(
        dh2, p["block.ln2.weight"], ln2
    )
    dx1 = dx2 + dln2
    dattended, g["block.proj.weight"], g["block.proj.bias"] = _linear_back(
        dx1, attended, p["block.proj.weight"]
    )
    dattended = dattended.reshape(batch, heads, dh)
    dweights = np.einsum("bhd,bthd->bht", dattended, values)
    dvalues = np.einsum("bht,bhd->bthd", weights, dattended)
    dscores = weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))
    g["block.position_bias"] = dscores.sum(axis=0)
    dquery = np.einsum("bht,bthd->bhd", dscores, keys) / root
    dkeys = np.einsum("bht,bhd->bthd", dscores, query) / root
    dqkv = np.zeros_like(qkv)
    dqkv[:, -1, :d] = dquery.reshape(batch, d)
    dqkv[..., d : 2 * d] = dkeys.reshape(batch, t, d)
    dqkv[..., 2 * d :] = dvalues.reshape(batch, t, d)
    dh1, g["block.qkv.weight"], g["block.qkv.bias"] = _linear_back(dqkv, h1, p["block.qkv.weight"])
    dembedded, g["block.ln1.weight"], g["block.ln1.bias"] = _layer_norm_back(
        dh1, p["block.ln1.weight"], ln1
    )
    dembedded[:, -1] += dx1
    _, g["embed.weight"], g["embed.bias"] = _linear_back(dembedded, xn, p["embed.weight"])
    return loss, g, probabilities
