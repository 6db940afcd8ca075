//! Arbitrage scanners: pure functions over books that find what is worth trading.

pub mod cross;
pub mod lifetime;
pub mod peg;
pub mod triangle;

pub use cross::{best_cross, CrossParams};
pub use lifetime::{Lifetime, Lifetimes};
pub use peg::{peg_deviation, PegParams};
pub use triangle::{convert, triangle, Conversion};

use crate::analysis::TakerSide;

/// One leg of an opportunity: what to take on which book.
#[derive(Debug, Clone, PartialEq)]
pub struct Leg {
    /// Index of the book among the scan's books (resolved to venue and symbol by the caller).
    pub book: usize,
    /// Buy (take asks) or sell (hit bids).
    pub side: TakerSide,
    /// Base quantity bought or sold.
    pub base: f64,
    /// Quote quantity paid or received, before fees.
    pub quote: f64,
    /// Volume-weighted price of the leg.
    pub vwap: f64,
    /// The last (worst) price the leg reaches.
    pub worst_price: f64,
}

/// What a scan found: legs and the profit they are expected to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The legs, in execution order.
    pub legs: Vec<Leg>,
    /// Expected profit, net of fees and the slippage buffer, in the quote (or start) currency.
    pub profit: f64,
    /// Profit in basis points of the capital the opportunity uses.
    pub profit_bps: f64,
}
