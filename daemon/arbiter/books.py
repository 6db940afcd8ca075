"""The order-book core, from Rust. The only module that imports `arbiter._core`."""

from arbiter._core import (
    BookError,
    BookStore,
    CrossedBookError,
    Fill,
    InvalidPriceError,
    InvalidSizeError,
    NotSyncedError,
    Opportunity,
    OpportunityLeg,
    OrderBook,
    Scanner,
    SequenceGapError,
    StaleUpdateError,
)

__all__ = [
    "BookError",
    "BookStore",
    "CrossedBookError",
    "Fill",
    "InvalidPriceError",
    "InvalidSizeError",
    "NotSyncedError",
    "Opportunity",
    "OpportunityLeg",
    "OrderBook",
    "Scanner",
    "SequenceGapError",
    "StaleUpdateError",
]
