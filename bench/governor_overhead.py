"""The spend governor's own cost per paid decision, and the rules-only decision rate.

    .venv/bin/python bench/governor_overhead.py [--calls N] [--decisions N]

Per paid call: reserve (limit checks, one SQLite transaction written with synchronous=FULL,
as the daemon does) and settle (cost from usage, a second transaction), p50 and p99; beside it,
in the same run, the same two transactions written to bare SQLite by hand: the floor any
crash-safe ledger pays on this disk. Then decisions per second through the ladder when the rules
settle them (no AI asked) and when no AI can be reached, each with its outcome recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sqlite3
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from statistics import quantiles

from arbiter.agents.ladder import Ladder, providers_from
from arbiter.config import AiSettings, AiTierSettings, Settings
from arbiter.decisions import Decision, LegPlan
from arbiter.governor.governor import Governor
from arbiter.governor.ledger import Ledger
from arbiter.governor.pricing import Usage, load_pricing

ROOT = Path(__file__).resolve().parent.parent
PRICING = load_pricing(ROOT / "config" / "pricing.toml")


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = quantiles(samples, n=100)
    return cuts[49], cuts[98]


#: A budget large enough never to refuse: the bench measures the bookkeeping, not refusals.
UNLIMITED = AiSettings(
    tiers=(
        AiTierSettings(
            from_equity=Decimal(0),
            monthly_budget=(Decimal(10**6), Decimal(10**6)),
            cloud="anthropic:claude-haiku-4-5",
        ),
    ),
    ollama_host="http://127.0.0.1:9",  # nothing listens: no local agents
)


def governor(directory: Path) -> Governor:
    directory.mkdir(exist_ok=True)
    return Governor(
        UNLIMITED,
        PRICING,
        Ledger(directory / "ai.sqlite"),
        equity=lambda: Decimal(1000),
        today_profit=lambda: Decimal(1000),
    )


def paid_calls(directory: Path, calls: int) -> list[float]:
    gov = governor(directory)
    samples = []
    for index in range(calls):
        started = time.perf_counter()
        reservation = gov.reserve(
            provider="anthropic",
            model="claude-haiku-4-5",
            rung="cloud",
            input_tokens=1500,
            critical=False,
            decision_id=f"d{index}",
        )
        gov.settle(reservation, Usage(900, 120, cache_read=400, cache_write=0))
        samples.append(time.perf_counter() - started)
    gov.ledger.close()
    return samples


def bare_sqlite(directory: Path, calls: int) -> list[float]:
    db = sqlite3.connect(directory / "bare.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, reserved TEXT, cost TEXT)")
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        row = db.execute("INSERT INTO calls (reserved) VALUES ('0.0025')").lastrowid
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE calls SET cost = '0.0015' WHERE id = ?", (row,))
        db.execute("COMMIT")
        samples.append(time.perf_counter() - started)
    db.close()
    return samples


def decision(index: int, profit_bps: float) -> Decision:
    return Decision(
        id=f"r{index}",
        ts_ms=0,
        key="cross:a:BTC/USDT>b:BTC/USDT",
        kind="cross",
        tier="spot_arbitrage",
        legs=(
            LegPlan("a", "BTC/USDT", "buy", Decimal("0.001"), Decimal(60000)),
            LegPlan("b", "BTC/USDT", "sell", Decimal("0.001"), Decimal(60100)),
        ),
        expected_profit=Decimal("0.05"),
        profit_bps=profit_bps,
        persistence_ms=500,
        stake=Decimal(60),
    )


async def rules_rate(directory: Path, decisions: int, profit_bps: float) -> float:
    """Decisions per second through the ladder and the outcome ledger, no LLM answering."""
    settings = Settings(ai=UNLIMITED)
    gov = governor(directory)
    ladder = Ladder(settings, gov, providers_from(settings))
    await ladder.start()  # Ollama unreachable: its breaker opens, no keys: no cloud
    started = time.perf_counter()
    for index in range(decisions):
        ruling = await ladder.decide(decision(index, profit_bps))
        assert ruling.rung == "rules"
        gov.outcome(
            f"r{index}",
            rung=ruling.rung,
            action=ruling.action,
            shadow_action="trade",
            profit=Decimal("0.04"),
            shadow_profit=Decimal("0.04"),
        )
    elapsed = time.perf_counter() - started
    await ladder.close()
    return decisions / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--decisions", type=int, default=5000)
    args = parser.parse_args()
    (ROOT / "state").mkdir(exist_ok=True)
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    # On the disk the daemon's state lives on, not a tmpfs: fsync is the cost.
    with tempfile.TemporaryDirectory(dir=ROOT / "state") as directory:
        path = Path(directory)
        governed = paid_calls(path, args.calls)
        bare = bare_sqlite(path, args.calls)
        g50, g99 = percentiles(governed)
        b50, b99 = percentiles(bare)
        print(f"paid call, reserve + settle ({args.calls} calls, SQLite synchronous=FULL):")
        print(
            f"  governor      p50 {g50 * 1e3:.3f} ms  p99 {g99 * 1e3:.3f} ms  (target p99 <= 2 ms)"
        )
        print(f"  bare SQLite   p50 {b50 * 1e3:.3f} ms  p99 {b99 * 1e3:.3f} ms")
        print(
            f"  ratio         p50 {g50 / b50:.2f}x  p99 {g99 / b99:.2f}x of the bare transactions"
        )
        sure = asyncio.run(rules_rate(path / "sure", args.decisions, profit_bps=100.0))
        unreachable = asyncio.run(rules_rate(path / "down", args.decisions, profit_bps=4.0))
        print(f"rules-only decisions, outcome recorded ({args.decisions} each):")
        print(f"  rules sure, no AI asked     {sure:,.0f} decisions/s")
        print(f"  AI wanted, none reachable   {unreachable:,.0f} decisions/s")


if __name__ == "__main__":
    main()
