"""Book health: only synced, fresh books are offered downstream; anything else is emptied."""

from __future__ import annotations

import time

from arbiter.market_data import BookState, MarketData

BIDS = [[100.0, 1.0], [99.0, 2.0]]
ASKS = [[101.0, 1.0], [102.0, 2.0]]


def market(max_age: float = 5.0) -> MarketData:
    data = MarketData()
    data.add("binance", "BTC/USDT", "spot", max_age)
    return data


def test_only_synced_books_are_usable() -> None:
    data = market()
    assert data.usable("binance", "BTC/USDT") is None  # still connecting
    data.update("binance", "BTC/USDT", 1, BIDS, ASKS, exchange_ms=None)
    book = data.usable("binance", "BTC/USDT")
    assert book is not None
    assert book.best_bid() == (100.0, 1.0)
    assert data.all_synced
    for state in (BookState.STALE, BookState.INVALID, BookState.CONNECTING):
        data.mark("binance", "BTC/USDT", state, "test")
        assert data.usable("binance", "BTC/USDT") is None
        assert data.store.top_of_book("binance", "BTC/USDT") == (None, None)
        data.update("binance", "BTC/USDT", 2, BIDS, ASKS, exchange_ms=None)
    health = data.health[("binance", "BTC/USDT")]
    assert (health.resyncs, health.invalid) == (3, 1)


def test_an_old_book_is_not_usable_even_before_the_watchdog_runs() -> None:
    data = market(max_age=0.05)
    data.update("binance", "BTC/USDT", 1, BIDS, ASKS, exchange_ms=None)
    time.sleep(0.1)
    assert data.usable("binance", "BTC/USDT") is None
    data.check_staleness()
    assert data.health[("binance", "BTC/USDT")].state is BookState.STALE
    assert data.status(depth=5)[0]["bids"] == []


def test_status_reports_levels_and_counters() -> None:
    data = market()
    data.update("binance", "BTC/USDT", 7, BIDS, ASKS, exchange_ms=123)
    data.count_malformed("binance", "BTC/USDT", "{broken")
    (book,) = data.status(depth=1)
    assert book["state"] == "synced"
    assert book["update_id"] == 7
    assert book["bids"] == [[100.0, 1.0]]
    assert book["asks"] == [[101.0, 1.0]]
    assert book["malformed"] == 1
