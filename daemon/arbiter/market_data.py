"""The books the daemon keeps and how healthy each one is.

Feeds write here; everything downstream reads here, and only ever gets a book that is synced and
younger than its venue's maximum age. A book that is stale or invalid is emptied in the store,
so even a direct read finds nothing to trade on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from arbiter.books import BookStore, OrderBook
from arbiter.logging import get_logger

log = get_logger("arbiter.market_data")


class BookState(StrEnum):
    CONNECTING = "connecting"
    SYNCED = "synced"
    STALE = "stale"
    INVALID = "invalid"


@dataclass
class BookHealth:
    venue: str
    symbol: str
    market_type: str
    max_age: float
    state: BookState = BookState.CONNECTING
    updated_at: float | None = None  # monotonic
    exchange_ms: int | None = None
    updates: int = 0
    updates_per_s: float = 0.0
    resyncs: int = 0
    invalid: int = 0
    malformed: int = 0
    _counted_updates: int = 0
    _counted_at: float = field(default_factory=time.monotonic)

    def age(self, now: float) -> float | None:
        return None if self.updated_at is None else now - self.updated_at

    def measure_rate(self, now: float) -> None:
        elapsed = now - self._counted_at
        if elapsed > 0:
            self.updates_per_s = (self.updates - self._counted_updates) / elapsed
        self._counted_updates, self._counted_at = self.updates, now


Key = tuple[str, str]


class MarketData:
    """Every configured book, its state, and the Rust store holding its levels."""

    def __init__(self) -> None:
        self.store = BookStore()
        self.health: dict[Key, BookHealth] = {}
        #: Called with (venue, symbol) after every accepted update (the trading loop).
        self.listeners: list[Callable[[str, str], None]] = []
        #: Set once every configured book has synced at least once.
        self.first_synced = asyncio.Event()

    def add(self, venue: str, symbol: str, market_type: str, max_age: float) -> None:
        self.health[(venue, symbol)] = BookHealth(venue, symbol, market_type, max_age)

    def update(
        self,
        venue: str,
        symbol: str,
        update_id: int,
        bids: list[list[float]],
        asks: list[list[float]],
        *,
        exchange_ms: int | None,
    ) -> None:
        """Mirrors the venue's book after an update (one call into the store). Raises
        `BookError` when the book is refused; the caller resyncs."""
        health = self.health[(venue, symbol)]
        self.store.apply_snapshot(venue, symbol, update_id, bids, asks)
        health.updates += 1
        health.updated_at = time.monotonic()
        health.exchange_ms = exchange_ms
        if health.state is not BookState.SYNCED:
            health.state = BookState.SYNCED
            log.info("book_synced", venue=venue, symbol=symbol, update_id=update_id)
            if self.all_synced:
                self.first_synced.set()
        for listener in self.listeners:
            listener(venue, symbol)

    def mark(self, venue: str, symbol: str, state: BookState, reason: str) -> None:
        """Takes a book out of use (stale, invalid or reconnecting) until it syncs again."""
        health = self.health[(venue, symbol)]
        self.store.clear_book(venue, symbol)
        if state is BookState.INVALID:
            health.invalid += 1
        if health.state is state:
            return
        was_synced = health.state is BookState.SYNCED
        health.state = state
        if was_synced:
            health.resyncs += 1
        event = {BookState.STALE: "book_stale", BookState.INVALID: "book_invalid"}.get(
            state, "book_resyncing"
        )
        log.warning(event, venue=venue, symbol=symbol, reason=reason)

    def count_malformed(self, venue: str, symbol: str, sample: str) -> None:
        health = self.health[(venue, symbol)]
        health.malformed += 1
        log.warning(
            "malformed_message", venue=venue, symbol=symbol, sample=sample, total=health.malformed
        )

    def usable(self, venue: str, symbol: str) -> OrderBook | None:
        """A copy of the book if it may be traded on: synced and not older than its max age."""
        health = self.health.get((venue, symbol))
        if health is None or health.state is not BookState.SYNCED:
            return None
        age = health.age(time.monotonic())
        if age is None or age > health.max_age:
            return None
        return self.store.copy_book(venue, symbol)

    def check_staleness(self) -> None:
        """The watchdog: a synced book with no update for longer than its max age is stale."""
        now = time.monotonic()
        for health in self.health.values():
            age = health.age(now)
            if health.state is BookState.SYNCED and age is not None and age > health.max_age:
                self.mark(health.venue, health.symbol, BookState.STALE, f"no update for {age:.1f}s")
            health.measure_rate(now)

    def mid_price(self, asset: str, report_asset: str) -> float | None:
        """Mid price of `asset` in `report_asset` from a usable book, spot preferred."""
        candidates = sorted(
            (health.market_type != "spot", venue, symbol)
            for (venue, symbol), health in self.health.items()
            if symbol.split(":")[0] == f"{asset}/{report_asset}"
        )
        for _, venue, symbol in candidates:
            book = self.usable(venue, symbol)
            if book is not None and (mid := book.mid()) is not None:
                return mid
        return None

    @property
    def all_synced(self) -> bool:
        return all(h.state is BookState.SYNCED for h in self.health.values())

    def status(self, depth: int) -> list[dict[str, Any]]:
        """Per book: state, age, rates, counters, top of book and `depth` levels."""
        now = time.monotonic()
        books = []
        for (venue, symbol), health in sorted(self.health.items()):
            book = self.store.copy_book(venue, symbol)
            bid, ask = self.store.top_of_book(venue, symbol)
            age = health.age(now)
            books.append(
                {
                    "venue": venue,
                    "symbol": symbol,
                    "market_type": health.market_type,
                    "state": health.state.value,
                    "age_ms": None if age is None else round(age * 1000, 1),
                    "updates": health.updates,
                    "updates_per_s": round(health.updates_per_s, 2),
                    "resyncs": health.resyncs,
                    "invalid": health.invalid,
                    "malformed": health.malformed,
                    "update_id": book.update_id if book is not None and book.synced else None,
                    "best_bid": bid,
                    "best_ask": ask,
                    "spread_bps": book.spread_bps() if book is not None else None,
                    "bids": book.levels("bid", depth) if book is not None else [],
                    "asks": book.levels("ask", depth) if book is not None else [],
                }
            )
        return books


__all__ = ["BookHealth", "BookState", "MarketData"]
