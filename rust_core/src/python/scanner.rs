//! `Scanner` and `Opportunity` for Python.

use pyo3::prelude::*;

use super::store::PyBookStore;
use crate::analysis::TakerSide;
use crate::scanner::{Opportunity, ScanKind, Scanner};

/// One leg of an opportunity.
#[pyclass(name = "OpportunityLeg", module = "arbiter._core", frozen, get_all)]
#[derive(Clone)]
pub(crate) struct PyLeg {
    venue: String,
    symbol: String,
    side: &'static str,
    base: f64,
    quote: f64,
    vwap: f64,
    worst_price: f64,
}

/// An opportunity a scan found, with its lifetime.
#[pyclass(name = "Opportunity", module = "arbiter._core", frozen, get_all)]
pub(crate) struct PyOpportunity {
    kind: &'static str,
    key: String,
    legs: Vec<PyLeg>,
    profit: f64,
    profit_bps: f64,
    first_seen_ms: i64,
    last_seen_ms: i64,
    persistence_ms: i64,
    peak_profit: f64,
}

#[pymethods]
impl PyOpportunity {
    fn __repr__(&self) -> String {
        format!(
            "Opportunity({}, profit={:.6}, profit_bps={:.2}, persistence_ms={})",
            self.key, self.profit, self.profit_bps, self.persistence_ms
        )
    }
}

/// Arbitrage scans over a `BookStore`, re-evaluated per book update.
#[pyclass(name = "Scanner", module = "arbiter._core")]
pub(crate) struct PyScanner(Scanner);

#[pymethods]
impl PyScanner {
    #[new]
    #[pyo3(signature = (slippage_bps = 0.0))]
    fn new(slippage_bps: f64) -> Self {
        Self(Scanner::new(slippage_bps))
    }

    fn set_fee(&mut self, venue: &str, fee: f64) {
        self.0.set_fee(venue, fee);
    }

    fn set_inventory(&mut self, venue: &str, asset: &str, amount: f64) {
        self.0.set_inventory(venue, asset, amount);
    }

    fn add_cross_group(&mut self, members: Vec<(String, String)>) {
        self.0.add_cross_group(&members);
    }

    fn add_triangles(
        &mut self,
        venue: &str,
        currencies: Vec<String>,
        symbols: Vec<String>,
        max_start: f64,
    ) {
        self.0
            .add_triangles(venue, &currencies, &symbols, max_start);
    }

    fn add_peg(&mut self, venue: &str, symbol: &str) {
        self.0.add_peg(venue, symbol);
    }

    #[getter]
    fn scan_count(&self) -> usize {
        self.0.scans().len()
    }

    /// The opportunities among the scans that read `(venue, symbol)`, after its update.
    fn on_update(
        &mut self,
        store: PyRef<'_, PyBookStore>,
        venue: &str,
        symbol: &str,
        now_ms: i64,
    ) -> Vec<PyOpportunity> {
        let found = self.0.on_update(store.inner(), venue, symbol, now_ms);
        found.into_iter().map(|o| self.convert(o)).collect()
    }

    /// The opportunities among all scans.
    fn scan_all(&mut self, store: PyRef<'_, PyBookStore>, now_ms: i64) -> Vec<PyOpportunity> {
        let found = self.0.scan_all(store.inner(), now_ms);
        found.into_iter().map(|o| self.convert(o)).collect()
    }
}

impl PyScanner {
    fn convert(&self, opportunity: Opportunity) -> PyOpportunity {
        let scan = &self.0.scans()[opportunity.scan];
        let kind = match scan.kind {
            ScanKind::Cross => "cross",
            ScanKind::Triangle { .. } => "triangle",
            ScanKind::Peg => "peg",
        };
        let legs = opportunity
            .found
            .legs
            .iter()
            .map(|leg| {
                let (venue, symbol) = scan.books[leg.book].clone();
                let side = match leg.side {
                    TakerSide::Buy => "buy",
                    TakerSide::Sell => "sell",
                };
                PyLeg {
                    venue,
                    symbol,
                    side,
                    base: leg.base,
                    quote: leg.quote,
                    vwap: leg.vwap,
                    worst_price: leg.worst_price,
                }
            })
            .collect();
        PyOpportunity {
            kind,
            key: scan.key.clone(),
            legs,
            profit: opportunity.found.profit,
            profit_bps: opportunity.found.profit_bps,
            first_seen_ms: opportunity.lifetime.first_seen_ms,
            last_seen_ms: opportunity.lifetime.last_seen_ms,
            persistence_ms: opportunity.lifetime.persistence_ms(),
            peak_profit: opportunity.lifetime.peak_profit,
        }
    }
}
