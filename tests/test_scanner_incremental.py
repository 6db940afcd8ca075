"""An update re-evaluates only the scans that read the updated book, and each opportunity keeps
its lifetime (first seen, last seen, peak profit) until a scan no longer finds it."""

from __future__ import annotations

from arbiter.books import BookStore, Scanner


def setup() -> tuple[BookStore, Scanner]:
    store = BookStore()
    store.apply_snapshot("a", "BTC/USDT", 1, [["99", "5"]], [["100", "5"]])
    store.apply_snapshot("b", "BTC/USDT", 1, [["102", "5"]], [["103", "5"]])
    store.apply_snapshot("a", "ETH/USDT", 1, [["9", "5"]], [["10", "5"]])
    store.apply_snapshot("b", "ETH/USDT", 1, [["11", "5"]], [["12", "5"]])
    scanner = Scanner()
    for venue in ("a", "b"):
        scanner.set_fee(venue, 0.001)
        for asset in ("USDT", "BTC", "ETH"):
            scanner.set_inventory(venue, asset, 1e6)
    scanner.add_cross_group([("a", "BTC/USDT"), ("b", "BTC/USDT")])
    scanner.add_cross_group([("a", "ETH/USDT"), ("b", "ETH/USDT")])
    return store, scanner


def test_an_update_reevaluates_only_its_own_scans() -> None:
    store, scanner = setup()
    found = scanner.on_update(store, "a", "BTC/USDT", now_ms=1_000)
    assert [o.key for o in found] == ["cross:a:BTC/USDT>b:BTC/USDT"]
    assert found[0].legs[0].venue == "a"
    assert found[0].legs[0].side == "buy"
    assert found[0].legs[1].venue == "b"
    assert found[0].legs[1].side == "sell"
    assert scanner.on_update(store, "nowhere", "BTC/USDT", now_ms=1_000) == []


def test_lifetime_runs_from_first_to_last_sighting() -> None:
    store, scanner = setup()
    (first,) = scanner.on_update(store, "a", "BTC/USDT", now_ms=1_000)
    store.apply_snapshot("b", "BTC/USDT", 2, [["104", "5"]], [["105", "5"]])
    (better,) = scanner.on_update(store, "b", "BTC/USDT", now_ms=1_400)
    store.apply_snapshot("b", "BTC/USDT", 3, [["101", "5"]], [["105", "5"]])
    (worse,) = scanner.on_update(store, "b", "BTC/USDT", now_ms=1_900)
    assert (worse.first_seen_ms, worse.last_seen_ms, worse.persistence_ms) == (1_000, 1_900, 900)
    assert better.profit > first.profit > worse.profit
    assert worse.peak_profit == better.profit
    # Gone, then back: a new life.
    store.apply_snapshot("b", "BTC/USDT", 4, [["99.5", "5"]], [["105", "5"]])
    assert scanner.on_update(store, "b", "BTC/USDT", now_ms=2_000) == []
    store.apply_snapshot("b", "BTC/USDT", 5, [["104", "5"]], [["105", "5"]])
    (again,) = scanner.on_update(store, "b", "BTC/USDT", now_ms=2_500)
    assert again.first_seen_ms == 2_500


def test_an_unsynced_book_yields_nothing() -> None:
    store, scanner = setup()
    assert scanner.on_update(store, "a", "BTC/USDT", now_ms=0)
    store.clear_book("b", "BTC/USDT")  # what MarketData does to a stale or invalid book
    assert scanner.on_update(store, "a", "BTC/USDT", now_ms=1) == []
