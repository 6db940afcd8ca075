"""The Rust book, fed a real recording by Binance's rules, equals an independent rebuild in
plain Python (Decimal keys) after every 100th update."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arbiter.books import BookStore
from arbiter.sim.recording import DepthDiff, Snapshot, read_recording
from tests.conftest import RECORDINGS

TOP = 50


class ReferenceBook:
    """Binance's documented procedure, written out plainly."""

    def __init__(self, snapshot: Snapshot, futures: bool) -> None:
        self.bids = {Decimal(p): Decimal(s) for p, s in snapshot.bids}
        self.asks = {Decimal(p): Decimal(s) for p, s in snapshot.asks}
        self.last_id = snapshot.last_update_id
        self.futures = futures
        self.bridged = False

    def apply(self, diff: DepthDiff) -> bool:
        """Applies a diff; False when Binance's rules say to drop it (older than the book)."""
        if diff.last_id <= self.last_id:
            return False
        if not self.bridged:
            assert diff.first_id <= self.last_id + 1 <= diff.last_id or (
                self.futures and diff.first_id <= self.last_id <= diff.last_id
            )
        elif self.futures:
            assert diff.prev_last_id == self.last_id
        else:
            assert diff.first_id == self.last_id + 1
        for side, levels in ((self.bids, diff.bids), (self.asks, diff.asks)):
            for price, size in levels:
                if Decimal(size) == 0:
                    side.pop(Decimal(price), None)
                else:
                    side[Decimal(price)] = Decimal(size)
        self.last_id, self.bridged = diff.last_id, True
        return True

    def top(self, side: str) -> list[list[float]]:
        book = self.bids if side == "bid" else self.asks
        prices = sorted(book, reverse=side == "bid")[:TOP]
        return [[float(price), float(book[price])] for price in prices]


@pytest.mark.parametrize(
    ("file", "futures"),
    [
        ("spot_btcusdt_20240808.gz", False),
        ("usdm_btcusdt_20240808.gz", True),
        ("coinm_btcusd_perp_20240808.gz", True),
    ],
)
def test_rebuild_matches_reference(file: str, futures: bool) -> None:
    path: Path = RECORDINGS / file
    events = list(read_recording(path))
    snapshot = next(e for e in events if isinstance(e, Snapshot))
    diffs = [e for e in events if isinstance(e, DepthDiff)]

    store = BookStore()
    store.apply_snapshot("binance", "BTC", snapshot.last_update_id, snapshot.bids, snapshot.asks)
    reference = ReferenceBook(snapshot, futures)
    applied = 0
    for diff in diffs:
        if not reference.apply(diff):
            continue
        store.apply_delta(
            "binance",
            "BTC",
            diff.first_id,
            diff.last_id,
            diff.bids,
            diff.asks,
            diff.prev_last_id,
        )
        applied += 1
        if applied % 100 == 0 or diff is diffs[-1]:
            book = store.copy_book("binance", "BTC")
            assert book is not None
            assert book.update_id == reference.last_id
            for side in ("bid", "ask"):
                assert book.levels(side, TOP) == reference.top(side), (applied, side)
    assert applied > 0.9 * len(diffs)
