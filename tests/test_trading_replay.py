"""The trading loop over the bundled spot + USDⓈ-M recording, daemon and emulator as processes:
every journaled opportunity recomputes exactly from the book state journaled with it, and the
paper account reconciles to the last unit with no balance ever below zero."""

from __future__ import annotations

import json
import math
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbiter.books import BookStore, Scanner
from arbiter.money import money
from tests import oracle
from tests.conftest import ROOT
from tests.harness import (
    SPOT,
    TRADING,
    USDM,
    daemon,
    daemon_config,
    emulator,
    wait_for,
    wait_for_last_update,
)


def run_replay(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    # 30x real time: about 12 s for the six recorded minutes.
    with emulator(SPOT, USDM, speed=30, once=True, wait_subscribers=2) as exchange:
        signal = f'[signal]\nweights = "{ROOT / "data" / "models" / "signal.safetensors"}"\n'
        config = daemon_config(
            tmp_path, exchange.port, ["spot", "linear"], taker_fee="0", extra_toml=TRADING + signal
        )
        with daemon(config) as running:
            wait_for_last_update(running, exchange)
            wait_for(
                lambda: running.status()["trading"]["open_decisions"] == 0,
                10,
                "decisions in flight to close",
            )
            status = wait_for(running.status, 10, "status")
            assert running.stop() == 0
            events = running.events()
    # No Ollama and no API keys: the rules decide everything, and say so once.
    assert [e["reason"] for e in events if e["event"] == "ai_unavailable"] == ["unreachable"]
    return status, tmp_path / "state" / "paper.sqlite"


def recompute(inputs: dict[str, Any], key: str) -> tuple[float, float]:
    """(profit by the Rust scanner, profit by the oracle) from the journaled inputs alone."""
    store, scanner = BookStore(), Scanner(slippage_bps=inputs["slippage_bps"])
    books = {}
    for name, book in inputs["books"].items():
        venue, symbol = name.split("|")
        store.apply_snapshot(venue, symbol, 1, book["bids"], book["asks"], book["price_decimals"])
        books[(venue, symbol)] = book
    for venue, fee in inputs["fees"].items():
        scanner.set_fee(venue, fee)
    for name, amount in inputs["inventory"].items():
        venue, asset = name.split("|")
        scanner.set_inventory(venue, asset, amount)
    (buy, sell) = [tuple(part.split(":", 1)) for part in key.removeprefix("cross:").split(">")]
    scanner.add_cross_group([buy, sell])
    (found,) = [o for o in scanner.scan_all(store, now_ms=0) if o.key == key]
    expected = oracle.cross(
        [tuple(level) for level in books[buy]["asks"]],
        [tuple(level) for level in books[sell]["bids"]],
        inputs["fees"][buy[0]],
        inputs["fees"][sell[0]],
        inputs["slippage_bps"],
        inputs["inventory"][f"{buy[0]}|USDT"],
        inputs["inventory"][f"{sell[0]}|BTC"],
    )
    assert expected is not None
    return found.profit, expected.profit


def test_replay_trades_reconcile_and_recompute(tmp_path: Path) -> None:
    status, journal = run_replay(tmp_path)
    trading = status["trading"]
    # The attention signal ran on every update of both books.
    assert set(trading["signals"]) == {"binance_spot|BTC/USDT", "binance_usdm|BTC/USDT:USDT"}
    for probabilities in trading["signals"].values():
        assert math.isclose(sum(probabilities.values()), 1.0, rel_tol=1e-5)

    # Paper accounting reconciles to the last unit.
    with money():
        rebuilt = (
            Decimal(trading["initial_equity"])
            + Decimal(trading["realised"])
            - Decimal(trading["fees"])
            + Decimal(trading["unrealised"])
        )
    assert Decimal(trading["equity"]) == rebuilt
    assert all(Decimal(b["amount"]) >= 0 for b in trading["balances"])

    db = sqlite3.connect(journal)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    done = db.execute("SELECT count(*) FROM decisions WHERE state = 'done'").fetchone()[0]
    assert done >= 10, "the recorded basis is traded"
    ledger = sqlite3.connect(journal.with_suffix(".ai.sqlite"))
    rungs = ledger.execute("SELECT rung, count(*) FROM outcomes GROUP BY rung").fetchall()
    assert rungs == [("rules", rungs[0][1])]
    assert rungs[0][1] >= done
    fills = db.execute("SELECT base, quote, side, venue FROM fills").fetchall()
    assert len(fills) >= 2 * done

    # Every journaled opportunity recomputes from its journaled books: exactly by the Rust
    # scanner, and within float rounding by the independent oracle.
    rows = db.execute("SELECT key, profit, inputs FROM opportunities").fetchall()
    assert len(rows) >= done
    for key, profit, inputs in rows:
        rust, independent = recompute(json.loads(inputs), key)
        assert rust == profit, key
        assert math.isclose(independent, profit, rel_tol=1e-9), key
