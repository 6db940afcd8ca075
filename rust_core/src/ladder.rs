//! One side of a book: price levels in a sorted vector with the best level last.
//!
//! Almost all exchange updates touch the top of the book, so keeping the best level at the end
//! makes inserts and removals there move only a few elements, and lookups are a binary search
//! over contiguous memory.

use crate::error::BookError;
use crate::price::Ticks;

/// Which side of the book a level rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buyers' resting orders; best is the highest price.
    Bid,
    /// Sellers' resting orders; best is the lowest price.
    Ask,
}

/// A validated price level: positive price in ticks, finite non-negative size (0 means remove).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub(crate) ticks: Ticks,
    pub(crate) size: f64,
}

impl Level {
    /// A level at a positive price in ticks with a finite, non-negative size.
    pub fn new(ticks: Ticks, size: f64) -> Result<Self, BookError> {
        if ticks <= 0 {
            return Err(BookError::InvalidPrice {
                value: ticks.to_string(),
                reason: "not positive",
            });
        }
        check_size(size, || size.to_string())?;
        Ok(Self { ticks, size })
    }

    /// Price in ticks of the book's scale.
    pub fn ticks(&self) -> Ticks {
        self.ticks
    }

    /// Size in base units.
    pub fn size(&self) -> f64 {
        self.size
    }
}

/// Parses a size sent as a decimal string; refuses negative, NaN and infinite sizes.
pub fn size_from_str(text: &str) -> Result<f64, BookError> {
    let size = match exact_small_decimal(text) {
        Some(size) => size,
        None => text
            .trim()
            .parse::<f64>()
            .map_err(|_| BookError::InvalidSize {
                value: text.to_string(),
                reason: "not a number",
            })?,
    };
    check_size(size, || text.to_string())?;
    Ok(size)
}

/// Fast path for what exchanges send ("1.54698000"): with at most 15 significant digits the
/// digits and the power of ten are both exact in f64, so their quotient is the correctly
/// rounded value, the same that `str::parse` gives.
fn exact_small_decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || fraction.len() > 22 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut significant = 0;
    for byte in whole.bytes().chain(fraction.bytes()) {
        if !byte.is_ascii_digit() {
            return None;
        }
        mantissa = mantissa * 10 + u64::from(byte - b'0');
        significant += usize::from(mantissa != 0);
        if significant > 15 {
            return None;
        }
    }
    Some(mantissa as f64 / POWERS_OF_TEN[fraction.len()])
}

/// 10^0 ..= 10^22, every one exact in f64.
const POWERS_OF_TEN: [f64; 23] = {
    let mut powers = [1.0; 23];
    let mut i = 1;
    while i < 23 {
        powers[i] = powers[i - 1] * 10.0;
        i += 1;
    }
    powers
};

fn check_size(size: f64, shown: impl Fn() -> String) -> Result<(), BookError> {
    let reason = if !size.is_finite() {
        "not a finite number"
    } else if size < 0.0 {
        "negative"
    } else {
        return Ok(());
    };
    Err(BookError::InvalidSize {
        value: shown(),
        reason,
    })
}

/// Sort key that puts the best price last on either side (asks are keyed by negated ticks).
fn sort_key(side: Side, ticks: Ticks) -> Ticks {
    match side {
        Side::Bid => ticks,
        Side::Ask => -ticks,
    }
}

/// The levels of one side, sorted ascending by key so that the best level is last.
///
/// A removed level stays behind as a zero-size tombstone: removing it would shift every level
/// between it and the best, and the price often comes back soon. An insert next to a tombstone
/// takes its place, moving only the levels in between. Tombstones at the top are popped at once
/// (so the best level is found in O(1)) and the rest are compacted away once they outnumber the
/// live levels.
#[derive(Debug, Clone)]
pub struct Ladder {
    side: Side,
    /// `(key, size)`; the key is the price in ticks for bids and its negation for asks.
    levels: Vec<(Ticks, f64)>,
    live: usize,
}

impl Ladder {
    /// An empty side.
    pub fn new(side: Side) -> Self {
        Self {
            side,
            levels: Vec::new(),
            live: 0,
        }
    }

    /// Sets the size at a price (0 removes it) and returns the size that was there before.
    pub fn set(&mut self, ticks: Ticks, size: f64) -> f64 {
        let key = sort_key(self.side, ticks);
        match self.levels.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(index) => {
                let before = std::mem::replace(&mut self.levels[index].1, size);
                match (before == 0.0, size == 0.0) {
                    (true, false) => self.live += 1,
                    (false, true) => {
                        self.live -= 1;
                        self.drop_tombstones();
                    }
                    _ => {}
                }
                before
            }
            Err(index) => {
                if size != 0.0 {
                    self.insert_before(index, (key, size));
                    self.live += 1;
                }
                0.0
            }
        }
    }

    /// Inserts at `index`, moving only the levels up to a nearby tombstone when there is one
    /// instead of every level above.
    fn insert_before(&mut self, index: usize, level: (Ticks, f64)) {
        const REACH: usize = 16;
        let is_tombstone = |&(_, size): &(Ticks, f64)| size == 0.0;
        let low = index.saturating_sub(REACH);
        if let Some(offset) = self.levels[low..index].iter().rposition(is_tombstone) {
            let free = low + offset;
            self.levels.copy_within(free + 1..index, free);
            self.levels[index - 1] = level;
            return;
        }
        let high = (index + REACH).min(self.levels.len());
        if let Some(offset) = self.levels[index..high].iter().position(is_tombstone) {
            let free = index + offset;
            self.levels.copy_within(index..free, index + 1);
            self.levels[index] = level;
            return;
        }
        self.levels.insert(index, level);
    }

    fn drop_tombstones(&mut self) {
        while matches!(self.levels.last(), Some(&(_, size)) if size == 0.0) {
            self.levels.pop();
        }
        if self.levels.len() > 2 * self.live + 64 {
            self.levels.retain(|&(_, size)| size != 0.0);
        }
    }

    /// Replaces every level (later duplicates win, zero sizes are dropped).
    pub fn replace_all(&mut self, levels: &[Level]) {
        let side = self.side;
        self.levels.clear();
        self.levels.extend(
            levels
                .iter()
                .map(|level| (sort_key(side, level.ticks), level.size)),
        );
        // A stable sort keeps equal prices in arrival order, so keeping the last of each run
        // gives "later duplicates win".
        self.levels.sort_by_key(|&(key, _)| key);
        self.levels.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                *earlier = *later;
            }
            same
        });
        self.levels.retain(|&(_, size)| size != 0.0);
        self.live = self.levels.len();
    }

    /// The best level, if any.
    pub fn best(&self) -> Option<Level> {
        self.best_first().next()
    }

    /// Levels from the best outwards.
    pub fn best_first(&self) -> impl Iterator<Item = Level> + '_ {
        self.levels
            .iter()
            .rev()
            .filter(|&&(_, size)| size != 0.0)
            .map(|&(key, size)| Level {
                ticks: sort_key(self.side, key),
                size,
            })
    }

    /// Number of price levels.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when the side has no levels.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Which side this is.
    pub fn side(&self) -> Side {
        self.side
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_size_parse_equals_std(whole in 0u64..1_000_000, fraction in 0u64..100_000_000, digits in 0usize..12) {
            let text = if digits == 0 { whole.to_string() } else { format!("{whole}.{fraction:0digits$}") };
            prop_assert_eq!(size_from_str(&text).unwrap(), text.parse::<f64>().unwrap());
        }
    }

    #[test]
    fn sizes_outside_the_fast_path_still_parse() {
        assert_eq!(size_from_str("1e-3").unwrap(), 0.001);
        assert_eq!(size_from_str(" 2.5 ").unwrap(), 2.5);
        assert_eq!(
            size_from_str("12345678901234567890.5").unwrap(),
            12345678901234567890.5
        );
        assert!(size_from_str("-1").is_err());
        assert!(size_from_str(".").is_err());
    }
}
