"""The Rust book, fed a real recording by Binance's rules, equals an independent rebuild in
plain Python (Decimal keys) after every 100th update."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbiter.books import BookStore
from arbiter.sim.recording import DepthDiff, Snapshot, read_recording
from tests.conftest import RECORDINGS
from tests.reference import ReferenceBook

TOP = 50


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
                assert book.levels(side, TOP) == reference.top(side, TOP), (applied, side)
    assert applied > 0.9 * len(diffs)
