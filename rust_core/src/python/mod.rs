//! PyO3 bindings: convert Python values, call the pure Rust modules, convert results back.

mod book;
mod errors;
mod levels;
mod scanner;
mod signal;
mod store;

use pyo3::prelude::*;

/// The `arbiter._core` extension module.
#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<book::PyOrderBook>()?;
    m.add_class::<book::PyFill>()?;
    m.add_class::<store::PyBookStore>()?;
    m.add_class::<scanner::PyScanner>()?;
    m.add_class::<scanner::PyOpportunity>()?;
    m.add_class::<scanner::PyLeg>()?;
    m.add_class::<signal::PyFeatureTracker>()?;
    m.add_class::<signal::PyAttentionModel>()?;
    m.add_class::<signal::PySignal>()?;
    m.add("FEATURES", crate::features::FEATURES.to_vec())?;
    errors::register(m)?;
    Ok(())
}
