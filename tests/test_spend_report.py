"""`arbiter spend`: today's and this month's spend by provider and model, the budget and reserve
left, the mix against 80/15/5 and the AI's return, all read back from the ledger."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from arbiter.config import load_settings
from arbiter.governor.governor import Governor
from arbiter.governor.ledger import Ledger
from arbiter.governor.pricing import Usage
from arbiter.governor.report import spend_report
from arbiter.journal import Journal
from tests.conftest import write_config
from tests.harness import arbiter
from tests.test_governor import NOON, PRICES

YESTERDAY = NOON - 86_400


def test_spend_reports_the_ledger(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'state_dir = "{tmp_path / "state"}"\n')
    settings = load_settings(config)
    journal = Journal(tmp_path / "state" / "paper.sqlite")
    journal.equity(int(NOON * 1000), Decimal(3000), Decimal(0), Decimal(0), Decimal(0))
    journal.close()

    clock = [YESTERDAY]
    gov = Governor(
        settings.ai,
        PRICES,
        Ledger(tmp_path / "state" / "paper.ai.sqlite"),
        equity=lambda: Decimal(3000),
        today_profit=lambda: Decimal(0),
        clock=lambda: clock[0],
    )

    def paid(
        provider: str, model: str, usage: Usage, decision: str, critical: bool = False
    ) -> Decimal:
        reservation = gov.reserve(
            provider=provider,
            model=model,
            rung="cloud",
            input_tokens=3000,
            critical=critical,
            decision_id=decision,
        )
        return gov.settle(reservation, usage)

    yesterday = paid("groq", "llama-3.3-70b-versatile", Usage(1000, 100), "y1")
    clock[0] = NOON
    groq = paid("groq", "llama-3.3-70b-versatile", Usage(2000, 150, cache_read=500), "d1")
    haiku = paid("anthropic", "claude-haiku-4-5", Usage(1200, 300, 2000, 500), "d2", critical=True)
    in_flight = gov.reserve(
        provider="anthropic",
        model="claude-haiku-4-5",
        rung="premium",
        input_tokens=1000,
        critical=False,
        decision_id="d3",
    )
    # Outcomes: 6 rules, 3 local, 1 cloud, 1 premium; the AI earned 0.05 over its shadow.
    for index in range(6):
        gov.outcome(
            f"r{index}",
            rung="rules",
            action="trade",
            shadow_action="trade",
            profit=Decimal("0.01"),
            shadow_profit=Decimal("0.01"),
        )
    for index in range(3):
        gov.outcome(
            f"l{index}",
            rung="local",
            action="trade",
            shadow_action="trade",
            profit=Decimal("0.02"),
            shadow_profit=Decimal("0.02"),
        )
    gov.outcome(
        "d1",
        rung="cloud",
        action="skip",
        shadow_action="trade",
        profit=Decimal(0),
        shadow_profit=Decimal("-0.03"),
    )
    gov.outcome(
        "d2",
        rung="premium",
        action="trade",
        shadow_action="trade",
        profit=Decimal("0.04"),
        shadow_profit=Decimal("0.02"),
    )

    report = spend_report(settings, now=NOON)
    assert report["equity"] == "3000"
    assert report["tier"] == "aggressive"
    budget = gov.budget()
    assert Decimal(report["budget"]["monthly"]) == budget.monthly == Decimal(75)
    today, month = report["today"], report["month"]
    assert Decimal(today["total"]) == groq + haiku + in_flight.amount  # in flight: reserved
    assert Decimal(month["total"]) == yesterday + groq + haiku + in_flight.amount
    assert today["by_model"]["groq:llama-3.3-70b-versatile"] == {
        "calls": 1,
        "cost": str(groq),
        "in_flight": 0,
    }
    assert today["by_model"]["anthropic:claude-haiku-4-5"]["in_flight"] == 1
    assert Decimal(today["critical"]) == haiku
    spent_today = groq + haiku + in_flight.amount
    assert Decimal(report["remaining"]["today"]) == budget.daily - spent_today
    assert Decimal(report["remaining"]["today_non_critical"]) == (
        budget.daily_limit(critical=False) - spent_today
    )
    assert Decimal(report["remaining"]["reserve"]) == budget.reserve
    assert report["mix"]["decisions"] == {"rules": 6, "local": 3, "cloud": 1, "premium": 1}
    assert report["mix"]["ai_share_percent"] == {"local": 60.0, "cloud": 20.0, "premium": 20.0}
    assert report["mix"]["ai_target_percent"] == {"local": 80, "cloud": 15, "premium": 5}
    assert report["roi"]["decisions"] == 5
    assert Decimal(report["roi"]["profit_over_shadow"]) == Decimal("0.05")
    assert Decimal(report["roi"]["ai_cost"]) == groq + haiku
    assert Decimal(report["roi"]["value"]) == (Decimal("0.05") / (groq + haiku)).quantize(
        Decimal("1e-18")
    )

    shown = arbiter("spend", "-c", str(config))
    assert shown.returncode == 0, shown.stderr
    human = shown.stdout
    # The command reads the same ledger at the real date (the rows above are dated 2026-12-15).
    assert "equity 3000, tier aggressive" in human
    assert "(target 5%)" in human
    machine = arbiter("spend", "--json", "-c", str(config))
    assert machine.returncode == 0, machine.stderr
    assert json.loads(machine.stdout)["budget"]["monthly"] == str(budget.monthly)
