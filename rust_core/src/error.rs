//! Integrity errors an order book reports instead of panicking or corrupting itself.

/// Why an update was refused. Every refusal leaves the book exactly as it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BookError {
    /// A price that is not a finite positive number on the book's price grid.
    #[error("invalid price {value:?}: {reason}")]
    InvalidPrice {
        /// The price as it was given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A size that is negative, NaN or infinite.
    #[error("invalid size {value:?}: {reason}")]
    InvalidSize {
        /// The size as it was given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The update would leave the best bid at or above the best ask.
    #[error("update would cross the book: best bid {bid} >= best ask {ask}")]
    Crossed {
        /// Best bid after the refused update.
        bid: f64,
        /// Best ask after the refused update.
        ask: f64,
    },
    /// The update is not newer than what the book already holds (already applied, out of
    /// order, or an id going backwards).
    #[error("stale update: id {update_id} is not after the book's {book_id}")]
    StaleUpdate {
        /// The book's update id.
        book_id: u64,
        /// The refused update's last id.
        update_id: u64,
    },
    /// Updates between the book's id and this update's first id are missing.
    #[error("sequence gap: book at {book_id}, update starts at {first_id} (previous {prev_id:?})")]
    SequenceGap {
        /// The book's update id.
        book_id: u64,
        /// The refused update's first id.
        first_id: u64,
        /// The id the refused update says came before it, if the venue sends one.
        prev_id: Option<u64>,
    },
    /// A delta arrived before any snapshot.
    #[error("book has no snapshot yet")]
    NotSynced,
}
