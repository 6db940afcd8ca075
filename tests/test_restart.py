"""kill -9 mid-trading, then restart: the journal is intact, every fill is booked once (the
balances equal the opening balances replayed through the fills), today's PnL and halts come
back, and decisions the crash left open are closed as interrupted."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.conftest import ROOT
from tests.harness import SPOT, TRADING, USDM, Daemon, daemon, daemon_config, emulator, wait_for

OPENING = {
    ("binance_spot", "USDT"): Decimal(5000),
    ("binance_spot", "BTC"): Decimal("0.1"),
    ("binance_usdm", "USDT"): Decimal(5000),
    ("binance_usdm", "BTC"): Decimal("0.1"),
}


def decisions(running: Daemon) -> int:
    status = running.status()
    return sum(status["trading"]["decisions_today"].values()) if status else 0


def replayed_balances(db: sqlite3.Connection) -> dict[tuple[str, str], Decimal]:
    balances = dict(OPENING)
    for venue, symbol, side, base_text, quote_text, fee_text in db.execute(
        "SELECT venue, symbol, side, base, quote, fee FROM fills ORDER BY ts_ms"
    ):
        asset, cash = symbol.split("/")[0], symbol.split("/")[1].split(":")[0]
        base, quote, fee = Decimal(base_text), Decimal(quote_text), Decimal(fee_text)
        sign = 1 if side == "buy" else -1
        balances[(venue, asset)] += sign * base - (fee if side == "buy" else 0)
        balances[(venue, cash)] += -sign * quote - (fee if side == "sell" else 0)
    return balances


def kill(running: Daemon) -> None:
    running.process.send_signal(signal.SIGKILL)
    running.process.wait(timeout=10)


def test_kill_9_then_restart_loses_nothing_and_books_nothing_twice(tmp_path: Path) -> None:
    slow_fills = TRADING.replace("latency_ms = 5", "latency_ms = 150")
    with emulator(SPOT, USDM, speed=30) as exchange:
        config = daemon_config(
            tmp_path, exchange.port, ["spot", "linear"], taker_fee="0", extra_toml=slow_fills
        )
        with daemon(config) as first:
            wait_for(lambda: decisions(first) >= 6, 60, "some trading")
            wait_for(
                lambda: (first.status() or {"trading": {}})["trading"].get("open_decisions"),
                30,
                "a decision in flight",
                every=0.01,
            )
            kill(first)
        db = sqlite3.connect(tmp_path / "state" / "paper.sqlite")
        assert db.execute("SELECT count(*) FROM decisions WHERE state = 'open'").fetchone()[0] >= 1

        with daemon(config) as second:
            status = wait_for(second.status, 30, "the restarted daemon")
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert (
                db.execute("SELECT count(*) FROM decisions WHERE state = 'open'").fetchone()[0]
                <= status["trading"]["open_decisions"]
            )
            interrupted = db.execute(
                "SELECT count(*) FROM decisions WHERE state = 'interrupted'"
            ).fetchone()[0]
            assert interrupted >= 1
            restored = next(e for e in second.events() if e["event"] == "journal_restored")
            assert restored["interrupted"] == interrupted
            # Today's PnL is what the journal's fills say, not zero.
            pnl = sum(
                (Decimal(r) - Decimal(f))
                for r, f in db.execute("SELECT realised, fee_value FROM fills WHERE ts_ms >= 0")
            )
            assert Decimal(restored["today_pnl"]) == pnl

            # A halt, then another kill -9: the halt survives it.
            halted = subprocess.run(
                [sys.executable, "-m", "arbiter", "halt", "-c", str(config), "--reason", "test"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            assert '"ok": true' in halted.stdout
            wait_for(lambda: second.status()["trading"]["open_decisions"] == 0, 30, "quiet")
            kill(second)

        with daemon(config) as third:
            status = wait_for(third.status, 30, "the second restart")
            assert [h["reason"] for h in status["trading"]["halts"]] == ["test"]
            before = db.execute("SELECT count(*) FROM decisions").fetchone()[0]
            seen = db.execute("SELECT count(*) FROM opportunities").fetchone()[0]
            wait_for(lambda: third.books()["binance_spot"]["updates"] > 50, 30, "trading time")
            # Opportunities are still found, but no decision is opened while halted.
            assert db.execute("SELECT count(*) FROM opportunities").fetchone()[0] > seen
            assert db.execute("SELECT count(*) FROM decisions").fetchone()[0] == before
            assert third.stop() == 0

    # Every fill booked once: the stored balances are the opening ones replayed through them.
    stored = {
        (venue, asset): Decimal(amount)
        for venue, asset, amount in db.execute("SELECT venue, asset, amount FROM balances")
    }
    assert stored == replayed_balances(db)
    assert db.execute("SELECT count(DISTINCT fill_id) = count(*) FROM fills").fetchone() == (1,)
