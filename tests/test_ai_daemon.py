"""The governor inside the daemon process: a kill -9 with paid calls in flight never lowers the
day's recorded spend below what was reserved, and `arbiter spend` reports it from the ledger."""

from __future__ import annotations

import json
import signal
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.harness import (
    SPOT,
    TRADING,
    USDM,
    arbiter,
    daemon,
    daemon_config,
    emulator,
    wait_for,
)
from tests.llm_emulator import Behaviour, Emulator, emulator_thread


def ai_toml(url: str) -> str:
    """Local agents that disagree, so decisions climb to Groq, which hangs."""
    trading = TRADING.split("[ai]")[0]
    return trading + (
        "[ai]\n"
        f'ollama_host = "{url}"\n'
        "needed_confidence = 0.9\n"
        "deadline_ms = 120000\n"
        "[ai.groq]\n"
        f'base_url = "{url}"\n'
        "timeout = 120\n"
        "[[ai.tiers]]\n"
        "from_equity = 0\n"
        'monthly_budget = ["100", "100"]\n'
        'cloud = "groq:llama-3.3-70b-versatile"\n'
    )


def disagreeing_and_hanging(server: Emulator) -> None:
    server.answers["mistral:7b"] = {"action": "skip", "confidence": 0.9, "rationale": "blip"}
    server.default["groq"] = Behaviour("hang")


def reserved_in_flight(ledger: Path) -> Decimal:
    if not ledger.exists():
        return Decimal(0)
    db = sqlite3.connect(ledger)
    try:
        rows = db.execute("SELECT reserved FROM calls WHERE state = 'reserved'").fetchall()
    except sqlite3.OperationalError:
        return Decimal(0)
    finally:
        db.close()
    return sum((Decimal(value) for (value,) in rows), Decimal(0))


def spend(config: Path) -> dict[str, Any]:
    result = arbiter("spend", "--json", "-c", str(config))
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_kill_9_with_calls_in_flight_never_lowers_the_days_spend(tmp_path: Path) -> None:
    ledger = tmp_path / "state" / "paper.ai.sqlite"
    env = {"ARBITER_AI__GROQ__API_KEY": "test-groq-key"}
    with (
        emulator_thread(disagreeing_and_hanging) as llm,
        emulator(SPOT, USDM, speed=30, wait_subscribers=2) as exchange,
    ):
        config = daemon_config(
            tmp_path, exchange.port, ["spot", "linear"], taker_fee="0", extra_toml=ai_toml(llm.url)
        )
        with daemon(config, env=env) as running:
            # A decision waits on a Groq call that hangs: reserved, not settled.
            wait_for(lambda: llm.count("groq") >= 1, 60, "a paid call in flight")
            reserved = reserved_in_flight(ledger)
            ai = wait_for(running.status, 10, "status")["trading"]["ai"]
            assert (ai["in_flight"], Decimal(ai["reserved"])) == (1, reserved)
            assert ai["rungs"] == ["rules", "local", "cloud"]
            running.process.send_signal(signal.SIGKILL)
            running.process.wait(timeout=10)
        before_restart = spend(config)
        assert Decimal(str(before_restart["today"]["total"])) >= reserved
        with daemon(config, env=env) as restarted:
            wait_for(
                lambda: any(e["event"] == "ai_reservations_recovered" for e in restarted.events()),
                30,
                "the restart to count the lost reservations",
            )
            wait_for(restarted.status, 30, "the restarted daemon to answer")  # handlers are up
            assert restarted.stop() == 0
    report = spend(config)
    today = Decimal(str(report["today"]["total"]))
    assert today >= reserved > 0
    db = sqlite3.connect(ledger)
    lost = db.execute("SELECT reserved, cost FROM calls WHERE state = 'lost'").fetchall()
    assert sum(Decimal(cost) for _, cost in lost) == reserved
    assert all(cost == amount for amount, cost in lost)
    by_model = report["today"]["by_model"]
    assert "groq:llama-3.3-70b-versatile" in by_model
