"""Replays the USDⓈ-M recording's depth diffs through `arbiter._core` and, in the same run,
through ccxt's own pure-Python order book (as ccxt.pro's binance handler feeds it), reading the
best bid and ask after every update in both. Prints updates/s for each and the ratio.

    .venv/bin/python bench/book_replay.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro

from arbiter.books import BookStore
from arbiter.sim.recording import DepthDiff, Snapshot, read_recording

RECORDING = (
    Path(__file__).resolve().parent.parent / "data/binance/recordings/usdm_btcusdt_20240808.gz"
)


def load() -> tuple[Snapshot, list[DepthDiff]]:
    events = list(read_recording(RECORDING))
    snapshot = next(e for e in events if isinstance(e, Snapshot))
    diffs = [e for e in events if isinstance(e, DepthDiff) and e.last_id > snapshot.last_update_id]
    return snapshot, diffs


def run_core(snapshot: Snapshot, diffs: list[DepthDiff]) -> float:
    store = BookStore()
    store.apply_snapshot(
        "binance", "BTC/USDT:USDT", snapshot.last_update_id, snapshot.bids, snapshot.asks
    )
    apply, top = store.apply_delta, store.top_of_book
    start = time.perf_counter()
    for d in diffs:
        apply("binance", "BTC/USDT:USDT", d.first_id, d.last_id, d.bids, d.asks, d.prev_last_id)
        bid, ask = top("binance", "BTC/USDT:USDT")
        assert bid is not None
        assert ask is not None
        assert bid[0] < ask[0]
    return time.perf_counter() - start


def run_ccxt(exchange: Any, snapshot: Snapshot, diffs: list[DepthDiff]) -> float:
    book = exchange.order_book()
    raw = {"bids": snapshot.bids, "asks": snapshot.asks}
    parsed = exchange.parse_order_book(raw, "BTC/USDT:USDT")
    parsed["nonce"] = snapshot.last_update_id
    book.reset(parsed)
    messages = [d.raw["data"] for d in diffs]
    handle = exchange.handle_order_book_message
    start = time.perf_counter()
    for message in messages:
        handle(None, message, book)
        bid, ask = book["bids"][0], book["asks"][0]
        assert bid[0] < ask[0]
    return time.perf_counter() - start


def best_of(rounds: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(rounds))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    snapshot, diffs = load()
    # The recording's ~100k parsed messages would otherwise make every GC pass of either
    # contender walk them; the daemon holds no such heap.
    gc.collect()
    gc.freeze()
    levels = sum(len(d.bids) + len(d.asks) for d in diffs)
    exchange = ccxt.pro.binance()
    try:
        core = best_of(rounds, lambda: run_core(snapshot, diffs))
        reference = best_of(rounds, lambda: run_ccxt(exchange, snapshot, diffs))
    finally:
        await exchange.close()
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, Python {platform.python_version()}, ccxt {ccxt.__version__}")
    per_diff = levels / len(diffs)
    print(f"USDⓈ-M replay: {len(diffs)} diffs, {per_diff:.1f} levels each, best of {rounds}")
    for name, seconds in (("arbiter._core", core), ("ccxt OrderBook", reference)):
        rate, level_rate = len(diffs) / seconds, levels / seconds
        print(f"  {name:<15} {rate:>12,.0f} updates/s  {level_rate:>14,.0f} levels/s")
    print(f"  ratio: {reference / core:.1f}x ccxt (target >= 10x)")


if __name__ == "__main__":
    asyncio.run(main())
