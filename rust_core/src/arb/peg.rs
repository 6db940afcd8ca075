//! Stablecoin peg: a pair of two dollar coins (USDC/USDT) trading away from 1.0 by more than a
//! round trip costs.

use super::{Found, Leg};
use crate::analysis::TakerSide;
use crate::book::OrderBook;

/// Fee, buffer and inventory for one peg pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PegParams {
    /// Taker fee rate, paid now and again when the position is unwound at the peg.
    pub fee: f64,
    /// Extra margin demanded, in basis points.
    pub slippage_bps: f64,
    /// Quote available to buy the base below the peg.
    pub max_quote: f64,
    /// Base available to sell above the peg.
    pub max_base: f64,
}

/// Buys the base below the peg (or sells it above) as deep as each unit still earns its round
/// trip: bought at `p` and later sold at 1.0, a unit earns `(1 - f) - p (1 + f)`; sold at `p`
/// and bought back at 1.0, `p (1 - f) - (1 + f)`, each less the buffer.
pub fn peg_deviation(book: &OrderBook, params: &PegParams) -> Option<Found> {
    let buffer = params.slippage_bps / 10_000.0;
    let fee = params.fee;
    let scale = book.scale();
    let earns = |side: TakerSide, price: f64| match side {
        TakerSide::Buy => (1.0 - fee - buffer) - price * (1.0 + fee + buffer),
        TakerSide::Sell => price * (1.0 - fee - buffer) - (1.0 + fee + buffer),
    };
    for side in [TakerSide::Buy, TakerSide::Sell] {
        let (mut base, mut quote, mut profit, mut worst_price) = (0.0, 0.0, 0.0, 0.0);
        let mut left = match side {
            TakerSide::Buy => params.max_quote,
            TakerSide::Sell => params.max_base,
        };
        for level in book.ladder(side.book_side()).best_first() {
            let price = scale.to_f64(level.ticks());
            let per_unit = earns(side, price);
            if per_unit <= 0.0 || left <= 0.0 {
                break;
            }
            let take = match side {
                TakerSide::Buy => level.size().min(left / (price * (1.0 + fee))),
                TakerSide::Sell => level.size().min(left),
            };
            base += take;
            quote += take * price;
            profit += take * per_unit;
            worst_price = price;
            left -= match side {
                TakerSide::Buy => take * price * (1.0 + fee),
                TakerSide::Sell => take,
            };
        }
        if base > 0.0 {
            let leg = Leg {
                book: 0,
                side,
                base,
                quote,
                vwap: quote / base,
                worst_price,
            };
            return Some(Found {
                legs: vec![leg],
                profit,
                profit_bps: profit / quote * 10_000.0,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(bid: &str, ask: &str) -> OrderBook {
        crate::book::testing::book(&[(bid, "1000")], &[(ask, "1000")])
    }

    #[test]
    fn only_deviations_beyond_the_round_trip_count() {
        let params = PegParams {
            fee: 0.0005,
            slippage_bps: 0.0,
            max_quote: 1e6,
            max_base: 1e6,
        };
        assert_eq!(peg_deviation(&book("0.9995", "0.9996"), &params), None);
        let below = peg_deviation(&book("0.9970", "0.9980"), &params).unwrap();
        assert_eq!(below.legs[0].side, TakerSide::Buy);
        assert!((below.profit - 1000.0 * ((1.0 - 0.0005) - 0.998 * 1.0005)).abs() < 1e-9);
        let above = peg_deviation(&book("1.0030", "1.0040"), &params).unwrap();
        assert_eq!(above.legs[0].side, TakerSide::Sell);
    }
}
