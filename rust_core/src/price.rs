//! Exact price keys: decimal strings and floats mapped to integer ticks of a fixed decimal scale.
//!
//! Exchanges send prices as decimal strings; "61837.64" and "61837.64000000" must land on the
//! same level. Floats cannot promise that, so a level is keyed by an integer count of
//! `10^-decimals` units. Strings are parsed exactly (digits finer than the scale must be zeros);
//! floats (what ccxt hands over) are rounded to the nearest tick.

use crate::error::BookError;

/// Integer price in units of `10^-decimals` of the quote currency.
pub type Ticks = i64;

/// Largest tick count a float converts exactly (2^53).
const MAX_EXACT_TICKS: f64 = 9_007_199_254_740_992.0;

/// The fixed decimal scale of one book's prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceScale {
    decimals: u32,
    per_unit: f64,
}

impl PriceScale {
    /// Eight decimals covers every Binance market and keeps BTC prices far inside `i64`.
    pub const DEFAULT_DECIMALS: u32 = 8;
    /// More decimals than this would leave too little integer range for real prices.
    pub const MAX_DECIMALS: u32 = 12;

    /// A scale of `decimals` digits after the point, or `None` when above [`Self::MAX_DECIMALS`].
    pub fn new(decimals: u32) -> Option<Self> {
        (decimals <= Self::MAX_DECIMALS).then(|| Self {
            decimals,
            per_unit: 10f64.powi(decimals as i32),
        })
    }

    /// Digits after the decimal point.
    pub fn decimals(&self) -> u32 {
        self.decimals
    }

    /// Ticks back to a float price (for queries and display).
    pub fn to_f64(&self, ticks: Ticks) -> f64 {
        ticks as f64 / self.per_unit
    }

    /// A float price to the nearest tick; refuses NaN, infinities, non-positive and huge prices.
    pub fn ticks_from_f64(&self, price: f64) -> Result<Ticks, BookError> {
        let invalid = |reason| BookError::InvalidPrice {
            value: price.to_string(),
            reason,
        };
        if !price.is_finite() {
            return Err(invalid("not a finite number"));
        }
        let ticks = (price * self.per_unit).round();
        if ticks <= 0.0 {
            return Err(invalid("not positive at the book's price scale"));
        }
        if ticks > MAX_EXACT_TICKS {
            return Err(invalid("too large for the book's price scale"));
        }
        Ok(ticks as Ticks)
    }

    /// A decimal string to ticks, exactly. Strings that are not plain decimals ("1e5", "NaN")
    /// go through the float path, which refuses what is not a finite positive number.
    pub fn ticks_from_str(&self, text: &str) -> Result<Ticks, BookError> {
        let invalid = |reason| BookError::InvalidPrice {
            value: text.to_string(),
            reason,
        };
        match parse_plain_decimal(text, self.decimals) {
            Decimal::Ticks(0) => Err(invalid("not positive")),
            Decimal::Ticks(ticks) => Ok(ticks),
            Decimal::Negative => Err(invalid("not positive")),
            Decimal::Overflow => Err(invalid("too large for the book's price scale")),
            Decimal::TooFine => Err(invalid("finer than the book's price scale")),
            Decimal::NotPlain => match text.trim().parse::<f64>() {
                Ok(price) => self.ticks_from_f64(price),
                Err(_) => Err(invalid("not a number")),
            },
        }
    }
}

impl Default for PriceScale {
    fn default() -> Self {
        Self::new(Self::DEFAULT_DECIMALS).expect("default decimals are within range")
    }
}

enum Decimal {
    Ticks(Ticks),
    Negative,
    Overflow,
    TooFine,
    NotPlain,
}

/// Parses `[-]digits[.digits]` into units of `10^-decimals`, without any rounding.
fn parse_plain_decimal(text: &str, decimals: u32) -> Decimal {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !is_digits(whole) || !is_digits(fraction) {
        return Decimal::NotPlain;
    }
    let mut ticks: Ticks = 0;
    let kept = fraction.len().min(decimals as usize);
    for digit in whole.bytes().chain(fraction[..kept].bytes()) {
        match ticks
            .checked_mul(10)
            .and_then(|t| t.checked_add(Ticks::from(digit - b'0')))
        {
            Some(next) => ticks = next,
            None => return Decimal::Overflow,
        }
    }
    if fraction[kept..].bytes().any(|b| b != b'0') {
        return Decimal::TooFine;
    }
    let padding = decimals as usize - kept;
    match ticks.checked_mul(10i64.pow(padding as u32)) {
        None => Decimal::Overflow,
        Some(_) if negative && ticks != 0 => Decimal::Negative,
        Some(scaled) => Decimal::Ticks(scaled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scale(decimals: u32) -> PriceScale {
        PriceScale::new(decimals).unwrap()
    }

    #[test]
    fn equal_decimals_in_different_spellings_share_a_key() {
        let s = scale(8);
        let a = s.ticks_from_str("61837.64").unwrap();
        assert_eq!(a, 6_183_764_000_000);
        assert_eq!(s.ticks_from_str("61837.64000000").unwrap(), a);
        assert_eq!(s.ticks_from_f64(61837.64).unwrap(), a);
    }

    #[test]
    fn refuses_what_is_not_a_positive_price() {
        let s = scale(2);
        for bad in [
            "0", "0.000", "-1", "-0.5", "NaN", "inf", "-inf", "", ".", "abc", "1.2.3",
        ] {
            assert!(
                matches!(s.ticks_from_str(bad), Err(BookError::InvalidPrice { .. })),
                "{bad:?} was accepted"
            );
        }
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.001] {
            assert!(s.ticks_from_f64(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn refuses_digits_finer_than_the_scale_and_overflow() {
        let s = scale(2);
        assert!(matches!(
            s.ticks_from_str("1.001"),
            Err(BookError::InvalidPrice {
                reason: "finer than the book's price scale",
                ..
            })
        ));
        assert_eq!(s.ticks_from_str("1.0100").unwrap(), 101);
        assert!(s.ticks_from_str("99999999999999999999").is_err());
        assert!(s.ticks_from_f64(1e300).is_err());
    }

    #[test]
    fn scientific_notation_goes_through_the_float_path() {
        assert_eq!(scale(2).ticks_from_str("1.5e2").unwrap(), 15_000);
    }

    proptest! {
        #[test]
        fn string_and_float_agree_on_exchange_like_prices(whole in 1u64..10_000_000, cents in 0u64..100_000_000) {
            let s = scale(8);
            let text = format!("{whole}.{cents:08}");
            let from_str = s.ticks_from_str(&text).unwrap();
            prop_assert_eq!(from_str, (whole * 100_000_000 + cents) as i64);
            prop_assert_eq!(s.ticks_from_f64(text.parse().unwrap()).unwrap(), from_str);
        }
    }
}
