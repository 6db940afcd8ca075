//! The live signal: per book, its feature tracker and the last `window` feature vectors; on each
//! update, the model's class probabilities once the window is full.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::book::OrderBook;
use crate::features::{FeatureTracker, Features};
use crate::model::AttentionModel;

#[derive(Debug, Default)]
struct BookSignal {
    tracker: FeatureTracker,
    window: VecDeque<Features>,
}

/// The model and every book's state.
#[derive(Debug)]
pub struct Signal {
    /// The model in use.
    pub model: AttentionModel,
    books: FxHashMap<(String, String), BookSignal>,
}

impl Signal {
    /// A signal with no history yet.
    pub fn new(model: AttentionModel) -> Self {
        Self {
            model,
            books: FxHashMap::default(),
        }
    }

    /// Takes `book`'s update; the probabilities of {down, flat, up} over the model's horizon,
    /// or None until the book has a full window.
    pub fn update(
        &mut self,
        venue: &str,
        symbol: &str,
        book: &OrderBook,
        twin_mid: Option<f64>,
    ) -> Option<[f32; 3]> {
        let size = self.model.config.window;
        let state = match self.books.get_mut(&(venue.to_string(), symbol.to_string())) {
            Some(state) => state,
            None => self
                .books
                .entry((venue.to_string(), symbol.to_string()))
                .or_default(),
        };
        let features = state.tracker.update(book, twin_mid)?;
        if state.window.len() == size {
            state.window.pop_front();
        }
        state.window.push_back(features);
        if state.window.len() < size {
            return None;
        }
        Some(self.model.forward(state.window.make_contiguous()))
    }
}
