//! The live signal: per book, its feature tracker and the model's rows of its last `window`
//! updates; on each update one new row and the readout, once the window is full.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::features::FeatureTracker;
use crate::model::{AttentionModel, Row};
use crate::store::{BookId, BookStore};

#[derive(Debug, Default)]
struct BookSignal {
    tracker: FeatureTracker,
    /// The window's rows, each computed by the model once, when its update arrived.
    window: VecDeque<Row>,
}

/// The model and every book's state.
#[derive(Debug)]
pub struct Signal {
    /// The model in use.
    pub model: AttentionModel,
    books: FxHashMap<BookId, BookSignal>,
    generation: u64,
}

impl Signal {
    /// A signal with no history yet.
    pub fn new(model: AttentionModel) -> Self {
        Self {
            model,
            books: FxHashMap::default(),
            generation: 0,
        }
    }

    /// Takes the update of `(venue, symbol)` in `store`; `twin` is the same instrument on another
    /// venue, for the basis feature. The probabilities of {down, flat, up} over the model's
    /// horizon, or None until the book has a full window.
    pub fn update(
        &mut self,
        store: &BookStore,
        venue: &str,
        symbol: &str,
        twin: Option<(&str, &str)>,
    ) -> Option<[f32; 3]> {
        if store.generation() != self.generation {
            // Book ids were reassigned: start every window again rather than mix books.
            self.books.clear();
            self.generation = store.generation();
        }
        let id = store.id(venue, symbol)?;
        let twin_mid = twin
            .and_then(|(venue, symbol)| store.get(venue, symbol))
            .and_then(|book| book.mid());
        let state = self.books.entry(id).or_default();
        let features = state.tracker.update(store.by_id(id), twin_mid)?;
        if state.window.len() == self.model.config.window {
            state.window.pop_front();
        }
        state.window.push_back(self.model.row(&features));
        if state.window.len() < self.model.config.window {
            return None;
        }
        Some(self.model.readout(state.window.iter()))
    }
}
