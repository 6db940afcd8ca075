//! Per-book features for the attention signal, computed on every update in O(1) amortised
//! (a bounded number of top levels, a fixed ring of past mids). The same code builds the
//! training windows (`arbiter train`) and the live ones, so the two cannot drift apart.
//!
//! Trade flow is not among them: arbiter streams order books, not trades.

use std::collections::VecDeque;

use crate::book::OrderBook;
use crate::ladder::Side;

/// The features, in the order of the vector. A weights file names the list it was trained on
/// and is refused if it differs.
pub const FEATURES: [&str; 11] = [
    "spread_bps",
    "microprice_minus_mid_bps",
    "imbalance_1",
    "imbalance_5",
    "imbalance_10",
    "log_depth_bid_10bps",
    "log_depth_ask_10bps",
    "mid_return_1_bps",
    "mid_return_5_bps",
    "mid_return_20_bps",
    "basis_bps",
];
/// The length of a feature vector.
pub const FEATURE_COUNT: usize = FEATURES.len();
/// Updates back over which mid returns are taken.
const LOOKBACKS: [usize; 3] = [1, 5, 20];
const HISTORY: usize = 20;

/// One feature vector.
pub type Features = [f32; FEATURE_COUNT];

/// The state one book's features need between updates: its recent mids.
#[derive(Debug, Clone, Default)]
pub struct FeatureTracker {
    mids: VecDeque<f64>,
}

impl FeatureTracker {
    /// A tracker with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// The features after an update of `book`; `twin_mid` is the mid of the same instrument on
    /// another venue, if one is streamed. None while the book has no two-sided top.
    pub fn update(&mut self, book: &OrderBook, twin_mid: Option<f64>) -> Option<Features> {
        let mid = book.mid()?;
        let bps = |value: f64| (value * 10_000.0) as f32;
        if self.mids.len() > HISTORY {
            self.mids.pop_front();
        }
        self.mids.push_back(mid);
        let back = |k: usize| -> f32 {
            let len = self.mids.len();
            if len > k {
                bps((mid / self.mids[len - 1 - k]).ln())
            } else {
                0.0
            }
        };
        let depth = |side| (book.depth_within_bps(side, 10.0).unwrap_or(0.0)).ln_1p() as f32;
        let [imbalance_1, imbalance_5, imbalance_10] = imbalances(book);
        Some([
            book.spread_bps()? as f32,
            bps(book.microprice()? / mid - 1.0),
            imbalance_1,
            imbalance_5,
            imbalance_10,
            depth(Side::Bid),
            depth(Side::Ask),
            back(LOOKBACKS[0]),
            back(LOOKBACKS[1]),
            back(LOOKBACKS[2]),
            twin_mid.map_or(0.0, |twin| bps(mid / twin - 1.0)),
        ])
    }
}

/// Order-book imbalance over the top 1, 5 and 10 levels, in one walk of each side (as
/// `OrderBook::imbalance`, which the tests hold it to).
fn imbalances(book: &OrderBook) -> [f32; 3] {
    let cumulative = |side| {
        let mut sums = [0.0f64; 3];
        let mut total = 0.0;
        for (index, level) in book.ladder(side).best_first().take(10).enumerate() {
            total += level.size;
            for (sum, depth) in sums.iter_mut().zip([1, 5, 10]) {
                if index < depth {
                    *sum = total;
                }
            }
        }
        sums
    };
    let (bids, asks) = (cumulative(Side::Bid), cumulative(Side::Ask));
    std::array::from_fn(|i| {
        let total = bids[i] + asks[i];
        if total > 0.0 {
            ((bids[i] - asks[i]) / total) as f32
        } else {
            0.0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::testing::book;

    #[test]
    fn features_of_a_known_book() {
        let book = book(&[("100", "3"), ("99", "1")], &[("101", "1"), ("102", "4")]);
        let mut tracker = FeatureTracker::new();
        let features = tracker.update(&book, Some(100.0)).unwrap();
        let mid = 100.5;
        assert!((features[0] - (1.0 / mid * 1e4) as f32).abs() < 1e-3);
        let micro = (100.0 * 1.0 + 101.0 * 3.0) / 4.0;
        assert!((features[1] - ((micro / mid - 1.0) * 1e4) as f32).abs() < 1e-3);
        assert_eq!(features[2], 0.5); // (3 - 1) / 4 at the top
        assert_eq!(features[3], (4.0 - 5.0) / 9.0);
        assert_eq!(features[5], 0.0); // the best bid is 50 bps from the mid: nothing within 10
        assert_eq!(&features[7..10], &[0.0, 0.0, 0.0]); // no history yet
        assert!((features[10] - 50.0).abs() < 1e-3); // 100.5 against 100: 50 bps
    }

    #[test]
    fn depth_counts_only_levels_within_10_bps_of_the_mid() {
        let book = book(
            &[("100", "3"), ("99.95", "2"), ("99.8", "7")],
            &[("100.02", "1"), ("100.2", "9")],
        );
        let features = FeatureTracker::new().update(&book, None).unwrap();
        assert!((features[5] - 5f32.ln_1p()).abs() < 1e-6);
        assert!((features[6] - 1f32.ln_1p()).abs() < 1e-6);
    }

    #[test]
    fn returns_look_back_a_fixed_number_of_updates() {
        let mut tracker = FeatureTracker::new();
        let mut last = None;
        for step in 0..30 {
            let (bid, ask) = ((100 + step).to_string(), (101 + step).to_string());
            let book = book(&[(&bid, "1")], &[(&ask, "1")]);
            last = tracker.update(&book, None);
        }
        let features = last.unwrap();
        let mid = |step: f64| 100.5 + step;
        for (index, k) in [(7, 1.0), (8, 5.0), (9, 20.0)] {
            let expected = ((mid(29.0) / mid(29.0 - k)).ln() * 1e4) as f32;
            assert!((features[index] - expected).abs() < 1e-2, "lookback {k}");
        }
        assert!(tracker.mids.len() <= HISTORY + 1);
    }

    #[test]
    fn imbalances_in_one_walk_equal_the_books_own() {
        let book = book(
            &[
                ("100", "3"),
                ("99", "1"),
                ("98", "2"),
                ("97", "5"),
                ("96", "1"),
                ("95", "4"),
            ],
            &[("101", "1"), ("102", "4"), ("103", "2")],
        );
        let walked = imbalances(&book);
        for (value, levels) in walked.iter().zip([1, 5, 10]) {
            assert_eq!(
                *value,
                book.imbalance(levels).unwrap() as f32,
                "{levels} levels"
            );
        }
    }

    #[test]
    fn a_one_sided_book_has_no_features() {
        let book = book(&[("100", "1")], &[]);
        assert!(FeatureTracker::new().update(&book, None).is_none());
    }
}
