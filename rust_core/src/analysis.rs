//! Read-only questions a trader asks of a book: top of book, mid, spread, microprice,
//! imbalance, depth near the mid, and what it costs to take liquidity.

use crate::book::OrderBook;
use crate::ladder::Side;

/// Which way a taker trades: a buy walks the asks, a sell walks the bids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakerSide {
    /// Lifts offers.
    Buy,
    /// Hits bids.
    Sell,
}

impl TakerSide {
    /// The side of the book this taker consumes.
    pub fn book_side(self) -> Side {
        match self {
            TakerSide::Buy => Side::Ask,
            TakerSide::Sell => Side::Bid,
        }
    }
}

/// The result of walking the book to take a size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    /// Base size that the book can fill (less than asked when depth runs out).
    pub filled: f64,
    /// Quote amount paid or received for `filled`.
    pub notional: f64,
    /// Volume-weighted average price of the fill.
    pub vwap: f64,
    /// The last (worst) price touched.
    pub worst_price: f64,
}

impl OrderBook {
    /// Best price and size on a side.
    pub fn best(&self, side: Side) -> Option<(f64, f64)> {
        self.ladder(side)
            .best()
            .map(|level| (self.scale().to_f64(level.ticks), level.size))
    }

    /// The first `n` levels from the best outwards, as `(price, size)`.
    pub fn top_levels(&self, side: Side, n: usize) -> Vec<(f64, f64)> {
        let scale = self.scale();
        self.ladder(side)
            .best_first()
            .take(n)
            .map(|level| (scale.to_f64(level.ticks), level.size))
            .collect()
    }

    /// Mid price between best bid and best ask.
    pub fn mid(&self) -> Option<f64> {
        let (bid, _) = self.best(Side::Bid)?;
        let (ask, _) = self.best(Side::Ask)?;
        Some((bid + ask) / 2.0)
    }

    /// Spread in basis points of the mid.
    pub fn spread_bps(&self) -> Option<f64> {
        let (bid, _) = self.best(Side::Bid)?;
        let (ask, _) = self.best(Side::Ask)?;
        Some((ask - bid) / ((bid + ask) / 2.0) * 10_000.0)
    }

    /// Size-weighted mid: leans towards the side with less size, where the price is likelier to
    /// move.
    pub fn microprice(&self) -> Option<f64> {
        let (bid, bid_size) = self.best(Side::Bid)?;
        let (ask, ask_size) = self.best(Side::Ask)?;
        Some((bid * ask_size + ask * bid_size) / (bid_size + ask_size))
    }

    /// `(bid size − ask size) / (bid size + ask size)` over the top `levels` of each side, in
    /// [-1, 1]; positive when buyers dominate.
    pub fn imbalance(&self, levels: usize) -> Option<f64> {
        let total = |side| -> f64 {
            self.ladder(side)
                .best_first()
                .take(levels)
                .map(|l| l.size)
                .fold(0.0, |a, b| a + b)
        };
        let (bids, asks) = (total(Side::Bid), total(Side::Ask));
        (bids + asks > 0.0).then(|| (bids - asks) / (bids + asks))
    }

    /// Base size resting on `side` within `bps` basis points of the mid.
    pub fn depth_within_bps(&self, side: Side, bps: f64) -> Option<f64> {
        let mid = self.mid()?;
        let scale = self.scale();
        let reach = mid * bps / 10_000.0;
        let within = |price: f64| match side {
            Side::Bid => price >= mid - reach,
            Side::Ask => price <= mid + reach,
        };
        Some(
            self.ladder(side)
                .best_first()
                .take_while(|level| within(scale.to_f64(level.ticks)))
                .fold(0.0, |total, level| total + level.size),
        )
    }

    /// Walks the book to take `size` base units; `None` when `size` is not positive or the side
    /// is empty. `filled` is less than `size` when depth runs out.
    pub fn fill(&self, taker: TakerSide, size: f64) -> Option<Fill> {
        if !size.is_finite() || size <= 0.0 {
            return None;
        }
        let scale = self.scale();
        let (mut filled, mut notional, mut worst_price) = (0.0, 0.0, f64::NAN);
        for level in self.ladder(taker.book_side()).best_first() {
            let take = level.size.min(size - filled);
            let price = scale.to_f64(level.ticks);
            filled += take;
            notional += take * price;
            worst_price = price;
            if filled >= size {
                break;
            }
        }
        (filled > 0.0).then_some(Fill {
            filled,
            notional,
            vwap: notional / filled,
            worst_price,
        })
    }

    /// The largest base size a taker can fill without paying beyond `limit_price` (a buy takes
    /// asks at or below it, a sell takes bids at or above it).
    pub fn max_fill_size(&self, taker: TakerSide, limit_price: f64) -> f64 {
        let scale = self.scale();
        let acceptable = |price: f64| match taker {
            TakerSide::Buy => price <= limit_price,
            TakerSide::Sell => price >= limit_price,
        };
        self.ladder(taker.book_side())
            .best_first()
            .take_while(|level| acceptable(scale.to_f64(level.ticks)))
            .fold(0.0, |total, level| total + level.size)
    }
}
