"""`arbiter train`: recordings → feature windows (the Rust feature code) → the attention model
trained on CPU with numpy (Adam, early stopping on a validation part carved from the training
time) → evaluated once on a later, held-out part against two baselines → weights and a report.

Nothing is tuned on the held-out part: the epoch is chosen on validation, the sizes and the label
threshold are fixed before training."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arbiter.attention.dataset import Samples, replay, samples, split_in_time
from arbiter.attention.gradients import FROZEN, Labels, loss_and_gradients
from arbiter.attention.reference import CLASSES, Array, Params, Sizes, forward, initial_params, save
from arbiter.books import FEATURES
from arbiter.logging import get_logger

log = get_logger("arbiter.train")


@dataclass(frozen=True)
class TrainSettings:
    window: int = 16
    d_model: int = 16
    heads: int = 2
    hidden: int = 32
    horizon: int = 50
    threshold_bps: float = 0.5
    epochs: int = 12
    batch: int = 128
    learning_rate: float = 3e-3
    test_share: float = 0.3
    validation_share: float = 0.15
    seed: int = 0

    def sizes(self) -> Sizes:
        return Sizes(
            window=self.window,
            d_model=self.d_model,
            heads=self.heads,
            hidden=self.hidden,
            horizon=self.horizon,
        )


def log_loss(probabilities: Array, labels: Labels) -> float:
    return float(-np.log(probabilities[np.arange(len(labels)), labels] + 1e-12).mean())


def evaluate(probabilities: Array, data: Samples) -> dict[str, float]:
    """Accuracy, log-loss, and a trading metric: hold the predicted direction over the horizon
    when up or down is the most likely class; the mid's move in bps, gross of fees and spread."""
    predicted = probabilities.argmax(axis=1)
    position = np.where(predicted == 2, 1.0, np.where(predicted == 0, -1.0, 0.0))
    trades = int((position != 0).sum())
    pnl = position * data.moves_bps
    return {
        "accuracy": float((predicted == data.labels).mean()),
        "log_loss": log_loss(probabilities, data.labels),
        "trades": trades,
        "mean_move_per_trade_bps": float(pnl.sum() / trades) if trades else 0.0,
        "total_move_bps": float(pnl.sum()),
    }


def logistic_on_imbalance(train: Samples, test: Samples, steps: int = 500) -> Array:
    """Baseline: multinomial logistic regression on the order-book imbalance at 1, 5 and 10
    levels of each window's last update, fitted by gradient descent."""
    columns = [FEATURES.index(f"imbalance_{n}") for n in (1, 5, 10)]

    def design(data: Samples) -> Array:
        x = data.windows[:, -1, columns]
        return np.hstack([x, np.ones((len(x), 1))])

    x, onehot = design(train), np.eye(len(CLASSES))[train.labels]
    weights = np.zeros((x.shape[1], len(CLASSES)))
    for _ in range(steps):
        logits = x @ weights
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        weights -= 0.5 * x.T @ (p - onehot) / len(x)
    logits = design(test) @ weights
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: Array = p / p.sum(axis=1, keepdims=True)
    return result


def _adam(params: Params, settings: TrainSettings) -> Callable[[Params], None]:
    """Adam over `params`, updated in place."""
    moments = {name: (np.zeros_like(v), np.zeros_like(v)) for name, v in params.items()}
    step = [0]

    def update(gradients: Params) -> None:
        step[0] += 1
        b1, b2, lr = 0.9, 0.999, settings.learning_rate
        for name, gradient in gradients.items():
            m, v = moments[name]
            m[...] = b1 * m + (1 - b1) * gradient
            v[...] = b2 * v + (1 - b2) * gradient**2
            m_hat, v_hat = m / (1 - b1 ** step[0]), v / (1 - b2 ** step[0])
            params[name] -= lr * m_hat / (np.sqrt(v_hat) + 1e-8)

    return update


def fit(train: Samples, validation: Samples, settings: TrainSettings) -> tuple[Params, list[float]]:
    rng = np.random.default_rng(settings.seed)
    sizes = settings.sizes()
    params = initial_params(sizes, rng)
    flat = train.windows.reshape(-1, len(FEATURES))
    params["norm.mean"] = flat.mean(axis=0)
    params["norm.std"] = flat.std(axis=0) + 1e-6
    trained = {k: v for k, v in params.items() if k not in FROZEN}
    update = _adam(trained, settings)
    best, best_loss, history = dict(params), np.inf, []
    for epoch in range(settings.epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(order), settings.batch):
            batch = order[start : start + settings.batch]
            _, gradients, _ = loss_and_gradients(
                params, sizes, train.windows[batch], train.labels[batch]
            )
            update(gradients)
        loss = log_loss(forward(params, sizes, validation.windows), validation.labels)
        history.append(loss)
        log.info("train_epoch", epoch=epoch + 1, validation_log_loss=round(loss, 5))
        if loss < best_loss:
            best, best_loss = {k: v.copy() for k, v in params.items()}, loss
    return best, history


def train(files: list[Path], out: Path, settings: TrainSettings) -> dict[str, Any]:
    started = time.monotonic()
    data = samples(replay(files), settings.window, settings.horizon, settings.threshold_bps)
    learn, test = split_in_time(data, 1 - settings.test_share)
    fit_part, validation = split_in_time(
        learn, 1 - settings.validation_share / (1 - settings.test_share)
    )
    params, history = fit(fit_part, validation, settings)
    frequencies = np.bincount(fit_part.labels, minlength=len(CLASSES)) / len(fit_part)
    results = {
        "attention": evaluate(forward(params, settings.sizes(), test.windows), test),
        "majority": evaluate(np.tile(frequencies, (len(test), 1)), test),
        "logistic_imbalance": evaluate(logistic_on_imbalance(fit_part, test), test),
    }
    report: dict[str, Any] = {
        "data": [path.name for path in files],
        "samples": {"train": len(fit_part), "validation": len(validation), "test": len(test)},
        "test_labels": dict(
            zip(CLASSES, np.bincount(test.labels, minlength=3).tolist(), strict=True)
        ),
        "time_range_ns": {
            "train": [int(fit_part.starts_ns.min()), int(fit_part.ends_ns.max())],
            "test": [int(test.starts_ns.min()), int(test.ends_ns.max())],
        },
        "settings": asdict(settings),
        "validation_log_loss_by_epoch": [round(v, 5) for v in history],
        "results": results,
        "beats_baselines": {
            name: results["attention"]["log_loss"] < results[name]["log_loss"]
            for name in ("majority", "logistic_imbalance")
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    facts = {
        "trained_on": json.dumps(report["data"]),
        "time_range_ns": json.dumps(report["time_range_ns"]),
        "threshold_bps": str(settings.threshold_bps),
        "test_metrics": json.dumps(results["attention"]),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    save(out, params, settings.sizes(), facts)
    out.with_suffix(".report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
