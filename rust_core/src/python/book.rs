//! `OrderBook` and `Fill` for Python.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::errors::to_py;
use super::levels::extract_levels;
use crate::analysis::{Fill, TakerSide};
use crate::book::{OrderBook, UpdateIds};
use crate::ladder::{Level, Side};
use crate::price::PriceScale;

pub(crate) fn price_scale(decimals: u32) -> PyResult<PriceScale> {
    PriceScale::new(decimals).ok_or_else(|| {
        PyValueError::new_err(format!(
            "price_decimals must be at most {}, got {decimals}",
            PriceScale::MAX_DECIMALS
        ))
    })
}

pub(crate) fn book_side(side: &str) -> PyResult<Side> {
    match side {
        "bid" => Ok(Side::Bid),
        "ask" => Ok(Side::Ask),
        other => Err(PyValueError::new_err(format!(
            "side must be 'bid' or 'ask', got {other:?}"
        ))),
    }
}

fn taker_side(side: &str) -> PyResult<TakerSide> {
    match side {
        "buy" => Ok(TakerSide::Buy),
        "sell" => Ok(TakerSide::Sell),
        other => Err(PyValueError::new_err(format!(
            "side must be 'buy' or 'sell', got {other:?}"
        ))),
    }
}

/// Parses both sides before touching the book, so a bad level changes nothing.
pub(crate) struct LevelBuffers {
    bids: Vec<Level>,
    asks: Vec<Level>,
}

impl LevelBuffers {
    pub(crate) fn new() -> Self {
        Self {
            bids: Vec::new(),
            asks: Vec::new(),
        }
    }

    pub(crate) fn snapshot(
        &mut self,
        book: &mut OrderBook,
        update_id: u64,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        extract_levels(book.scale(), bids, &mut self.bids)?;
        extract_levels(book.scale(), asks, &mut self.asks)?;
        book.apply_snapshot(update_id, &self.bids, &self.asks)
            .map_err(to_py)
    }

    pub(crate) fn delta(
        &mut self,
        book: &mut OrderBook,
        ids: UpdateIds,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        extract_levels(book.scale(), bids, &mut self.bids)?;
        extract_levels(book.scale(), asks, &mut self.asks)?;
        book.apply_delta(ids, &self.bids, &self.asks).map_err(to_py)
    }
}

/// An L2 order book with exact price keys.
#[pyclass(name = "OrderBook", module = "arbiter._core")]
pub(crate) struct PyOrderBook {
    pub(crate) book: OrderBook,
    buffers: LevelBuffers,
}

impl PyOrderBook {
    pub(crate) fn wrap(book: OrderBook) -> Self {
        Self {
            book,
            buffers: LevelBuffers::new(),
        }
    }
}

#[pymethods]
impl PyOrderBook {
    #[new]
    #[pyo3(signature = (price_decimals = 8))] // PriceScale::DEFAULT_DECIMALS, spelled out for Python signatures
    fn new(price_decimals: u32) -> PyResult<Self> {
        Ok(Self::wrap(OrderBook::new(price_scale(price_decimals)?)))
    }

    fn apply_snapshot(
        &mut self,
        update_id: u64,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.buffers.snapshot(&mut self.book, update_id, bids, asks)
    }

    #[pyo3(signature = (first_id, last_id, bids, asks, prev_last_id = None))]
    fn apply_delta(
        &mut self,
        first_id: u64,
        last_id: u64,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        prev_last_id: Option<u64>,
    ) -> PyResult<()> {
        let ids = UpdateIds {
            first: first_id,
            last: last_id,
            prev_last: prev_last_id,
        };
        self.buffers.delta(&mut self.book, ids, bids, asks)
    }

    fn clear(&mut self) {
        self.book.clear();
    }

    #[getter]
    fn update_id(&self) -> u64 {
        self.book.update_id()
    }

    #[getter]
    fn synced(&self) -> bool {
        self.book.is_synced()
    }

    #[getter]
    fn price_decimals(&self) -> u32 {
        self.book.scale().decimals()
    }

    fn level_count(&self, side: &str) -> PyResult<usize> {
        Ok(self.book.ladder(book_side(side)?).len())
    }

    fn best_bid(&self) -> Option<(f64, f64)> {
        self.book.best(Side::Bid)
    }

    fn best_ask(&self) -> Option<(f64, f64)> {
        self.book.best(Side::Ask)
    }

    fn mid(&self) -> Option<f64> {
        self.book.mid()
    }

    fn spread_bps(&self) -> Option<f64> {
        self.book.spread_bps()
    }

    fn microprice(&self) -> Option<f64> {
        self.book.microprice()
    }

    #[pyo3(signature = (levels = 5))]
    fn imbalance(&self, levels: usize) -> Option<f64> {
        self.book.imbalance(levels)
    }

    fn depth_within_bps(&self, side: &str, bps: f64) -> PyResult<Option<f64>> {
        Ok(self.book.depth_within_bps(book_side(side)?, bps))
    }

    fn fill(&self, side: &str, size: f64) -> PyResult<Option<PyFill>> {
        Ok(self.book.fill(taker_side(side)?, size).map(PyFill))
    }

    fn max_fill_size(&self, side: &str, limit_price: f64) -> PyResult<f64> {
        Ok(self.book.max_fill_size(taker_side(side)?, limit_price))
    }

    fn levels(&self, side: &str, n: usize) -> PyResult<Vec<[f64; 2]>> {
        let top = self.book.top_levels(book_side(side)?, n);
        Ok(top.into_iter().map(|(price, size)| [price, size]).collect())
    }

    fn __repr__(&self) -> String {
        format!(
            "OrderBook(update_id={}, bids={}, asks={}, best_bid={}, best_ask={})",
            self.book.update_id(),
            self.book.ladder(Side::Bid).len(),
            self.book.ladder(Side::Ask).len(),
            python_repr(self.book.best(Side::Bid)),
            python_repr(self.book.best(Side::Ask)),
        )
    }
}

fn python_repr(level: Option<(f64, f64)>) -> String {
    level.map_or_else(
        || "None".to_string(),
        |(price, size)| format!("({price}, {size})"),
    )
}

/// What walking the book to take a size would give.
#[pyclass(name = "Fill", module = "arbiter._core", frozen)]
pub(crate) struct PyFill(Fill);

#[pymethods]
impl PyFill {
    #[getter]
    fn filled(&self) -> f64 {
        self.0.filled
    }

    #[getter]
    fn notional(&self) -> f64 {
        self.0.notional
    }

    #[getter]
    fn vwap(&self) -> f64 {
        self.0.vwap
    }

    #[getter]
    fn worst_price(&self) -> f64 {
        self.0.worst_price
    }

    fn __repr__(&self) -> String {
        format!(
            "Fill(filled={}, notional={}, vwap={}, worst_price={})",
            self.0.filled, self.0.notional, self.0.vwap, self.0.worst_price
        )
    }
}
