//! How long an opportunity has lasted: first seen, last seen and peak profit, so that one-tick
//! noise can be filtered out by a minimum persistence.

/// One opportunity's history, in the caller's clock (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lifetime {
    /// When it was first found.
    pub first_seen_ms: i64,
    /// When it was last found.
    pub last_seen_ms: i64,
    /// The highest profit it showed.
    pub peak_profit: f64,
}

impl Lifetime {
    /// How long it has persisted.
    pub fn persistence_ms(&self) -> i64 {
        self.last_seen_ms - self.first_seen_ms
    }
}

/// Lifetimes by scan index: a scan that finds nothing ends its opportunity's life.
#[derive(Debug, Default, Clone)]
pub struct Lifetimes {
    by_scan: Vec<Option<Lifetime>>,
    alive: usize,
}

impl Lifetimes {
    /// Records that `scan` found an opportunity with `profit` at `now_ms`.
    pub fn seen(&mut self, scan: usize, now_ms: i64, profit: f64) -> Lifetime {
        if scan >= self.by_scan.len() {
            self.by_scan.resize(scan + 1, None);
        }
        let slot = &mut self.by_scan[scan];
        let lifetime = slot.get_or_insert_with(|| {
            self.alive += 1;
            Lifetime {
                first_seen_ms: now_ms,
                last_seen_ms: now_ms,
                peak_profit: profit,
            }
        });
        lifetime.last_seen_ms = now_ms;
        lifetime.peak_profit = lifetime.peak_profit.max(profit);
        *lifetime
    }

    /// Records that `scan` found nothing: its opportunity, if any, is over.
    pub fn gone(&mut self, scan: usize) {
        if let Some(slot) = self.by_scan.get_mut(scan) {
            if slot.take().is_some() {
                self.alive -= 1;
            }
        }
    }

    /// Number of opportunities alive.
    pub fn len(&self) -> usize {
        self.alive
    }

    /// True when none is alive.
    pub fn is_empty(&self) -> bool {
        self.alive == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_first_last_and_peak_until_gone() {
        let mut lifetimes = Lifetimes::default();
        lifetimes.seen(3, 1_000, 2.0);
        lifetimes.seen(3, 1_500, 5.0);
        let lifetime = lifetimes.seen(3, 2_000, 1.0);
        assert_eq!(
            (
                lifetime.first_seen_ms,
                lifetime.last_seen_ms,
                lifetime.peak_profit
            ),
            (1_000, 2_000, 5.0)
        );
        assert_eq!(lifetime.persistence_ms(), 1_000);
        lifetimes.gone(3);
        assert_eq!(lifetimes.seen(3, 3_000, 1.0).first_seen_ms, 3_000);
    }
}
