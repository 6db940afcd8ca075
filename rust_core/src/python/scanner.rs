//! `Scanner` and `Opportunity` for Python.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::store::PyBookStore;
use crate::analysis::TakerSide;
use crate::arb::Leg;
use crate::scanner::{Opportunity, ScanKind, Scanner};

/// One leg of an opportunity.
#[pyclass(name = "OpportunityLeg", module = "arbiter._core", frozen, get_all)]
pub(crate) struct PyLeg {
    venue: Py<PyString>,
    symbol: Py<PyString>,
    side: &'static str,
    base: f64,
    quote: f64,
    vwap: f64,
    worst_price: f64,
}

/// An opportunity a scan found, with its lifetime.
#[pyclass(name = "Opportunity", module = "arbiter._core", frozen)]
pub(crate) struct PyOpportunity {
    #[pyo3(get)]
    kind: &'static str,
    #[pyo3(get)]
    key: Py<PyString>,
    /// Venue, symbol and leg; leg objects are built only when asked for.
    raw_legs: Vec<(Py<PyString>, Py<PyString>, Leg)>,
    #[pyo3(get)]
    profit: f64,
    #[pyo3(get)]
    profit_bps: f64,
    #[pyo3(get)]
    first_seen_ms: i64,
    #[pyo3(get)]
    last_seen_ms: i64,
    #[pyo3(get)]
    persistence_ms: i64,
    #[pyo3(get)]
    peak_profit: f64,
}

#[pymethods]
impl PyOpportunity {
    #[getter]
    fn legs(&self, py: Python<'_>) -> PyResult<Vec<Py<PyLeg>>> {
        self.raw_legs
            .iter()
            .map(|(venue, symbol, leg)| {
                let side = match leg.side {
                    TakerSide::Buy => "buy",
                    TakerSide::Sell => "sell",
                };
                let leg = PyLeg {
                    venue: venue.clone_ref(py),
                    symbol: symbol.clone_ref(py),
                    side,
                    base: leg.base,
                    quote: leg.quote,
                    vwap: leg.vwap,
                    worst_price: leg.worst_price,
                };
                Py::new(py, leg)
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "Opportunity({}, profit={:.6}, profit_bps={:.2}, persistence_ms={})",
            self.key, self.profit, self.profit_bps, self.persistence_ms
        )
    }
}

/// A scan's names as Python strings, made once, so a result costs reference counts, not copies.
struct ScanNames {
    kind: &'static str,
    key: Py<PyString>,
    books: Vec<(Py<PyString>, Py<PyString>)>,
}

/// Arbitrage scans over a `BookStore`, re-evaluated per book update.
#[pyclass(name = "Scanner", module = "arbiter._core")]
pub(crate) struct PyScanner {
    inner: Scanner,
    names: Vec<ScanNames>,
}

#[pymethods]
impl PyScanner {
    #[new]
    #[pyo3(signature = (slippage_bps = 0.0))]
    fn new(slippage_bps: f64) -> Self {
        Self {
            inner: Scanner::new(slippage_bps),
            names: Vec::new(),
        }
    }

    fn set_fee(&mut self, venue: &str, fee: f64) {
        self.inner.set_fee(venue, fee);
    }

    fn set_inventory(&mut self, venue: &str, asset: &str, amount: f64) {
        self.inner.set_inventory(venue, asset, amount);
    }

    fn add_cross_group(&mut self, members: Vec<(String, String)>) {
        self.inner.add_cross_group(&members);
    }

    fn add_triangles(
        &mut self,
        venue: &str,
        currencies: Vec<String>,
        symbols: Vec<String>,
        max_start: f64,
    ) {
        self.inner
            .add_triangles(venue, &currencies, &symbols, max_start);
    }

    fn add_peg(&mut self, venue: &str, symbol: &str) {
        self.inner.add_peg(venue, symbol);
    }

    #[getter]
    fn scan_count(&self) -> usize {
        self.inner.scans().len()
    }

    /// The opportunities among the scans that read `(venue, symbol)`, after its update.
    fn on_update(
        &mut self,
        py: Python<'_>,
        store: PyRef<'_, PyBookStore>,
        venue: &str,
        symbol: &str,
        now_ms: i64,
    ) -> Vec<PyOpportunity> {
        let found = self.inner.on_update(store.inner(), venue, symbol, now_ms);
        self.convert_all(py, found)
    }

    /// The opportunities among all scans.
    fn scan_all(
        &mut self,
        py: Python<'_>,
        store: PyRef<'_, PyBookStore>,
        now_ms: i64,
    ) -> Vec<PyOpportunity> {
        let found = self.inner.scan_all(store.inner(), now_ms);
        self.convert_all(py, found)
    }
}

impl PyScanner {
    fn convert_all(&mut self, py: Python<'_>, found: Vec<Opportunity>) -> Vec<PyOpportunity> {
        for scan in &self.inner.scans()[self.names.len()..] {
            let kind = match scan.kind {
                ScanKind::Cross => "cross",
                ScanKind::Triangle { .. } => "triangle",
                ScanKind::Peg => "peg",
            };
            let books = scan
                .books
                .iter()
                .map(|(venue, symbol)| {
                    (
                        PyString::new(py, venue).unbind(),
                        PyString::new(py, symbol).unbind(),
                    )
                })
                .collect();
            self.names.push(ScanNames {
                kind,
                key: PyString::new(py, &scan.key).unbind(),
                books,
            });
        }
        found
            .into_iter()
            .map(|opportunity| self.convert(py, opportunity))
            .collect()
    }

    fn convert(&self, py: Python<'_>, opportunity: Opportunity) -> PyOpportunity {
        let names = &self.names[opportunity.scan];
        let raw_legs = opportunity
            .found
            .legs
            .into_iter()
            .map(|leg| {
                let (venue, symbol) = &names.books[leg.book];
                (venue.clone_ref(py), symbol.clone_ref(py), leg)
            })
            .collect();
        PyOpportunity {
            kind: names.kind,
            key: names.key.clone_ref(py),
            raw_legs,
            profit: opportunity.found.profit,
            profit_bps: opportunity.found.profit_bps,
            first_seen_ms: opportunity.lifetime.first_seen_ms,
            last_seen_ms: opportunity.lifetime.last_seen_ms,
            persistence_ms: opportunity.lifetime.persistence_ms(),
            peak_profit: opportunity.lifetime.peak_profit,
        }
    }
}
