"""Faults over real sockets, injected by the emulator while the daemon streams from it: dropped
connections, sequence gaps, a 30 s freeze, malformed frames and REST rate limits. Every one ends
with the book synced again; while it lasts the book is reported unusable; none is fatal."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from tests.harness import SPOT, USDM, Daemon, daemon, daemon_config, emulator, synced, wait_for


def events(running: Daemon, name: str) -> list[dict[str, Any]]:
    return [e for e in running.events() if e["event"] == name]


def resumed(running: Daemon, venue: str, after_updates: int) -> bool:
    """Synced again and receiving updates beyond `after_updates`."""
    books = synced(running, venue)
    return books is not None and books[venue]["updates"] > after_updates + 5


def test_dropped_connection_resyncs(tmp_path: Path) -> None:
    with emulator(SPOT, USDM, speed=2) as exchange:
        config = daemon_config(tmp_path, exchange.port, ["spot", "linear"])
        with daemon(config) as running:
            books = wait_for(lambda: synced(running, "binance_spot", "binance_usdm"), 30, "sync")
            exchange.fault(kind="drop")
            for venue in ("binance_spot", "binance_usdm"):
                updates = books[venue]["updates"]
                wait_for(lambda v=venue, u=updates: resumed(running, v, u), 30, "resync")
            books = running.books()
            assert all(book["resyncs"] >= 1 for book in books.values())
            reasons = [e["reason"] for e in events(running, "book_resyncing")]
            assert any(reason.startswith("network") for reason in reasons), reasons
            assert exchange.state()["connections"] >= 4
            assert running.process.poll() is None


def test_sequence_gap_invalidates_then_resyncs(tmp_path: Path) -> None:
    with emulator(SPOT, USDM, speed=2) as exchange:
        config = daemon_config(tmp_path, exchange.port, ["spot", "linear"])
        with daemon(config) as running:
            books = wait_for(lambda: synced(running, "binance_spot", "binance_usdm"), 30, "sync")
            updates = books["binance_usdm"]["updates"]
            exchange.fault(kind="gap", market="linear", count=7)
            wait_for(lambda: running.books()["binance_usdm"]["invalid"] >= 1, 15, "gap detected")
            wait_for(lambda: resumed(running, "binance_usdm", updates), 30, "resync after gap")
            invalid = events(running, "book_invalid")
            assert invalid
            assert invalid[0]["venue"] == "binance_usdm"
            assert invalid[0]["reason"].startswith("sequence")
            assert running.books()["binance_spot"]["invalid"] == 0


def test_frozen_stream_goes_stale_and_resyncs(tmp_path: Path) -> None:
    with emulator(SPOT, USDM, speed=1) as exchange:
        config = daemon_config(tmp_path, exchange.port, ["spot", "linear"], max_book_age=3)
        with daemon(config) as running:
            wait_for(lambda: synced(running, "binance_spot", "binance_usdm"), 30, "sync")
            exchange.fault(kind="freeze", market="spot", seconds=30)
            frozen_at = time.monotonic()
            states: set[str] = set()
            while time.monotonic() - frozen_at < 30:
                books = running.books()
                states.add(books["binance_spot"]["state"])
                if books["binance_spot"]["state"] != "synced":
                    assert books["binance_spot"]["bids"] == []  # nothing left to trade on
                assert books["binance_usdm"]["state"] == "synced"
                time.sleep(0.5)
            assert "stale" in states
            updates = running.books()["binance_spot"]["updates"]
            wait_for(lambda: resumed(running, "binance_spot", updates), 30, "updates after thaw")
            assert events(running, "book_stale")[0]["venue"] == "binance_spot"


def test_malformed_frames_are_counted_not_fatal(tmp_path: Path) -> None:
    with emulator(SPOT, USDM, speed=2) as exchange:
        config = daemon_config(tmp_path, exchange.port, ["spot", "linear"])
        with daemon(config) as running:
            books = wait_for(lambda: synced(running, "binance_spot", "binance_usdm"), 30, "sync")
            updates = books["binance_spot"]["updates"]
            exchange.fault(kind="malformed", market="spot", count=5)
            wait_for(lambda: running.books()["binance_spot"]["malformed"] >= 5, 15, "count")
            wait_for(lambda: resumed(running, "binance_spot", updates), 15, "updates go on")
            assert running.books()["binance_spot"]["resyncs"] == 0
            assert len(events(running, "malformed_message")) >= 5
            assert running.process.poll() is None


def test_rest_rate_limits_are_backed_off(tmp_path: Path) -> None:
    with emulator(SPOT, speed=2) as exchange:
        # Every REST answer is an error until 6 have been given: 429s, then 418s.
        exchange.fault(kind="rest", status=429, count=3)
        exchange.fault(kind="rest", status=418, count=3)
        config = daemon_config(tmp_path, exchange.port, ["spot"])
        with daemon(config) as running:
            wait_for(lambda: synced(running, "binance_spot"), 60, "sync after the rate limits")
            log = exchange.state()["rest_log"]
            refused = [t for t, _, status in log if status in (418, 429)]
            assert len(refused) == 6
            # Both answers carry Retry-After: 1; no retry came sooner than that.
            gaps = [b - a for a, b in itertools.pairwise(refused)]
            assert min(gaps) >= 0.95, gaps
            backoffs = events(running, "feed_backoff")
            assert len(backoffs) == 6
            assert all(b["retry_in"] >= 1 for b in backoffs)


def test_a_crashing_feed_restarts_alone(tmp_path: Path) -> None:
    # ETH/USDT is not listed by the emulator's exchange: its feed fails on every start
    # (ccxt BadSymbol, which no feed handles) while BTC/USDT streams on.
    with emulator(SPOT, speed=2) as exchange:
        config = daemon_config(tmp_path, exchange.port, ["spot"], extra_spot_symbols=("ETH/USDT",))
        with daemon(config) as running:
            wait_for(lambda: len(events(running, "feed_crashed")) >= 2, 30, "two crashes")
            status = wait_for(running.status, 10, "status")
            books = {book["symbol"]: book for book in status["books"]}
            assert books["BTC/USDT"]["state"] == "synced"
            assert books["ETH/USDT"]["state"] != "synced"
            crashes = events(running, "feed_crashed")
            assert {crash["symbol"] for crash in crashes} == {"ETH/USDT"}
            assert "BadSymbol" in crashes[0]["exception"]
            assert running.process.poll() is None
            assert running.stop() == 0
