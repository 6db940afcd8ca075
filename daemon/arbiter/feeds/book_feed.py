"""One order-book stream: a ccxt.pro `watch_order_book` loop for one (venue, symbol) that keeps
the book in the store, resyncs on sequence errors, backs off on network and rate-limit errors,
and reconnects when the stream goes quiet for longer than the book's max age."""

from __future__ import annotations

import asyncio
from typing import Any

from arbiter.books import BookError
from arbiter.config import VenueSettings
from arbiter.feeds.backoff import Backoff
from arbiter.feeds.venue import (
    RATE_LIMIT_ERRORS,
    RESYNC_ERRORS,
    TEMPORARY_ERRORS,
    make_exchange,
    retry_after,
)
from arbiter.logging import get_logger
from arbiter.market_data import BookState, MarketData

log = get_logger("arbiter.feeds")


class BookFeed:
    def __init__(self, name: str, venue: VenueSettings, symbol: str, market: MarketData) -> None:
        self.name = name
        self.venue = venue
        self.symbol = symbol
        self.market = market
        self.backoff = Backoff()
        self._markets: Any = None  # ccxt markets, loaded once and reused on reconnects
        market.add(name, symbol, venue.market_type, venue.max_book_age)

    async def run(self) -> None:
        """Streams until cancelled; every failure ends in a fresh connection and snapshot."""
        while True:
            exchange = make_exchange(self.venue, self._on_malformed)
            delay = 0.0
            try:
                await self._stream(exchange)
            except RESYNC_ERRORS as error:
                self._take_out_of_use(BookState.INVALID, f"sequence: {error}")
            except BookError as error:
                self._take_out_of_use(BookState.INVALID, f"integrity: {error}")
            except RATE_LIMIT_ERRORS as error:
                delay = self.backoff.next_delay(retry_after(exchange))
                self._take_out_of_use(BookState.CONNECTING, f"rate limited: {error}", delay)
            except TEMPORARY_ERRORS as error:
                delay = self.backoff.next_delay(retry_after(exchange))
                self._take_out_of_use(BookState.CONNECTING, f"network: {error}", delay)
            finally:
                await exchange.close()
            await asyncio.sleep(delay)

    async def _stream(self, exchange: Any) -> None:
        if self._markets is None:
            self._markets = await exchange.load_markets()
        else:
            exchange.set_markets(self._markets)
        depth, max_age = self.venue.book_depth, self.venue.max_book_age
        while True:
            try:
                async with asyncio.timeout(max_age):
                    book = await exchange.watch_order_book(self.symbol)
            except TimeoutError:
                # A connection can stay up while one stream stops; resubscribe from scratch.
                self._take_out_of_use(BookState.STALE, f"no update for {max_age}s")
                return
            self.market.update(
                self.name,
                self.symbol,
                book["nonce"],
                book["bids"][:depth],
                book["asks"][:depth],
                exchange_ms=book.get("timestamp"),
            )
            self.backoff.reset()

    def _take_out_of_use(self, state: BookState, reason: str, retry_in: float = 0.0) -> None:
        self.market.mark(self.name, self.symbol, state, reason)
        if retry_in:
            log.warning(
                "feed_backoff",
                venue=self.name,
                symbol=self.symbol,
                reason=reason,
                retry_in=round(retry_in, 2),
            )

    def _on_malformed(self, sample: str) -> None:
        self.market.count_malformed(self.name, self.symbol, sample)
