"""The attention signal per book update, in the daemon's path (SignalBoard.update: the Rust
features and, once the window is full, the Rust forward pass), against the numpy reference
forward pass on the same windows, per call.

    .venv/bin/python bench/signal_latency.py [--updates N]

Replays the bundled spot and USDⓈ-M recordings (twins for the basis feature) with the bundled
weights.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from statistics import quantiles

import numpy as np

from arbiter.attention.dataset import SYMBOL, read_diffs, tagged
from arbiter.attention.reference import Sizes, forward, load
from arbiter.books import AttentionModel, BookStore, FeatureTracker
from arbiter.config import Settings, SignalSettings
from arbiter.signals import SignalBoard

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "data" / "binance" / "recordings"
WEIGHTS = ROOT / "data" / "models" / "signal.safetensors"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=10_000)
    args = parser.parse_args()
    names = ["spot_btcusdt_20240808", "usdm_btcusdt_20240808"]
    books = {name: read_diffs(RECORDINGS / f"{name}.gz") for name in names}
    store = BookStore()
    for name, (snapshot, _) in books.items():
        store.apply_snapshot(name, SYMBOL, snapshot.last_update_id, snapshot.bids, snapshot.asks)
    settings = Settings(signal=SignalSettings(weights=WEIGHTS))
    board = SignalBoard(settings, [[(name, SYMBOL) for name in names]])
    trackers = {name: FeatureTracker() for name in names}
    model = AttentionModel.load(str(WEIGHTS))
    meta = model.metadata
    sizes = Sizes(
        **{key: int(meta[key]) for key in ("window", "d_model", "heads", "hidden", "horizon")}
    )
    params = load(WEIGHTS)
    last = {name: snapshot.last_update_id for name, (snapshot, _) in books.items()}
    rust: list[float] = []
    windows: dict[str, list[list[float]]] = {name: [] for name in names}
    full: list[np.ndarray] = []
    events = sorted(
        (event for name, (_, diffs) in books.items() for event in tagged(name, diffs)),
        key=lambda item: (item[0], item[1]),
    )
    for _, name, diff in events:
        if diff.last_id <= last[name]:
            continue
        store.apply_delta(
            name, SYMBOL, diff.first_id, diff.last_id, diff.bids, diff.asks, diff.prev_last_id
        )
        last[name] = diff.last_id
        started = time.perf_counter()
        board.update(store, name, SYMBOL)
        rust.append(time.perf_counter() - started)
        # The same features again, outside the timing, for the numpy reference's windows.
        twin = board.twins[(name, SYMBOL)]
        bid, ask = store.top_of_book(*twin)
        row = trackers[name].update(
            store, name, SYMBOL, None if bid is None or ask is None else (bid[0] + ask[0]) / 2
        )
        if row is not None:
            windows[name] = (windows[name] + [row])[-sizes.window :]
            if len(windows[name]) == sizes.window:
                full.append(np.array([windows[name]], dtype=np.float64))
        if len(rust) >= args.updates:
            break
    reference: list[float] = []
    for window in full[: len(rust)]:
        started = time.perf_counter()
        forward(params, sizes, window)
        reference.append(time.perf_counter() - started)
    r = quantiles(rust, n=100)
    n = quantiles(reference, n=100)
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"signal per book update ({len(rust)} updates, window {sizes.window}, d_model "
        f"{sizes.d_model}, {sizes.heads} heads):"
    )
    rows = [
        ("Rust features + forward", r[49] * 1e6, r[98] * 1e6, "us", "(target p99 <= 50 us)"),
        ("numpy reference forward", n[49] * 1e6, n[98] * 1e6, "us", ""),
        ("ratio", n[49] / r[49], n[98] / r[98], "x", "(target >= 20x)"),
    ]
    for label, p50, p99, unit, target in rows:
        print(f"  {label:<25} p50 {p50:6.1f} {unit:<2} p99 {p99:6.1f} {unit:<2} {target}")


if __name__ == "__main__":
    main()
