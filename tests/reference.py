"""Independent rebuilds of recorded books, in plain Python with Decimal keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from arbiter.sim.recording import DepthDiff, Snapshot, read_recording


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

    def top(self, side: str, depth: int) -> list[list[float]]:
        book = self.bids if side == "bid" else self.asks
        prices = sorted(book, reverse=side == "bid")[:depth]
        return [[float(price), float(book[price])] for price in prices]


def rebuild(path: Path) -> ReferenceBook:
    """The book at the end of a recording, by Binance's rules."""
    events = list(read_recording(path))
    snapshot = next(e for e in events if isinstance(e, Snapshot))
    diffs = [e for e in events if isinstance(e, DepthDiff)]
    book = ReferenceBook(snapshot, futures=diffs[0].prev_last_id is not None)
    for diff in diffs:
        book.apply(diff)
    return book
