//! The scanners wired to the books: which scans an update to one book re-evaluates, with each
//! venue's taker fee, the inventory at hand, and every opportunity's lifetime.

use rustc_hash::FxHashMap;

use crate::analysis::TakerSide;
use crate::arb::{
    best_cross, peg_deviation, triangle, CrossParams, Found, Lifetime, Lifetimes, PegParams,
};
use crate::store::{BookId, BookStore};

/// A book, by venue and symbol (ccxt's unified symbol, e.g. `BTC/USDT` or `BTC/USDT:USDT`).
pub type BookKey = (String, String);

/// Base and quote currency of a ccxt symbol (`BTC/USDT:USDT` is BTC and USDT).
pub fn assets(symbol: &str) -> (&str, &str) {
    let pair = symbol.split(':').next().unwrap_or(symbol);
    pair.split_once('/').unwrap_or((pair, ""))
}

/// What one scan evaluates.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanKind {
    /// Buy on `books[0]`, sell on `books[1]`.
    Cross,
    /// Start with `start_asset`, convert through `books[0..3]` on the given sides.
    Triangle {
        /// Side taken on each of the three books.
        sides: [TakerSide; 3],
        /// Currency the cycle starts and ends in.
        start_asset: String,
        /// Most of the start currency one cycle may use.
        max_start: f64,
    },
    /// A stablecoin pair away from 1.0, on `books[0]`.
    Peg,
}

/// One scan: its kind and the books it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// What it evaluates.
    pub kind: ScanKind,
    /// The books, in leg order.
    pub books: Vec<BookKey>,
    /// `kind:venue:symbol>venue:symbol...`, naming its opportunity.
    pub key: String,
    /// Interned venue, base and quote of each book, resolved once so that evaluating a scan
    /// allocates nothing.
    ids: Vec<(usize, usize, usize)>,
}

/// An opportunity a scan found, with how long it has lasted.
#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    /// Index of the scan that found it.
    pub scan: usize,
    /// Legs and profit.
    pub found: Found,
    /// First and last seen, peak profit.
    pub lifetime: Lifetime,
}

/// Every configured scan over a book store.
#[derive(Debug, Default)]
pub struct Scanner {
    slippage_bps: f64,
    names: FxHashMap<String, usize>,
    /// Taker fee by interned venue (100 % until set: a venue without a fee is never traded).
    fees: Vec<f64>,
    /// Inventory by interned (venue, asset).
    inventory: FxHashMap<(usize, usize), f64>,
    scans: Vec<Scan>,
    by_book: FxHashMap<String, FxHashMap<String, Vec<usize>>>,
    lifetimes: Lifetimes,
    /// Each scan's books as store ids, resolved on first use, for this store generation.
    resolved: Vec<Option<Vec<BookId>>>,
    generation: u64,
}

impl Scanner {
    /// A scanner demanding `slippage_bps` of margin on every leg.
    pub fn new(slippage_bps: f64) -> Self {
        Self {
            slippage_bps,
            ..Self::default()
        }
    }

    /// The taker fee rate on `venue`. A venue without one is never traded (fee taken as 100 %).
    pub fn set_fee(&mut self, venue: &str, fee: f64) {
        let id = self.intern(venue);
        self.fees[id] = fee;
    }

    /// How much of `asset` is available on `venue` (0 when never set).
    pub fn set_inventory(&mut self, venue: &str, asset: &str, amount: f64) {
        let key = (self.intern(venue), self.intern(asset));
        self.inventory.insert(key, amount);
    }

    /// A small integer for a venue or asset name.
    fn intern(&mut self, name: &str) -> usize {
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let id = self.names.len();
        self.names.insert(name.to_string(), id);
        self.fees.push(1.0);
        id
    }

    /// The configured scans.
    pub fn scans(&self) -> &[Scan] {
        &self.scans
    }

    /// Cross-venue scans for every ordered pair of books quoting the same instrument.
    pub fn add_cross_group(&mut self, members: &[BookKey]) {
        for buy in members {
            for sell in members {
                if buy != sell {
                    self.add(ScanKind::Cross, vec![buy.clone(), sell.clone()]);
                }
            }
        }
    }

    /// Every 3-cycle on `venue` that starts and ends in `currencies[0]`, through the other
    /// currencies, over the spot `symbols` the venue streams.
    pub fn add_triangles(
        &mut self,
        venue: &str,
        currencies: &[String],
        symbols: &[String],
        max_start: f64,
    ) {
        let Some((start, others)) = currencies.split_first() else {
            return;
        };
        let spot: Vec<&String> = symbols.iter().filter(|s| !s.contains(':')).collect();
        // Converting `from` into `to`: buy `to/from`, or sell `from/to`.
        let step = |from: &str, to: &str| -> Option<(String, TakerSide)> {
            spot.iter().find_map(|symbol| match assets(symbol) {
                (base, quote) if base == to && quote == from => {
                    Some(((*symbol).clone(), TakerSide::Buy))
                }
                (base, quote) if base == from && quote == to => {
                    Some(((*symbol).clone(), TakerSide::Sell))
                }
                _ => None,
            })
        };
        for first in others {
            for second in others {
                if first == second {
                    continue;
                }
                let path = [(start, first), (first, second), (second, start)];
                let steps: Option<Vec<_>> = path.iter().map(|(from, to)| step(from, to)).collect();
                if let Some(steps) = steps {
                    let sides = [steps[0].1, steps[1].1, steps[2].1];
                    let books = steps
                        .into_iter()
                        .map(|(symbol, _)| (venue.to_string(), symbol))
                        .collect();
                    let kind = ScanKind::Triangle {
                        sides,
                        start_asset: start.clone(),
                        max_start,
                    };
                    self.add(kind, books);
                }
            }
        }
    }

    /// A peg scan on a pair of two dollar coins.
    pub fn add_peg(&mut self, venue: &str, symbol: &str) {
        self.add(ScanKind::Peg, vec![(venue.to_string(), symbol.to_string())]);
    }

    fn add(&mut self, kind: ScanKind, books: Vec<BookKey>) {
        let index = self.scans.len();
        let ids = books
            .iter()
            .map(|(venue, symbol)| {
                let (base, quote) = assets(symbol);
                (self.intern(venue), self.intern(base), self.intern(quote))
            })
            .collect();
        for (venue, symbol) in &books {
            let scans = self
                .by_book
                .entry(venue.clone())
                .or_default()
                .entry(symbol.clone())
                .or_default();
            if !scans.contains(&index) {
                scans.push(index);
            }
        }
        let name = match kind {
            ScanKind::Cross => "cross",
            ScanKind::Triangle { .. } => "triangle",
            ScanKind::Peg => "peg",
        };
        let legs: Vec<String> = books
            .iter()
            .map(|(venue, symbol)| format!("{venue}:{symbol}"))
            .collect();
        let key = format!("{name}:{}", legs.join(">"));
        self.scans.push(Scan {
            kind,
            books,
            key,
            ids,
        });
        self.resolved.push(None);
    }

    /// Re-evaluates the scans that read `(venue, symbol)`, and only those.
    pub fn on_update(
        &mut self,
        store: &BookStore,
        venue: &str,
        symbol: &str,
        now_ms: i64,
    ) -> Vec<Opportunity> {
        self.forget_stale_ids(store);
        let touched = match self
            .by_book
            .get(venue)
            .and_then(|symbols| symbols.get(symbol))
        {
            Some(scans) => scans.clone(),
            None => return Vec::new(),
        };
        touched
            .into_iter()
            .filter_map(|scan| self.rescan(store, scan, now_ms))
            .collect()
    }

    /// Re-evaluates every scan.
    pub fn scan_all(&mut self, store: &BookStore, now_ms: i64) -> Vec<Opportunity> {
        self.forget_stale_ids(store);
        (0..self.scans.len())
            .filter_map(|scan| self.rescan(store, scan, now_ms))
            .collect()
    }

    fn rescan(&mut self, store: &BookStore, scan: usize, now_ms: i64) -> Option<Opportunity> {
        resolve(&mut self.resolved[scan], &self.scans[scan], store);
        let result = self.resolved[scan]
            .as_deref()
            .and_then(|ids| self.evaluate_books(store, &self.scans[scan], ids));
        record(&mut self.lifetimes, scan, now_ms, result)
    }

    fn forget_stale_ids(&mut self, store: &BookStore) {
        if self.generation != store.generation() {
            self.resolved.iter_mut().for_each(|ids| *ids = None);
            self.generation = store.generation();
        }
    }

    /// What one scan finds in the books as they stand; nothing when a book is missing or unsynced.
    pub fn evaluate(&self, store: &BookStore, scan: &Scan) -> Option<Found> {
        let ids: Option<Vec<BookId>> = scan.books.iter().map(|(v, s)| store.id(v, s)).collect();
        self.evaluate_books(store, scan, &ids?)
    }

    fn evaluate_books(&self, store: &BookStore, scan: &Scan, ids: &[BookId]) -> Option<Found> {
        if !ids.iter().all(|&id| store.by_id(id).is_synced()) {
            return None;
        }
        let book = |index: usize| store.by_id(ids[index]);
        let fee = |index: usize| self.fees[scan.ids[index].0];
        let held = |index: usize, asset: usize| {
            *self
                .inventory
                .get(&(scan.ids[index].0, asset))
                .unwrap_or(&0.0)
        };
        let base = |index: usize| scan.ids[index].1;
        let quote = |index: usize| scan.ids[index].2;
        match &scan.kind {
            ScanKind::Cross => {
                let params = CrossParams {
                    buy_fee: fee(0),
                    sell_fee: fee(1),
                    slippage_bps: self.slippage_bps,
                    max_quote: held(0, quote(0)),
                    max_base: held(1, base(1)),
                };
                best_cross(book(0), book(1), &params)
            }
            ScanKind::Triangle {
                sides,
                start_asset,
                max_start,
            } => {
                let start_id = self.names.get(start_asset.as_str()).copied();
                let start = start_id.map_or(0.0, |asset| held(0, asset)).min(*max_start);
                let legs = [
                    (book(0), sides[0], fee(0)),
                    (book(1), sides[1], fee(1)),
                    (book(2), sides[2], fee(2)),
                ];
                triangle(legs, start)
            }
            ScanKind::Peg => {
                let params = PegParams {
                    fee: fee(0),
                    slippage_bps: self.slippage_bps,
                    max_quote: held(0, quote(0)),
                    max_base: held(0, base(0)),
                };
                peg_deviation(book(0), &params)
            }
        }
    }

    /// Number of opportunities alive now.
    pub fn alive(&self) -> usize {
        self.lifetimes.len()
    }
}

/// A scan's books as store ids, looked up once and kept until the store's generation changes.
fn resolve(cache: &mut Option<Vec<BookId>>, scan: &Scan, store: &BookStore) -> Option<Vec<BookId>> {
    if cache.is_none() {
        *cache = scan
            .books
            .iter()
            .map(|(venue, symbol)| store.id(venue, symbol))
            .collect();
    }
    cache.clone()
}

/// Updates a scan's lifetime with what it found (or ended it) and returns the opportunity.
fn record(
    lifetimes: &mut Lifetimes,
    scan: usize,
    now_ms: i64,
    result: Option<Found>,
) -> Option<Opportunity> {
    match result {
        Some(found) => {
            let lifetime = lifetimes.seen(scan, now_ms, found.profit);
            Some(Opportunity {
                scan,
                found,
                lifetime,
            })
        }
        None => {
            lifetimes.gone(scan);
            None
        }
    }
}
