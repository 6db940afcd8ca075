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
    let size = text.trim().parse::<f64>().map_err(|_| BookError::InvalidSize {
        value: text.to_string(),
        reason: "not a number",
    })?;
    check_size(size, || text.to_string())?;
    Ok(size)
}

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

/// The levels of one side, sorted ascending by `key` so that the best level is last.
#[derive(Debug, Clone)]
pub struct Ladder {
    side: Side,
    /// `(key, size)`; the key is the price in ticks for bids and its negation for asks.
    levels: Vec<(Ticks, f64)>,
}

impl Ladder {
    /// An empty side.
    pub fn new(side: Side) -> Self {
        Self {
            side,
            levels: Vec::new(),
        }
    }

    /// Sets the size at a price (0 removes it) and returns the size that was there before.
    pub fn set(&mut self, ticks: Ticks, size: f64) -> f64 {
        let key = sort_key(self.side, ticks);
        match self.levels.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(index) if size == 0.0 => self.levels.remove(index).1,
            Ok(index) => std::mem::replace(&mut self.levels[index].1, size),
            Err(index) => {
                if size != 0.0 {
                    self.levels.insert(index, (key, size));
                }
                0.0
            }
        }
    }

    /// Replaces every level (later duplicates win, zero sizes are dropped).
    pub fn replace_all(&mut self, levels: &[Level]) {
        let side = self.side;
        self.levels.clear();
        self.levels
            .extend(levels.iter().map(|level| (sort_key(side, level.ticks), level.size)));
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
    }

    /// The best level, if any.
    pub fn best(&self) -> Option<Level> {
        self.from_best().next()
    }

    /// Levels from the best outwards.
    pub fn from_best(&self) -> impl Iterator<Item = Level> + '_ {
        self.levels.iter().rev().map(|&(key, size)| Level {
            ticks: sort_key(self.side, key),
            size,
        })
    }

    /// Number of price levels.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// True when the side has no levels.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Which side this is.
    pub fn side(&self) -> Side {
        self.side
    }
}
