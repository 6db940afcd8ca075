//! `BookStore` for Python: one call per exchange update, routed by (venue, symbol).

use pyo3::prelude::*;

use super::book::{price_scale, LevelBuffers, PyOrderBook};
use super::errors::to_py;
use crate::book::UpdateIds;
use crate::error::BookError;
use crate::ladder::Side;
use crate::price::PriceScale;
use crate::store::BookStore;

/// Every book the daemon keeps, keyed by (venue, symbol).
#[pyclass(name = "BookStore", module = "arbiter._core")]
pub(crate) struct PyBookStore {
    store: BookStore,
    default_scale: PriceScale,
    buffers: LevelBuffers,
}

impl PyBookStore {
    pub(crate) fn inner(&self) -> &BookStore {
        &self.store
    }
}

#[pymethods]
impl PyBookStore {
    #[new]
    #[pyo3(signature = (price_decimals = 8))] // PriceScale::DEFAULT_DECIMALS, spelled out for Python signatures
    fn new(price_decimals: u32) -> PyResult<Self> {
        Ok(Self {
            store: BookStore::new(),
            default_scale: price_scale(price_decimals)?,
            buffers: LevelBuffers::new(),
        })
    }

    /// Replaces a book with a snapshot, creating the book (at `price_decimals`, else the store's
    /// default) if it is new.
    #[pyo3(signature = (venue, symbol, update_id, bids, asks, price_decimals = None))]
    fn apply_snapshot(
        &mut self,
        venue: &str,
        symbol: &str,
        update_id: u64,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        price_decimals: Option<u32>,
    ) -> PyResult<()> {
        let scale = match price_decimals {
            Some(decimals) => price_scale(decimals)?,
            None => self.default_scale,
        };
        let book = self.store.get_or_create(venue, symbol, scale);
        self.buffers.snapshot(book, update_id, bids, asks)
    }

    #[pyo3(signature = (venue, symbol, first_id, last_id, bids, asks, prev_last_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn apply_delta(
        &mut self,
        venue: &str,
        symbol: &str,
        first_id: u64,
        last_id: u64,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        prev_last_id: Option<u64>,
    ) -> PyResult<()> {
        let book = self
            .store
            .get_mut(venue, symbol)
            .ok_or_else(|| to_py(BookError::NotSynced))?;
        let ids = UpdateIds {
            first: first_id,
            last: last_id,
            prev_last: prev_last_id,
        };
        self.buffers.delta(book, ids, bids, asks)
    }

    /// `(best_bid, best_ask)` of one book, each `(price, size)` or None.
    #[allow(clippy::type_complexity)]
    fn top_of_book(&self, venue: &str, symbol: &str) -> (Option<(f64, f64)>, Option<(f64, f64)>) {
        self.store.get(venue, symbol).map_or((None, None), |book| {
            (book.best(Side::Bid), book.best(Side::Ask))
        })
    }

    /// An independent copy of one book (later updates to the store do not change it).
    fn copy_book(&self, venue: &str, symbol: &str) -> Option<PyOrderBook> {
        self.store
            .get(venue, symbol)
            .cloned()
            .map(PyOrderBook::wrap)
    }

    /// Empties one book so the next snapshot resynchronises it; False if there is no such book.
    fn clear_book(&mut self, venue: &str, symbol: &str) -> bool {
        self.store
            .get_mut(venue, symbol)
            .map(|book| book.clear())
            .is_some()
    }

    fn remove(&mut self, venue: &str, symbol: &str) -> bool {
        self.store.remove(venue, symbol).is_some()
    }

    fn keys(&self) -> Vec<(String, String)> {
        self.store.keys()
    }

    fn __len__(&self) -> usize {
        self.store.len()
    }

    fn __contains__(&self, key: (String, String)) -> bool {
        self.store.get(&key.0, &key.1).is_some()
    }
}
