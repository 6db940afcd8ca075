//! Property test: the order book against a naive reference built on `BTreeMap`, over random
//! snapshots and deltas (valid, stale, gapped, crossing and malformed), comparing every
//! outcome, the full state, and every query.

use std::collections::BTreeMap;

use arbiter_core::{BookError, OrderBook, PriceScale, Side, TakerSide, UpdateIds};
use proptest::prelude::*;

/// The simplest book that could be right: clone, mutate, check, keep or discard.
#[derive(Clone, Default)]
struct ReferenceBook {
    bids: BTreeMap<i64, f64>,
    asks: BTreeMap<i64, f64>,
    update_id: u64,
    synced: bool,
    awaiting_bridge: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Applied,
    InvalidPrice,
    InvalidSize,
    Crossed,
    Stale,
    Gap,
    NotSynced,
}

impl From<Result<(), BookError>> for Outcome {
    fn from(result: Result<(), BookError>) -> Self {
        match result {
            Ok(()) => Outcome::Applied,
            Err(BookError::InvalidPrice { .. }) => Outcome::InvalidPrice,
            Err(BookError::InvalidSize { .. }) => Outcome::InvalidSize,
            Err(BookError::Crossed { .. }) => Outcome::Crossed,
            Err(BookError::StaleUpdate { .. }) => Outcome::Stale,
            Err(BookError::SequenceGap { .. }) => Outcome::Gap,
            Err(BookError::NotSynced) => Outcome::NotSynced,
        }
    }
}

type RawLevel = (i64, f64);

impl ReferenceBook {
    fn validate(levels: &[RawLevel]) -> Option<Outcome> {
        for &(price, size) in levels {
            if price <= 0 {
                return Some(Outcome::InvalidPrice);
            }
            if !size.is_finite() || size < 0.0 {
                return Some(Outcome::InvalidSize);
            }
        }
        None
    }

    fn crossed(&self) -> bool {
        match (self.bids.keys().next_back(), self.asks.keys().next()) {
            (Some(bid), Some(ask)) => bid >= ask,
            _ => false,
        }
    }

    fn set(side: &mut BTreeMap<i64, f64>, levels: &[RawLevel]) {
        for &(price, size) in levels {
            if size == 0.0 {
                side.remove(&price);
            } else {
                side.insert(price, size);
            }
        }
    }

    fn snapshot(&mut self, id: u64, bids: &[RawLevel], asks: &[RawLevel]) -> Outcome {
        if let Some(bad) = Self::validate(bids).or(Self::validate(asks)) {
            return bad;
        }
        if self.synced && id < self.update_id {
            return Outcome::Stale;
        }
        let mut next = ReferenceBook {
            update_id: id,
            synced: true,
            awaiting_bridge: true,
            ..Default::default()
        };
        Self::set(&mut next.bids, bids);
        Self::set(&mut next.asks, asks);
        if next.crossed() {
            return Outcome::Crossed;
        }
        *self = next;
        Outcome::Applied
    }

    fn delta(&mut self, ids: UpdateIds, bids: &[RawLevel], asks: &[RawLevel]) -> Outcome {
        if let Some(bad) = Self::validate(bids).or(Self::validate(asks)) {
            return bad;
        }
        if !self.synced {
            return Outcome::NotSynced;
        }
        if ids.last <= self.update_id {
            return Outcome::Stale;
        }
        let follows = if self.awaiting_bridge {
            ids.first <= self.update_id + 1
        } else if let Some(prev) = ids.prev_last {
            prev == self.update_id
        } else {
            ids.first == self.update_id + 1
        };
        if !follows {
            return Outcome::Gap;
        }
        let mut next = self.clone();
        Self::set(&mut next.bids, bids);
        Self::set(&mut next.asks, asks);
        if next.crossed() {
            return Outcome::Crossed;
        }
        next.update_id = ids.last;
        next.awaiting_bridge = false;
        *self = next;
        Outcome::Applied
    }

    fn best_first(&self, side: Side) -> Vec<(f64, f64)> {
        let as_price = |(&ticks, &size): (&i64, &f64)| (ticks as f64 / 100.0, size);
        match side {
            Side::Bid => self.bids.iter().rev().map(as_price).collect(),
            Side::Ask => self.asks.iter().map(as_price).collect(),
        }
    }

    fn fill(&self, taker: TakerSide, size: f64) -> Option<(f64, f64)> {
        let side = if taker == TakerSide::Buy {
            Side::Ask
        } else {
            Side::Bid
        };
        let (mut filled, mut notional) = (0.0, 0.0);
        for (price, available) in self.best_first(side) {
            if filled >= size {
                break;
            }
            let take = available.min(size - filled);
            filled += take;
            notional += take * price;
        }
        (filled > 0.0).then_some((filled, notional))
    }
}

#[derive(Debug, Clone)]
enum Op {
    Snapshot(u64, Vec<RawLevel>, Vec<RawLevel>),
    Delta(UpdateIds, Vec<RawLevel>, Vec<RawLevel>),
}

fn size() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => (1u32..500).prop_map(|s| f64::from(s) / 100.0),
        3 => Just(0.0),
        1 => prop_oneof![Just(-1.0), Just(f64::NAN), Just(f64::INFINITY)],
    ]
}

fn levels(low: i64, high: i64) -> impl Strategy<Value = Vec<RawLevel>> {
    let price = prop_oneof![20 => low..high, 1 => Just(0i64), 1 => Just(-5i64)];
    prop::collection::vec((price, size()), 0..8)
}

fn op() -> impl Strategy<Value = Op> {
    // Bids mostly below 1000 and asks mostly above, overlapping enough to cross sometimes.
    let snapshot = (0u64..40, levels(900, 1003), levels(998, 1100))
        .prop_map(|(id, bids, asks)| Op::Snapshot(id, bids, asks));
    let delta = (
        0u64..40,
        0u64..4,
        prop::option::of(0u64..40),
        levels(900, 1003),
        levels(998, 1100),
    )
        .prop_map(|(first, extra, prev_last, bids, asks)| {
            Op::Delta(
                UpdateIds {
                    first,
                    last: first + extra,
                    prev_last,
                },
                bids,
                asks,
            )
        });
    prop_oneof![1 => snapshot, 6 => delta]
}

fn to_levels(raw: &[RawLevel]) -> Result<Vec<arbiter_core::Level>, BookError> {
    raw.iter()
        .map(|&(ticks, size)| arbiter_core::Level::new(ticks, size))
        .collect()
}

fn apply(book: &mut OrderBook, op: &Op) -> Outcome {
    let (bids, asks) = match op {
        Op::Snapshot(_, b, a) | Op::Delta(_, b, a) => (b, a),
    };
    let levels = to_levels(bids).and_then(|b| Ok((b, to_levels(asks)?)));
    let (bids, asks) = match levels {
        Ok(parsed) => parsed,
        Err(error) => return Err(error).into(),
    };
    match op {
        Op::Snapshot(id, ..) => book.apply_snapshot(*id, &bids, &asks).into(),
        Op::Delta(ids, ..) => book.apply_delta(*ids, &bids, &asks).into(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn book_matches_reference(ops in prop::collection::vec(op(), 1..60), probe in 1u32..1500) {
        let mut book = OrderBook::new(PriceScale::new(2).unwrap());
        let mut reference = ReferenceBook::default();
        for op in &ops {
            let expected = match op {
                Op::Snapshot(id, bids, asks) => reference.snapshot(*id, bids, asks),
                Op::Delta(ids, bids, asks) => reference.delta(*ids, bids, asks),
            };
            prop_assert_eq!(apply(&mut book, op), expected, "op {:?}", op);
            prop_assert_eq!(book.update_id(), reference.update_id);
            for side in [Side::Bid, Side::Ask] {
                prop_assert_eq!(book.top_levels(side, usize::MAX), reference.best_first(side));
            }
            let size = f64::from(probe) / 100.0;
            for taker in [TakerSide::Buy, TakerSide::Sell] {
                let got = book.fill(taker, size).map(|f| (f.filled, f.notional));
                match (got, reference.fill(taker, size)) {
                    (Some(g), Some(r)) => prop_assert!(close(g.0, r.0) && close(g.1, r.1), "{:?} vs {:?}", g, r),
                    (g, r) => prop_assert_eq!(g, r),
                }
            }
            let limit = f64::from(probe) / 100.0 + 990.0;
            let reference_max: f64 = reference.best_first(Side::Ask).iter().filter(|l| l.0 <= limit).map(|l| l.1).sum();
            prop_assert!(close(book.max_fill_size(TakerSide::Buy, limit), reference_max));
        }
    }
}
