//! Every book the daemon keeps, keyed by venue and symbol, so one call routes an exchange
//! update to its book.

use rustc_hash::FxHashMap;

use crate::book::OrderBook;
use crate::price::PriceScale;

/// A book's slot in the store; stable for as long as the book is not removed.
pub type BookId = usize;

/// Books keyed by `(venue, symbol)`.
#[derive(Debug, Default, Clone)]
pub struct BookStore {
    books: Vec<OrderBook>,
    // Nested maps let lookups borrow `&str` keys instead of allocating a tuple of Strings on
    // every update; Fx hashing because the keys are short and not attacker-chosen.
    index: FxHashMap<String, FxHashMap<String, BookId>>,
    /// Bumped whenever a book is removed, so holders of ids know to look them up again.
    generation: u64,
}

impl BookStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of the book for `(venue, symbol)`, if one exists.
    pub fn id(&self, venue: &str, symbol: &str) -> Option<BookId> {
        self.index.get(venue)?.get(symbol).copied()
    }

    /// The book behind an id from [`BookStore::id`] (of the current generation).
    pub fn by_id(&self, id: BookId) -> &OrderBook {
        &self.books[id]
    }

    /// Changes whenever ids may have gone stale.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The book for `(venue, symbol)`, if one exists.
    pub fn get(&self, venue: &str, symbol: &str) -> Option<&OrderBook> {
        self.id(venue, symbol).map(|id| &self.books[id])
    }

    /// The book for `(venue, symbol)`, mutably, if one exists.
    pub fn get_mut(&mut self, venue: &str, symbol: &str) -> Option<&mut OrderBook> {
        let id = self.id(venue, symbol)?;
        Some(&mut self.books[id])
    }

    /// The book for `(venue, symbol)`, created empty with `scale` when missing.
    pub fn get_or_create(
        &mut self,
        venue: &str,
        symbol: &str,
        scale: PriceScale,
    ) -> &mut OrderBook {
        let id = match self.id(venue, symbol) {
            Some(id) => id,
            None => {
                self.books.push(OrderBook::new(scale));
                let id = self.books.len() - 1;
                self.index
                    .entry(venue.to_string())
                    .or_default()
                    .insert(symbol.to_string(), id);
                id
            }
        };
        &mut self.books[id]
    }

    /// Removes a book; returns it if it existed. Its slot stays behind, empty, so other ids
    /// keep their meaning.
    pub fn remove(&mut self, venue: &str, symbol: &str) -> Option<OrderBook> {
        let books = self.index.get_mut(venue)?;
        let id = books.remove(symbol)?;
        if books.is_empty() {
            self.index.remove(venue);
        }
        self.generation += 1;
        let scale = self.books[id].scale();
        Some(std::mem::replace(
            &mut self.books[id],
            OrderBook::new(scale),
        ))
    }

    /// Every `(venue, symbol)` held, sorted.
    pub fn keys(&self) -> Vec<(String, String)> {
        let mut keys: Vec<_> = self
            .index
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
        self.index.values().map(FxHashMap::len).sum()
    }

    /// True when no book is held.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}
