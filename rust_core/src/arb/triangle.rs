//! Triangular arbitrage within one venue: convert a start amount through three markets and back,
//! walking each book's depth and paying each taker fee.

use super::{Found, Leg};
use crate::analysis::TakerSide;
use crate::book::OrderBook;

/// The result of one depth-walked conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// What was received, after the fee (charged on what is received).
    pub amount_out: f64,
    /// Base quantity traded.
    pub base: f64,
    /// Quote quantity traded, before the fee.
    pub quote: f64,
    /// The last (worst) price reached.
    pub worst_price: f64,
}

/// Spends `amount_in` on a market: a buy spends quote for base (walking asks), a sell spends base
/// for quote (walking bids). `None` when the book cannot absorb all of it.
pub fn convert(book: &OrderBook, side: TakerSide, amount_in: f64, fee: f64) -> Option<Conversion> {
    if !amount_in.is_finite() || amount_in <= 0.0 {
        return None;
    }
    let scale = book.scale();
    let (mut left, mut base, mut quote, mut worst_price) = (amount_in, 0.0, 0.0, 0.0);
    for level in book.ladder(side.book_side()).best_first() {
        let price = scale.to_f64(level.ticks());
        let take = match side {
            TakerSide::Buy => level.size().min(left / price),
            TakerSide::Sell => level.size().min(left),
        };
        base += take;
        quote += take * price;
        worst_price = price;
        left -= match side {
            TakerSide::Buy => take * price,
            TakerSide::Sell => take,
        };
        if take < level.size() || left <= 0.0 {
            left = 0.0;
            break;
        }
    }
    if left > 0.0 {
        return None;
    }
    let received = match side {
        TakerSide::Buy => base,
        TakerSide::Sell => quote,
    };
    Some(Conversion {
        amount_out: received * (1.0 - fee),
        base,
        quote,
        worst_price,
    })
}

/// Runs `start` through three conversions (book, side, fee) and reports the cycle if it ends
/// with more than it started with.
pub fn triangle(legs: [(&OrderBook, TakerSide, f64); 3], start: f64) -> Option<Found> {
    let mut amount = start;
    let mut found = Vec::with_capacity(3);
    for (index, (book, side, fee)) in legs.into_iter().enumerate() {
        let conversion = convert(book, side, amount, fee)?;
        amount = conversion.amount_out;
        found.push(Leg {
            book: index,
            side,
            base: conversion.base,
            quote: conversion.quote,
            vwap: conversion.quote / conversion.base,
            worst_price: conversion.worst_price,
        });
    }
    let profit = amount - start;
    (profit > 0.0).then(|| Found {
        legs: found,
        profit,
        profit_bps: profit / start * 10_000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::testing::book;

    #[test]
    fn conversions_walk_depth_and_pay_fees() {
        let btc_usdt = book(&[("100", "1"), ("99", "1")], &[("101", "1"), ("102", "1")]);
        let bought = convert(&btc_usdt, TakerSide::Buy, 152.0, 0.001).unwrap();
        assert!((bought.base - 1.5).abs() < 1e-12);
        assert!((bought.amount_out - 1.5 * 0.999).abs() < 1e-12);
        assert_eq!(bought.worst_price, 102.0);
        let sold = convert(&btc_usdt, TakerSide::Sell, 1.5, 0.0).unwrap();
        assert!((sold.amount_out - (100.0 + 0.5 * 99.0)).abs() < 1e-12);
        assert_eq!(
            convert(&btc_usdt, TakerSide::Sell, 3.0, 0.0),
            None,
            "not enough depth"
        );
    }

    #[test]
    fn a_mispriced_cycle_is_found() {
        // USDT -> BTC (buy BTC/USDT at 100) -> ETH (buy ETH/BTC at 0.05) -> USDT (sell ETH/USDT at 6)
        let btc_usdt = book(&[("99", "10")], &[("100", "10")]);
        let eth_btc = book(&[("0.049", "100")], &[("0.05", "100")]);
        let eth_usdt = book(&[("6", "100")], &[("6.1", "100")]);
        let found = triangle(
            [
                (&btc_usdt, TakerSide::Buy, 0.0),
                (&eth_btc, TakerSide::Buy, 0.0),
                (&eth_usdt, TakerSide::Sell, 0.0),
            ],
            100.0,
        )
        .unwrap();
        assert!((found.profit - 20.0).abs() < 1e-9); // 1 BTC -> 20 ETH -> 120 USDT
        assert!(triangle(
            [
                (&eth_usdt, TakerSide::Buy, 0.0),
                (&eth_btc, TakerSide::Sell, 0.0),
                (&btc_usdt, TakerSide::Sell, 0.0)
            ],
            100.0,
        )
        .is_none());
    }
}
