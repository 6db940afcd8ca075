//! Reads levels from Python: `[[price, size], ...]` with each value a decimal string (raw
//! exchange JSON) or a number (ccxt).

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::errors::to_py;
use crate::ladder::{size_from_str, Level};
use crate::price::PriceScale;

/// Parses every level into `out` (cleared first); the first bad level raises and `out` is then
/// incomplete, so callers apply nothing.
pub(crate) fn extract_levels(
    scale: PriceScale,
    raw: &Bound<'_, PyAny>,
    out: &mut Vec<Level>,
) -> PyResult<()> {
    out.clear();
    if let Ok(list) = raw.cast::<PyList>() {
        out.reserve(list.len());
        for item in list.iter() {
            out.push(extract_level(scale, &item)?);
        }
    } else {
        for item in raw.try_iter()? {
            out.push(extract_level(scale, &item?)?);
        }
    }
    Ok(())
}

fn extract_level(scale: PriceScale, pair: &Bound<'_, PyAny>) -> PyResult<Level> {
    let (price, size) = if let Ok(list) = pair.cast::<PyList>() {
        (list.get_item(0)?, list.get_item(1)?)
    } else if let Ok(tuple) = pair.cast::<PyTuple>() {
        (tuple.get_item(0)?, tuple.get_item(1)?)
    } else {
        (pair.get_item(0)?, pair.get_item(1)?)
    };
    let ticks = match price.cast::<PyString>() {
        Ok(text) => scale.ticks_from_str(text.to_str()?),
        Err(_) => scale.ticks_from_f64(price.extract()?),
    }
    .map_err(to_py)?;
    let size = match size.cast::<PyString>() {
        Ok(text) => size_from_str(text.to_str()?).map_err(to_py)?,
        Err(_) => size.extract()?,
    };
    Level::new(ticks, size).map_err(to_py)
}
