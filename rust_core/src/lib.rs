//! arbiter's core: exact L2 order books and the store that routes exchange updates to them.
//!
//! Pure Rust modules with their own tests; the PyO3 bindings live in `python/` behind the
//! `python` feature, which maturin turns on when it builds `arbiter._core`.

pub mod analysis;
pub mod arb;
pub mod book;
pub mod error;
pub mod features;
pub mod ladder;
pub mod model;
pub mod price;
pub mod scanner;
pub mod signal;
pub mod store;

#[cfg(feature = "python")]
mod python;

pub use analysis::{Fill, TakerSide};
pub use book::{OrderBook, UpdateIds};
pub use error::BookError;
pub use ladder::{Level, Side};
pub use price::{PriceScale, Ticks};
pub use scanner::{BookKey, Opportunity, Scan, ScanKind, Scanner};
pub use store::BookStore;
