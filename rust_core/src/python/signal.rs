//! The attention signal for Python: the feature tracker (for training windows), the model (for
//! checks and reports) and the live signal.

use std::collections::HashMap;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

use super::store::PyBookStore;
use crate::features::{FeatureTracker, Features, FEATURE_COUNT};
use crate::model::AttentionModel;
use crate::signal::Signal;

/// One book's features, updated as the book is.
#[pyclass(name = "FeatureTracker", module = "arbiter._core")]
pub(crate) struct PyFeatureTracker {
    inner: FeatureTracker,
}

#[pymethods]
impl PyFeatureTracker {
    #[new]
    fn new() -> Self {
        Self {
            inner: FeatureTracker::new(),
        }
    }

    /// The feature vector after an update of the book, or None if it has no two-sided top.
    #[pyo3(signature = (store, venue, symbol, twin_mid = None))]
    fn update(
        &mut self,
        store: PyRef<'_, PyBookStore>,
        venue: &str,
        symbol: &str,
        twin_mid: Option<f64>,
    ) -> Option<Vec<f32>> {
        let book = store.inner().get(venue, symbol)?;
        self.inner.update(book, twin_mid).map(|f| f.to_vec())
    }
}

fn load(path: &str) -> PyResult<AttentionModel> {
    let bytes =
        std::fs::read(path).map_err(|error| PyOSError::new_err(format!("{path}: {error}")))?;
    AttentionModel::from_bytes(&bytes)
        .map_err(|error| PyValueError::new_err(format!("{path}: {error}")))
}

/// A model loaded from a safetensors weights file.
#[pyclass(name = "AttentionModel", module = "arbiter._core", frozen)]
pub(crate) struct PyAttentionModel {
    inner: AttentionModel,
}

#[pymethods]
impl PyAttentionModel {
    /// Loads and checks a weights file: OSError if unreadable, ValueError naming what does not
    /// match this build.
    #[staticmethod]
    fn load(path: &str) -> PyResult<Self> {
        Ok(Self { inner: load(path)? })
    }

    /// Sizes and training facts from the file's metadata.
    #[getter]
    fn metadata(&self) -> HashMap<String, String> {
        self.inner.metadata.clone()
    }

    #[getter]
    fn window(&self) -> usize {
        self.inner.config.window
    }

    #[getter]
    fn horizon(&self) -> usize {
        self.inner.config.horizon
    }

    /// Probabilities of (down, flat, up) for a window of raw feature vectors, oldest first.
    fn forward(&self, window: Vec<Vec<f32>>) -> PyResult<(f32, f32, f32)> {
        if window.len() != self.inner.config.window {
            return Err(PyValueError::new_err(format!(
                "a window of {} feature vectors, not {}",
                self.inner.config.window,
                window.len()
            )));
        }
        let rows = window
            .iter()
            .map(|row| Features::try_from(row.as_slice()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| PyValueError::new_err(format!("{FEATURE_COUNT} features per row")))?;
        let [down, flat, up] = self.inner.forward(&rows);
        Ok((down, flat, up))
    }
}

/// The live signal: every book's features and window, and the model.
#[pyclass(name = "Signal", module = "arbiter._core")]
pub(crate) struct PySignal {
    inner: Signal,
}

#[pymethods]
impl PySignal {
    /// The signal of the model in a weights file (errors as `AttentionModel.load`).
    #[new]
    fn new(path: &str) -> PyResult<Self> {
        Ok(Self {
            inner: Signal::new(load(path)?),
        })
    }

    /// After an update of a book: (down, flat, up) probabilities, or None until its window is
    /// full (or the book has no two-sided top). `twin` is (venue, symbol) of the same instrument
    /// elsewhere, for the basis feature.
    #[pyo3(signature = (store, venue, symbol, twin = None))]
    fn update(
        &mut self,
        store: PyRef<'_, PyBookStore>,
        venue: &str,
        symbol: &str,
        twin: Option<(String, String)>,
    ) -> Option<(f32, f32, f32)> {
        let twin = twin.as_ref().map(|(v, s)| (v.as_str(), s.as_str()));
        let [down, flat, up] = self.inner.update(store.inner(), venue, symbol, twin)?;
        Some((down, flat, up))
    }
}
