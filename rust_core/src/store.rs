//! Every book the daemon keeps, keyed by venue and symbol, so one call routes an exchange
//! update to its book.

use rustc_hash::FxHashMap;

use crate::book::OrderBook;
use crate::price::PriceScale;

/// Books keyed by `(venue, symbol)`.
#[derive(Debug, Default, Clone)]
pub struct BookStore {
    // Nested maps let lookups borrow `&str` keys instead of allocating a tuple of Strings on
    // every update; Fx hashing because the keys are short and not attacker-chosen.
    venues: FxHashMap<String, FxHashMap<String, OrderBook>>,
}

impl BookStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The book for `(venue, symbol)`, if one exists.
    pub fn get(&self, venue: &str, symbol: &str) -> Option<&OrderBook> {
        self.venues.get(venue)?.get(symbol)
    }

    /// The book for `(venue, symbol)`, mutably, if one exists.
    pub fn get_mut(&mut self, venue: &str, symbol: &str) -> Option<&mut OrderBook> {
        self.venues.get_mut(venue)?.get_mut(symbol)
    }

    /// The book for `(venue, symbol)`, created empty with `scale` when missing.
    pub fn get_or_create(
        &mut self,
        venue: &str,
        symbol: &str,
        scale: PriceScale,
    ) -> &mut OrderBook {
        self.venues
            .entry(venue.to_string())
            .or_default()
            .entry(symbol.to_string())
            .or_insert_with(|| OrderBook::new(scale))
    }

    /// Removes a book; returns it if it existed.
    pub fn remove(&mut self, venue: &str, symbol: &str) -> Option<OrderBook> {
        let books = self.venues.get_mut(venue)?;
        let removed = books.remove(symbol);
        if books.is_empty() {
            self.venues.remove(venue);
        }
        removed
    }

    /// Every `(venue, symbol)` held, sorted.
    pub fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = self
            .venues
            .iter()
            .flat_map(|(venue, books)| {
                books
                    .keys()
                    .map(move |symbol| (venue.clone(), symbol.clone()))
            })
            .collect();
        keys.sort();
        keys
    }

    /// Number of books.
    pub fn len(&self) -> usize {
        self.venues.values().map(FxHashMap::len).sum()
    }

    /// True when no book is held.
    pub fn is_empty(&self) -> bool {
        self.venues.is_empty()
    }
}
