//! Cross-venue arbitrage: buy where it is cheap, sell where it is dear, at the size that
//! maximises profit net of both taker fees and a slippage buffer, within the inventory at hand.

use super::{Found, Leg};
use crate::analysis::TakerSide;
use crate::book::OrderBook;
use crate::ladder::Side;

/// Fees, buffer and inventory for one buy-venue / sell-venue pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossParams {
    /// Taker fee rate on the buy venue.
    pub buy_fee: f64,
    /// Taker fee rate on the sell venue.
    pub sell_fee: f64,
    /// Extra margin demanded on each leg, in basis points of its notional.
    pub slippage_bps: f64,
    /// Quote currency available on the buy venue (the buy leg's cost with fees stays within).
    pub max_quote: f64,
    /// Base currency available to sell on the sell venue.
    pub max_base: f64,
}

/// Walks the buy book's asks against the sell book's bids while the next unit still earns more
/// than it costs; the marginal profit only falls as both walks go deeper, so stopping at the
/// first unprofitable unit gives the size of maximum profit.
pub fn best_cross(buy: &OrderBook, sell: &OrderBook, params: &CrossParams) -> Option<Found> {
    let buffer = params.slippage_bps / 10_000.0;
    let (buy_scale, sell_scale) = (buy.scale(), sell.scale());
    let mut asks = buy.ladder(Side::Ask).best_first();
    let mut bids = sell.ladder(Side::Bid).best_first();
    let (mut ask, mut bid) = (asks.next()?, bids.next()?);
    let (mut ask_left, mut bid_left) = (ask.size(), bid.size());
    let (mut quote_left, mut base_left) = (params.max_quote, params.max_base);
    let (mut size, mut paid, mut received) = (0.0, 0.0, 0.0);
    let (mut worst_ask, mut worst_bid) = (0.0, 0.0);
    loop {
        let ask_price = buy_scale.to_f64(ask.ticks());
        let bid_price = sell_scale.to_f64(bid.ticks());
        let cost = ask_price * (1.0 + params.buy_fee + buffer);
        let revenue = bid_price * (1.0 - params.sell_fee - buffer);
        if revenue <= cost {
            break;
        }
        let affordable = quote_left / (ask_price * (1.0 + params.buy_fee));
        let take = ask_left.min(bid_left).min(base_left).min(affordable);
        if take <= 0.0 {
            break;
        }
        size += take;
        paid += take * ask_price;
        received += take * bid_price;
        (worst_ask, worst_bid) = (ask_price, bid_price);
        quote_left -= take * ask_price * (1.0 + params.buy_fee);
        base_left -= take;
        if base_left <= 0.0 || take == affordable {
            break; // inventory used up
        }
        if take == ask_left {
            match asks.next() {
                Some(next) => (ask, ask_left) = (next, next.size()),
                None => break,
            }
        } else {
            ask_left -= take;
        }
        if take == bid_left {
            match bids.next() {
                Some(next) => (bid, bid_left) = (next, next.size()),
                None => break,
            }
        } else {
            bid_left -= take;
        }
    }
    if size <= 0.0 {
        return None;
    }
    let profit =
        received * (1.0 - params.sell_fee - buffer) - paid * (1.0 + params.buy_fee + buffer);
    let legs = vec![
        Leg {
            book: 0,
            side: TakerSide::Buy,
            base: size,
            quote: paid,
            vwap: paid / size,
            worst_price: worst_ask,
        },
        Leg {
            book: 1,
            side: TakerSide::Sell,
            base: size,
            quote: received,
            vwap: received / size,
            worst_price: worst_bid,
        },
    ];
    Some(Found {
        legs,
        profit,
        profit_bps: profit / paid * 10_000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::testing::book;

    fn params(max_quote: f64, max_base: f64) -> CrossParams {
        CrossParams {
            buy_fee: 0.001,
            sell_fee: 0.001,
            slippage_bps: 0.0,
            max_quote,
            max_base,
        }
    }

    #[test]
    fn stops_at_the_first_unit_that_no_longer_pays() {
        let cheap = book(
            &[("99", "5")],
            &[("100", "1"), ("100.5", "2"), ("101", "5")],
        );
        let dear = book(&[("101", "2"), ("100.6", "5")], &[("102", "5")]);
        let found = best_cross(&cheap, &dear, &params(1e9, 1e9)).unwrap();
        // 1 @ 100 -> 101 and 1 @ 100.5 -> 101 pay; 100.5 -> 100.6 does not clear 0.2 % of fees.
        assert_eq!(found.legs[0].base, 2.0);
        assert_eq!(
            (found.legs[0].worst_price, found.legs[1].worst_price),
            (100.5, 101.0)
        );
        let expected = 202.0 * 0.999 - 200.5 * 1.001;
        assert!((found.profit - expected).abs() < 1e-9);
    }

    #[test]
    fn inventory_caps_the_size() {
        let cheap = book(&[("99", "5")], &[("100", "10")]);
        let dear = book(&[("105", "10")], &[("106", "5")]);
        assert_eq!(
            best_cross(&cheap, &dear, &params(1e9, 0.5)).unwrap().legs[0].base,
            0.5
        );
        let by_quote = best_cross(&cheap, &dear, &params(100.1, 1e9)).unwrap();
        assert!((by_quote.legs[0].base - 1.0).abs() < 1e-12);
        assert_eq!(best_cross(&cheap, &dear, &params(0.0, 1e9)), None);
        assert_eq!(best_cross(&dear, &cheap, &params(1e9, 1e9)), None);
    }
}
