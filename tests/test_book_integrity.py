"""Every integrity failure raises its own BookError subclass and leaves the book untouched."""

from __future__ import annotations

import math
import re

import pytest

from arbiter.books import (
    BookError,
    BookStore,
    CrossedBookError,
    InvalidPriceError,
    InvalidSizeError,
    NotSyncedError,
    OrderBook,
    SequenceGapError,
    StaleUpdateError,
)


def synced_book() -> OrderBook:
    book = OrderBook()
    book.apply_snapshot(
        100,
        [["61837.63", "3.5"], ["61837.00", "1"]],
        [["61837.64", "1.2"], ["61838.00", "2"]],
    )
    return book


def state(book: OrderBook) -> tuple[int, list[list[float]], list[list[float]]]:
    return book.update_id, book.levels("bid", 1000), book.levels("ask", 1000)


BAD_LEVELS = [
    pytest.param([["NaN", "1"]], InvalidPriceError, id="nan-price-string"),
    pytest.param([[math.nan, 1.0]], InvalidPriceError, id="nan-price-float"),
    pytest.param([["inf", "1"]], InvalidPriceError, id="infinite-price-string"),
    pytest.param([[math.inf, 1.0]], InvalidPriceError, id="infinite-price-float"),
    pytest.param([["0", "1"]], InvalidPriceError, id="zero-price"),
    pytest.param([[0.0, 1.0]], InvalidPriceError, id="zero-price-float"),
    pytest.param([["-61837.00", "1"]], InvalidPriceError, id="negative-price"),
    pytest.param([["61837.000000001", "1"]], InvalidPriceError, id="price-finer-than-scale"),
    pytest.param([["61837.00", "-1"]], InvalidSizeError, id="negative-size"),
    pytest.param([["61837.00", -0.5]], InvalidSizeError, id="negative-size-float"),
    pytest.param([["61837.00", "NaN"]], InvalidSizeError, id="nan-size"),
    pytest.param([["61837.00", math.inf]], InvalidSizeError, id="infinite-size"),
]


@pytest.mark.parametrize(("bids", "error"), BAD_LEVELS)
def test_bad_level_in_delta_is_refused_and_changes_nothing(
    bids: list[list[object]], error: type[BookError]
) -> None:
    book = synced_book()
    before = state(book)
    # A valid level first: it must not survive the refusal of the update.
    with pytest.raises(error):
        book.apply_delta(101, 101, [["61830.00", "9"], *bids], [["61838.00", "0"]])
    assert state(book) == before
    book.apply_delta(101, 101, [], [])  # and the sequence still accepts the next update


@pytest.mark.parametrize(("bids", "error"), BAD_LEVELS)
def test_bad_level_in_snapshot_is_refused_and_changes_nothing(
    bids: list[list[object]], error: type[BookError]
) -> None:
    book = synced_book()
    before = state(book)
    with pytest.raises(error):
        book.apply_snapshot(200, [["61830.00", "9"], *bids], [["61840.00", "1"]])
    assert state(book) == before


def test_crossing_update_is_refused_and_rolled_back() -> None:
    book = synced_book()
    before = state(book)
    with pytest.raises(CrossedBookError, match=re.escape("best bid 61837.64 >= best ask 61837.64")):
        book.apply_delta(101, 101, [["61837.00", "0"], ["61837.64", "1"]], [])
    assert state(book) == before


def test_crossed_snapshot_is_refused() -> None:
    book = synced_book()
    before = state(book)
    with pytest.raises(CrossedBookError):
        book.apply_snapshot(200, [["62000", "1"]], [["61000", "1"]])
    assert state(book) == before


@pytest.mark.parametrize(
    ("first", "last", "prev", "error"),
    [
        pytest.param(90, 99, None, StaleUpdateError, id="id-going-backwards"),
        pytest.param(95, 100, None, StaleUpdateError, id="already-applied"),
        pytest.param(103, 105, None, SequenceGapError, id="gap"),
    ],
)
def test_out_of_sequence_delta_is_refused(
    first: int, last: int, prev: int | None, error: type[BookError]
) -> None:
    book = synced_book()
    before = state(book)
    with pytest.raises(error):
        book.apply_delta(first, last, [["61830.00", "9"]], [], prev)
    assert state(book) == before


def test_futures_sequence_follows_previous_id() -> None:
    book = synced_book()
    book.apply_delta(95, 110, [["61830.00", "9"]], [], 90)  # bridges the snapshot
    before = state(book)
    with pytest.raises(SequenceGapError):
        book.apply_delta(120, 130, [["61831.00", "1"]], [], 111)
    assert state(book) == before
    book.apply_delta(120, 130, [["61831.00", "1"]], [], 110)
    assert book.update_id == 130


def test_older_snapshot_is_refused() -> None:
    book = synced_book()
    before = state(book)
    with pytest.raises(StaleUpdateError):
        book.apply_snapshot(99, [], [])
    assert state(book) == before


def test_delta_before_snapshot_is_refused() -> None:
    with pytest.raises(NotSyncedError):
        OrderBook().apply_delta(1, 2, [], [])
    with pytest.raises(NotSyncedError):
        BookStore().apply_delta("binance", "BTC/USDT", 1, 2, [], [])


def test_errors_share_one_root() -> None:
    for error in (
        InvalidPriceError,
        InvalidSizeError,
        CrossedBookError,
        StaleUpdateError,
        SequenceGapError,
        NotSyncedError,
    ):
        assert issubclass(error, BookError)
    assert issubclass(BookError, ValueError)


def test_malformed_levels_raise_python_errors_not_panics() -> None:
    book = synced_book()
    before = state(book)
    for bad in ([["61837.00"]], [None], [[object(), "1"]], 5):
        with pytest.raises((TypeError, IndexError, BookError)):
            book.apply_delta(101, 101, bad, [])  # type: ignore[arg-type]
    assert state(book) == before
