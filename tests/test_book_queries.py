"""Queries on both sides of a book, and the store routing updates by (venue, symbol)."""

from __future__ import annotations

import pytest

from arbiter.books import BookStore, OrderBook


@pytest.fixture
def book() -> OrderBook:
    book = OrderBook(price_decimals=2)
    book.apply_snapshot(
        1,
        [["100.00", "1"], ["99.50", "2"], ["99.00", "4"]],
        [["100.50", "3"], ["101.00", "4"], ["103.00", "10"]],
    )
    return book


def test_top_of_book(book: OrderBook) -> None:
    assert book.best_bid() == (100.0, 1.0)
    assert book.best_ask() == (100.5, 3.0)
    assert book.mid() == 100.25
    assert book.spread_bps() == pytest.approx(0.5 / 100.25 * 1e4)
    assert book.microprice() == pytest.approx((100.0 * 3 + 100.5 * 1) / 4)
    assert book.levels("bid", 2) == [[100.0, 1.0], [99.5, 2.0]]
    assert book.levels("ask", 10) == [[100.5, 3.0], [101.0, 4.0], [103.0, 10.0]]
    assert book.level_count("ask") == 3


def test_imbalance_and_depth(book: OrderBook) -> None:
    assert book.imbalance(1) == pytest.approx((1 - 3) / 4)
    assert book.imbalance(3) == pytest.approx((7 - 17) / 24)
    assert book.depth_within_bps("bid", 80) == 3.0  # 100.25 * 0.8 % = 0.802: 100 and 99.5
    assert book.depth_within_bps("ask", 80) == 7.0


def test_fills_walk_the_book(book: OrderBook) -> None:
    fill = book.fill("buy", 5)
    assert fill is not None
    assert (fill.filled, fill.worst_price) == (5.0, 101.0)
    assert fill.vwap == pytest.approx((3 * 100.5 + 2 * 101) / 5)
    partial = book.fill("sell", 100)
    assert partial is not None
    assert (partial.filled, partial.worst_price) == (7.0, 99.0)
    assert book.fill("sell", 0) is None
    assert book.max_fill_size("buy", 101.0) == 7.0
    assert book.max_fill_size("sell", 99.5) == 3.0
    with pytest.raises(ValueError, match="'buy' or 'sell'"):
        book.fill("bid", 1)  # type: ignore[arg-type]


def test_empty_book_answers_none() -> None:
    book = OrderBook()
    assert book.best_bid() is None
    assert book.mid() is None
    assert book.imbalance() is None
    assert book.fill("buy", 1) is None


def test_string_and_float_prices_key_the_same_level() -> None:
    book = OrderBook()
    book.apply_snapshot(1, [["61837.64000000", "1"]], [["61900", "1"]])
    book.apply_delta(2, 2, [[61837.64, 2.5]], [])
    assert book.levels("bid", 5) == [[61837.64, 2.5]]
    book.apply_delta(3, 3, [["61837.64", "0"]], [])
    assert book.levels("bid", 5) == []


def test_store_routes_by_venue_and_symbol() -> None:
    store = BookStore()
    store.apply_snapshot("binance", "BTC/USDT", 10, [["100", "1"]], [["101", "1"]])
    store.apply_snapshot("kraken", "BTC/USDT", 5, [["200", "1"]], [["201", "1"]], price_decimals=1)
    store.apply_delta("binance", "BTC/USDT", 11, 11, [["100.5", "2"]], [])
    assert store.top_of_book("binance", "BTC/USDT") == ((100.5, 2.0), (101.0, 1.0))
    assert store.top_of_book("binance", "ETH/USDT") == (None, None)
    assert len(store) == 2
    assert ("kraken", "BTC/USDT") in store
    assert store.keys() == [("binance", "BTC/USDT"), ("kraken", "BTC/USDT")]
    copy = store.copy_book("binance", "BTC/USDT")
    assert copy is not None
    assert copy.best_bid() == (100.5, 2.0)
    kraken = store.copy_book("kraken", "BTC/USDT")
    assert kraken is not None
    assert kraken.price_decimals == 1
    store.apply_delta("binance", "BTC/USDT", 12, 12, [["100.5", "0"]], [])
    assert copy.best_bid() == (100.5, 2.0), "a copy does not follow the store"
    assert store.clear_book("binance", "BTC/USDT")
    cleared = store.copy_book("binance", "BTC/USDT")
    assert cleared is not None
    assert not cleared.synced
    assert store.remove("kraken", "BTC/USDT")
    assert store.copy_book("kraken", "BTC/USDT") is None
    assert not store.clear_book("nowhere", "X")
