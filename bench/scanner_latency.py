"""Scanner latency per book update at 10 venues x 50 symbols of synthetic books, against the
plain-Python oracle on the same updates, and the process's memory at that size.

    .venv/bin/python bench/scanner_latency.py [--updates N]

Every venue quotes every symbol (C00/USDT .. C49/USDT), so each symbol is a cross-venue group
of 10 books and 90 ordered buy/sell scans (4,500 in all); an update to one book re-evaluates
the 18 scans that read it. Books are 50 levels a side and move one level per update.
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import sys
import time
from pathlib import Path
from statistics import quantiles

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ccxt.pro
from tests import oracle

from arbiter.books import BookStore, Scanner

VENUES = [f"venue{v}" for v in range(10)]
SYMBOLS = [f"C{s:02d}/USDT" for s in range(50)]
FEE = 0.001


def levels(rng: random.Random, best: float, step: float) -> list[list[float]]:
    return [[round(best + step * i, 2), round(rng.uniform(0.01, 3), 4)] for i in range(50)]


def rss_mb() -> float:
    """Resident set size now (not the peak), from /proc."""
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * resource.getpagesize() / 2**20


def percentile(samples: list[float], q: int) -> float:
    return quantiles(samples, n=100)[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=20_000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    # Venues' mids apart by up to 5 bps (as cross-venue spreads usually are: a few
    # opportunities), then by up to 30 bps (a stress case: several per update).
    for dispersion_bps in (5.0, 30.0):
        measure(args.updates, dispersion_bps)


def measure(count: int, dispersion_bps: float) -> None:
    rng = random.Random(7)
    baseline_rss = rss_mb()
    store, scanner = BookStore(), Scanner(slippage_bps=1.0)
    mids = {s: rng.uniform(10, 1000) for s in SYMBOLS}
    for venue in VENUES:
        scanner.set_fee(venue, FEE)
        scanner.set_inventory(venue, "USDT", 1e6)
        for symbol in SYMBOLS:
            scanner.set_inventory(venue, symbol.split("/")[0], 1e6)
            spread = dispersion_bps / 1e4
            mid = mids[symbol] * (1 + rng.uniform(-spread, spread))
            store.apply_snapshot(
                venue, symbol, 1, levels(rng, mid - 0.01, -0.01), levels(rng, mid + 0.01, 0.01)
            )
    for symbol in SYMBOLS:
        scanner.add_cross_group([(venue, symbol) for venue in VENUES])
    loaded_rss = rss_mb()

    ids = {(v, s): 1 for v in VENUES for s in SYMBOLS}
    rust: list[float] = []
    python: list[float] = []
    found = 0
    for n in range(count):
        venue, symbol = rng.choice(VENUES), rng.choice(SYMBOLS)
        book = store.copy_book(venue, symbol)
        assert book is not None
        side = rng.choice(["bid", "ask"])
        price, _ = rng.choice(book.levels(side, 50))
        ids[(venue, symbol)] += 1
        change = [[price, round(rng.uniform(0.01, 3), 4)]]
        bids, asks = (change, []) if side == "bid" else ([], change)
        uid = ids[(venue, symbol)]
        store.apply_delta(venue, symbol, uid, uid, bids, asks)

        start = time.perf_counter_ns()
        opportunities = scanner.on_update(store, venue, symbol, n)
        rust.append((time.perf_counter_ns() - start) / 1000)
        found += len(opportunities)

        if n % 10 == 0:  # the oracle is slow; sample it
            books = {v: store.copy_book(v, symbol) for v in VENUES}
            start = time.perf_counter_ns()
            for other in VENUES:
                if other == venue:
                    continue
                for buy, sell in ((venue, other), (other, venue)):
                    asks = [tuple(level) for level in books[buy].levels("ask", 50)]
                    bids = [tuple(level) for level in books[sell].levels("bid", 50)]
                    oracle.cross(asks, bids, FEE, FEE, 1.0, 1e6, 1e6)
            python.append((time.perf_counter_ns() - start) / 1000)

    # One ccxt.pro client, as the daemon builds one per (venue, symbol) feed today.
    before_ccxt = rss_mb()
    clients = [ccxt.pro.binance() for _ in range(20)]
    per_client = (rss_mb() - before_ccxt) / len(clients)
    del clients

    print(
        f"mids up to {dispersion_bps:.0f} bps apart: "
        f"{len(VENUES)} venues x {len(SYMBOLS)} symbols, {scanner.scan_count} cross scans, "
        f"{count} updates, {found} opportunities reported"
    )
    r50, r99 = percentile(rust, 50), percentile(rust, 99)
    p50, p99 = percentile(python, 50), percentile(python, 99)
    print(f"  Rust scanner per update: p50 {r50:.1f} µs, p99 {r99:.1f} µs (target p99 <= 20 µs)")
    print(f"  Python oracle per update: p50 {p50:.0f} µs, p99 {p99:.0f} µs")
    print(f"  ratio: {p50 / r50:.0f}x at p50, {p99 / r99:.0f}x at p99 (target >= 100x)")
    print(
        f"  RSS: {baseline_rss:.0f} MB at start, {loaded_rss:.0f} MB with 500 books and "
        f"4,500 scans (target <= 300 MB)"
    )
    print(f"  one ccxt.pro binance client adds about {per_client:.1f} MB")


if __name__ == "__main__":
    main()
