//! An L2 order book: snapshots, sequenced deltas, and integrity checks that never leave it
//! half-updated.

use crate::error::BookError;
use crate::ladder::{size_from_str, Ladder, Level, Side};
use crate::price::{PriceScale, Ticks};

/// Exchange sequence numbers carried by a delta.
///
/// Binance spot sends `U`/`u` (first and last update id); USDⓈ-M and COIN-M futures also send
/// `pu`, the last id of the previous event, because their ids are not contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateIds {
    /// First update id in the event (`U`).
    pub first: u64,
    /// Last update id in the event (`u`).
    pub last: u64,
    /// Last update id of the previous event (`pu`), where the venue sends it.
    pub prev_last: Option<u64>,
}

/// An L2 book for one instrument on one venue.
#[derive(Debug, Clone)]
pub struct OrderBook {
    scale: PriceScale,
    bids: Ladder,
    asks: Ladder,
    update_id: u64,
    synced: bool,
    /// True until the first delta after a snapshot, which bridges the snapshot's id.
    awaiting_bridge: bool,
    /// Previous sizes of the levels touched by the update in progress, to roll it back.
    undo: Vec<(Side, Ticks, f64)>,
}

impl OrderBook {
    /// An empty, unsynced book with prices on `scale`.
    pub fn new(scale: PriceScale) -> Self {
        Self {
            scale,
            bids: Ladder::new(Side::Bid),
            asks: Ladder::new(Side::Ask),
            update_id: 0,
            synced: false,
            awaiting_bridge: false,
            undo: Vec::new(),
        }
    }

    /// The book's price scale.
    pub fn scale(&self) -> PriceScale {
        self.scale
    }

    /// The last exchange update id applied.
    pub fn update_id(&self) -> u64 {
        self.update_id
    }

    /// True once a snapshot has been applied (and until [`OrderBook::clear`]).
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// One side's levels.
    pub fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    /// A level from a float price and size (what ccxt hands over).
    pub fn level_from_f64(&self, price: f64, size: f64) -> Result<Level, BookError> {
        Level::new(self.scale.ticks_from_f64(price)?, size)
    }

    /// A level from decimal strings (what exchanges send); the price is parsed exactly.
    pub fn level_from_str(&self, price: &str, size: &str) -> Result<Level, BookError> {
        Level::new(self.scale.ticks_from_str(price)?, size_from_str(size)?)
    }

    /// Replaces the whole book with a snapshot taken at `update_id`.
    ///
    /// Refused when older than what the book holds, or crossed; the book is then unchanged.
    pub fn apply_snapshot(
        &mut self,
        update_id: u64,
        bids: &[Level],
        asks: &[Level],
    ) -> Result<(), BookError> {
        if self.synced && update_id < self.update_id {
            return Err(BookError::StaleUpdate {
                book_id: self.update_id,
                update_id,
            });
        }
        let mut new_bids = Ladder::new(Side::Bid);
        let mut new_asks = Ladder::new(Side::Ask);
        new_bids.replace_all(bids);
        new_asks.replace_all(asks);
        self.check_uncrossed(&new_bids, &new_asks)?;
        self.bids = new_bids;
        self.asks = new_asks;
        self.update_id = update_id;
        self.synced = true;
        self.awaiting_bridge = true;
        Ok(())
    }

    /// Applies an incremental update by the venue's sequencing rules.
    ///
    /// The first delta after a snapshot must bridge it (`first <= id + 1 <= last`); later ones
    /// must follow on (`prev_last == id` where the venue sends it, else `first == id + 1`).
    pub fn apply_delta(
        &mut self,
        ids: UpdateIds,
        bids: &[Level],
        asks: &[Level],
    ) -> Result<(), BookError> {
        self.check_sequence(ids)?;
        self.apply_levels(bids, asks)?;
        self.update_id = ids.last;
        self.awaiting_bridge = false;
        Ok(())
    }

    /// Applies levels with no sequence check, e.g. from a source that already sequenced them.
    /// All-or-nothing: a crossed result is rolled back.
    pub fn apply_levels(&mut self, bids: &[Level], asks: &[Level]) -> Result<(), BookError> {
        if !self.synced {
            return Err(BookError::NotSynced);
        }
        self.undo.clear();
        for level in bids {
            let before = self.bids.set(level.ticks, level.size);
            self.undo.push((Side::Bid, level.ticks, before));
        }
        for level in asks {
            let before = self.asks.set(level.ticks, level.size);
            self.undo.push((Side::Ask, level.ticks, before));
        }
        if let Err(error) = self.check_uncrossed(&self.bids, &self.asks) {
            self.roll_back();
            return Err(error);
        }
        Ok(())
    }

    /// Forgets every level and the sequence; the next snapshot starts afresh.
    pub fn clear(&mut self) {
        *self = Self::new(self.scale);
    }

    fn check_sequence(&self, ids: UpdateIds) -> Result<(), BookError> {
        if !self.synced {
            return Err(BookError::NotSynced);
        }
        if ids.last <= self.update_id {
            return Err(BookError::StaleUpdate {
                book_id: self.update_id,
                update_id: ids.last,
            });
        }
        let follows = match ids.prev_last {
            Some(prev_last) if !self.awaiting_bridge => prev_last == self.update_id,
            _ if self.awaiting_bridge => ids.first <= self.update_id + 1,
            _ => ids.first == self.update_id + 1,
        };
        if follows {
            Ok(())
        } else {
            Err(BookError::SequenceGap {
                book_id: self.update_id,
                first_id: ids.first,
                prev_id: ids.prev_last,
            })
        }
    }

    fn check_uncrossed(&self, bids: &Ladder, asks: &Ladder) -> Result<(), BookError> {
        match (bids.best(), asks.best()) {
            (Some(bid), Some(ask)) if bid.ticks >= ask.ticks => Err(BookError::Crossed {
                bid: self.scale.to_f64(bid.ticks),
                ask: self.scale.to_f64(ask.ticks),
            }),
            _ => Ok(()),
        }
    }

    fn roll_back(&mut self) {
        // In reverse, so a price touched twice in one update ends at its original size.
        for &(side, ticks, size) in self.undo.iter().rev() {
            match side {
                Side::Bid => self.bids.set(ticks, size),
                Side::Ask => self.asks.set(ticks, size),
            };
        }
    }
}

/// Books for other modules' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A synced book (8 decimals) from `(price, size)` decimal strings.
    pub(crate) fn book(bids: &[(&str, &str)], asks: &[(&str, &str)]) -> OrderBook {
        let mut book = OrderBook::new(PriceScale::default());
        let parse = |levels: &[(&str, &str)]| -> Vec<Level> {
            levels
                .iter()
                .map(|(p, s)| book.level_from_str(p, s).unwrap())
                .collect()
        };
        let (bids, asks) = (parse(bids), parse(asks));
        book.apply_snapshot(1, &bids, &asks).unwrap();
        book
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> OrderBook {
        let mut book = OrderBook::new(PriceScale::new(2).unwrap());
        let bids = [
            book.level_from_str("100.00", "1").unwrap(),
            book.level_from_str("99.50", "2").unwrap(),
        ];
        let asks = [
            book.level_from_str("100.50", "3").unwrap(),
            book.level_from_str("101", "4").unwrap(),
        ];
        book.apply_snapshot(10, &bids, &asks).unwrap();
        book
    }

    type State = (Vec<(f64, f64)>, Vec<(f64, f64)>, u64);

    fn levels(book: &OrderBook) -> State {
        (
            book.top_levels(Side::Bid, 100),
            book.top_levels(Side::Ask, 100),
            book.update_id(),
        )
    }

    fn ids(first: u64, last: u64, prev_last: Option<u64>) -> UpdateIds {
        UpdateIds {
            first,
            last,
            prev_last,
        }
    }

    #[test]
    fn deltas_replace_and_remove_levels() {
        let mut b = book();
        let bid = b.level_from_str("99.50", "0").unwrap();
        let ask = b.level_from_str("100.50", "7").unwrap();
        b.apply_delta(ids(5, 11, None), &[bid], &[ask]).unwrap();
        assert_eq!(b.top_levels(Side::Bid, 5), vec![(100.0, 1.0)]);
        assert_eq!(b.top_levels(Side::Ask, 5), vec![(100.5, 7.0), (101.0, 4.0)]);
        assert_eq!(b.update_id(), 11);
    }

    #[test]
    fn a_crossing_delta_is_rolled_back_whole() {
        let mut b = book();
        let before = levels(&b);
        let touched = b.level_from_str("99.50", "9").unwrap();
        let crossing = b.level_from_str("100.50", "1").unwrap();
        let err = b
            .apply_delta(ids(11, 11, None), &[touched, crossing], &[])
            .unwrap_err();
        assert!(matches!(err, BookError::Crossed { bid, ask } if bid == 100.5 && ask == 100.5));
        assert_eq!(levels(&b), before);
    }

    #[test]
    fn sequence_rules_refuse_stale_and_gapped_updates() {
        let mut b = book();
        let before = levels(&b);
        assert!(matches!(
            b.apply_delta(ids(1, 10, None), &[], &[]),
            Err(BookError::StaleUpdate { .. })
        ));
        assert!(matches!(
            b.apply_delta(ids(12, 13, None), &[], &[]),
            Err(BookError::SequenceGap { .. })
        ));
        assert_eq!(levels(&b), before);
        b.apply_delta(ids(9, 12, None), &[], &[]).unwrap();
        assert!(matches!(
            b.apply_delta(ids(14, 15, None), &[], &[]),
            Err(BookError::SequenceGap { .. })
        ));
        b.apply_delta(ids(13, 15, None), &[], &[]).unwrap();
        // With `pu` (futures) the previous id must match, whatever the first id says.
        assert!(matches!(
            b.apply_delta(ids(20, 21, Some(14)), &[], &[]),
            Err(BookError::SequenceGap { .. })
        ));
        b.apply_delta(ids(20, 21, Some(15)), &[], &[]).unwrap();
        assert_eq!(b.update_id(), 21);
    }

    #[test]
    fn older_snapshots_and_unsynced_deltas_are_refused() {
        let mut b = book();
        assert!(matches!(
            b.apply_snapshot(9, &[], &[]),
            Err(BookError::StaleUpdate { .. })
        ));
        b.clear();
        assert!(matches!(
            b.apply_delta(ids(1, 2, None), &[], &[]),
            Err(BookError::NotSynced)
        ));
        b.apply_snapshot(3, &[], &[]).unwrap();
        assert!(b.is_synced());
    }

    #[test]
    fn a_crossed_snapshot_is_refused() {
        let mut b = book();
        let before = levels(&b);
        let bid = b.level_from_str("101", "1").unwrap();
        let ask = b.level_from_str("100", "1").unwrap();
        assert!(matches!(
            b.apply_snapshot(20, &[bid], &[ask]),
            Err(BookError::Crossed { .. })
        ));
        assert_eq!(levels(&b), before);
    }

    #[test]
    fn levels_refuse_bad_sizes() {
        let b = book();
        for bad in ["-1", "NaN", "inf", "x"] {
            assert!(
                matches!(
                    b.level_from_str("1", bad),
                    Err(BookError::InvalidSize { .. })
                ),
                "{bad}"
            );
        }
        assert!(b.level_from_f64(1.0, f64::NAN).is_err());
        assert!(b.level_from_f64(1.0, -0.5).is_err());
    }

    #[test]
    fn queries_answer_from_both_sides() {
        let b = book();
        assert_eq!(b.best(Side::Bid), Some((100.0, 1.0)));
        assert_eq!(b.best(Side::Ask), Some((100.5, 3.0)));
        assert_eq!(b.mid(), Some(100.25));
        assert!((b.spread_bps().unwrap() - 0.5 / 100.25 * 1e4).abs() < 1e-9);
        assert!((b.microprice().unwrap() - (100.0 * 3.0 + 100.5 * 1.0) / 4.0).abs() < 1e-9);
        assert!((b.imbalance(1).unwrap() - (1.0 - 3.0) / 4.0).abs() < 1e-12);
        assert!((b.imbalance(2).unwrap() - (3.0 - 7.0) / 10.0).abs() < 1e-12);
        assert_eq!(b.depth_within_bps(Side::Bid, 10.0), Some(0.0));
        assert_eq!(b.depth_within_bps(Side::Bid, 30.0), Some(1.0));
        assert_eq!(b.depth_within_bps(Side::Ask, 100.0), Some(7.0));
        let fill = b.fill(crate::TakerSide::Buy, 5.0).unwrap();
        assert_eq!((fill.filled, fill.worst_price), (5.0, 101.0));
        assert!((fill.vwap - (3.0 * 100.5 + 2.0 * 101.0) / 5.0).abs() < 1e-9);
        let partial = b.fill(crate::TakerSide::Sell, 10.0).unwrap();
        assert_eq!((partial.filled, partial.worst_price), (3.0, 99.5));
        assert_eq!(b.fill(crate::TakerSide::Sell, 0.0), None);
        assert_eq!(b.max_fill_size(crate::TakerSide::Buy, 100.9), 3.0);
        assert_eq!(b.max_fill_size(crate::TakerSide::Sell, 99.5), 3.0);
    }
}
