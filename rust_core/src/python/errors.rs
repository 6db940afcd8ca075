//! The Python exception hierarchy for book integrity errors, all under `BookError`.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::BookError as CoreBookError;

create_exception!(
    arbiter._core,
    BookError,
    PyValueError,
    "An update the book refused; the book is unchanged."
);
create_exception!(
    arbiter._core,
    InvalidPriceError,
    BookError,
    "A price that is not finite, positive and on the book's grid."
);
create_exception!(
    arbiter._core,
    InvalidSizeError,
    BookError,
    "A size that is negative, NaN or infinite."
);
create_exception!(
    arbiter._core,
    CrossedBookError,
    BookError,
    "The update would leave best bid >= best ask."
);
create_exception!(
    arbiter._core,
    StaleUpdateError,
    BookError,
    "The update is not newer than the book (already applied or out of order)."
);
create_exception!(
    arbiter._core,
    SequenceGapError,
    BookError,
    "Updates are missing between the book and this one; resync."
);
create_exception!(
    arbiter._core,
    NotSyncedError,
    BookError,
    "A delta arrived before any snapshot."
);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("BookError", py.get_type::<BookError>())?;
    m.add("InvalidPriceError", py.get_type::<InvalidPriceError>())?;
    m.add("InvalidSizeError", py.get_type::<InvalidSizeError>())?;
    m.add("CrossedBookError", py.get_type::<CrossedBookError>())?;
    m.add("StaleUpdateError", py.get_type::<StaleUpdateError>())?;
    m.add("SequenceGapError", py.get_type::<SequenceGapError>())?;
    m.add("NotSyncedError", py.get_type::<NotSyncedError>())?;
    Ok(())
}

/// The Python exception for a book error, with the Rust error's message.
pub(crate) fn to_py(error: CoreBookError) -> PyErr {
    let message = error.to_string();
    match error {
        CoreBookError::InvalidPrice { .. } => InvalidPriceError::new_err(message),
        CoreBookError::InvalidSize { .. } => InvalidSizeError::new_err(message),
        CoreBookError::Crossed { .. } => CrossedBookError::new_err(message),
        CoreBookError::StaleUpdate { .. } => StaleUpdateError::new_err(message),
        CoreBookError::SequenceGap { .. } => SequenceGapError::new_err(message),
        CoreBookError::NotSynced => NotSyncedError::new_err(message),
    }
}
