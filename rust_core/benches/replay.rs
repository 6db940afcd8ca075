#![allow(missing_docs)] // criterion_main! generates an undocumented main
//! Replays the bundled USDⓈ-M recording's depth diffs into the book (levels pre-parsed), and
//! the same level updates into a plain `BTreeMap` book as the in-run baseline.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use arbiter_core::{Level, OrderBook, PriceScale, Side, UpdateIds};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::Value;

const RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/binance/recordings/usdm_btcusdt_20240808.gz"
);

struct Replay {
    snapshot: OrderBook,
    diffs: Vec<(UpdateIds, Vec<Level>, Vec<Level>)>,
}

fn levels(book: &OrderBook, raw: &Value) -> Vec<Level> {
    raw.as_array()
        .expect("levels are an array")
        .iter()
        .map(|pair| {
            let price = pair[0].as_str().expect("price string");
            let size = pair[1].as_str().expect("size string");
            book.level_from_str(price, size)
                .expect("recorded level is valid")
        })
        .collect()
}

fn load() -> Replay {
    let file = std::fs::File::open(RECORDING).expect("bundled recording");
    let lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    let mut snapshot = OrderBook::new(PriceScale::default());
    let mut raw_diffs = Vec::new();
    for line in lines {
        let line = line.expect("gzip text");
        let (_, body) = line.split_once(' ').expect("timestamped line");
        let message: Value = serde_json::from_str(body).expect("JSON");
        if let Some(id) = message.get("lastUpdateId") {
            let (bids, asks) = (
                levels(&snapshot, &message["bids"]),
                levels(&snapshot, &message["asks"]),
            );
            snapshot
                .apply_snapshot(id.as_u64().unwrap(), &bids, &asks)
                .unwrap();
        } else if message["data"]["e"] == "depthUpdate" {
            raw_diffs.push(message["data"].clone());
        }
    }
    let diffs = raw_diffs
        .iter()
        .filter(|d| d["u"].as_u64().unwrap() > snapshot.update_id())
        .map(|d| {
            let ids = UpdateIds {
                first: d["U"].as_u64().unwrap(),
                last: d["u"].as_u64().unwrap(),
                prev_last: d["pu"].as_u64(),
            };
            (ids, levels(&snapshot, &d["b"]), levels(&snapshot, &d["a"]))
        })
        .collect();
    Replay { snapshot, diffs }
}

fn replay(c: &mut Criterion) {
    let replay = load();
    let level_updates: usize = replay.diffs.iter().map(|(_, b, a)| b.len() + a.len()).sum();
    let mut group = c.benchmark_group("usdm_replay");
    group.throughput(Throughput::Elements(level_updates as u64));
    group.sample_size(30);

    group.bench_function("order_book", |b| {
        b.iter_batched_ref(
            || replay.snapshot.clone(),
            |book| {
                for (ids, bids, asks) in &replay.diffs {
                    book.apply_delta(*ids, bids, asks).unwrap();
                    std::hint::black_box(book.best(Side::Bid));
                }
            },
            BatchSize::LargeInput,
        )
    });

    let reference = |side| -> BTreeMap<i64, f64> {
        replay
            .snapshot
            .ladder(side)
            .best_first()
            .map(|l| (l.ticks(), l.size()))
            .collect()
    };
    group.bench_function("btreemap_baseline", |b| {
        b.iter_batched_ref(
            || (reference(Side::Bid), reference(Side::Ask)),
            |(bids, asks)| {
                for (_, new_bids, new_asks) in &replay.diffs {
                    for (book, levels) in [(&mut *bids, new_bids), (&mut *asks, new_asks)] {
                        for level in levels {
                            if level.size() == 0.0 {
                                book.remove(&level.ticks());
                            } else {
                                book.insert(level.ticks(), level.size());
                            }
                        }
                    }
                    std::hint::black_box(bids.last_key_value());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
