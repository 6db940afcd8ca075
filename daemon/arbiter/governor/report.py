"""`arbiter spend`: what the AI cost today and this month, by provider and model, what is left
of the budget and its reserve, the mix of rungs that settled decisions, and the AI's return. Read
from the ledger (and the journal's last equity, which sets the budget), so it works whether or
not the daemon runs."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from arbiter.config import Settings
from arbiter.governor.budget import RUNGS, Window, budget_for
from arbiter.governor.ledger import CallRow, Ledger
from arbiter.governor.pricing import load_pricing
from arbiter.governor.returns import Returns
from arbiter.money import ZERO, money


def last_equity(journal: Path) -> Decimal | None:
    if not journal.exists():
        return None
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT equity FROM equity ORDER BY ts_ms DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    return None if row is None else Decimal(row[0])


def _by_model(calls: list[CallRow]) -> dict[str, Any]:
    totals: dict[str, dict[str, Any]] = {}
    with money():
        for call in calls:
            entry = totals.setdefault(
                f"{call.provider}:{call.model}", {"calls": 0, "cost": ZERO, "in_flight": 0}
            )
            entry["calls"] += 1
            entry["cost"] += call.spent
            entry["in_flight"] += call.cost is None
        total = sum((call.spent for call in calls), ZERO)
    return {
        "total": str(total),
        "by_model": {
            name: {**entry, "cost": str(entry["cost"])} for name, entry in sorted(totals.items())
        },
    }


def spend_report(settings: Settings, now: float | None = None) -> dict[str, Any]:
    ai = settings.ai
    now = time.time() if now is None else now
    now_ms = int(now * 1000)
    window = Window.at(now, ZoneInfo(ai.timezone))
    equity = last_equity(settings.state_dir / f"{settings.mode}.sqlite")
    budget = budget_for(equity, ai, window)
    ledger = Ledger(settings.state_dir / f"{settings.mode}.ai.sqlite")
    try:
        calls = ledger.calls(window.month)
        recent = ledger.outcomes(now_ms - int(ai.roi_window_hours * 3_600_000))
        month_outcomes = [row for row in ledger.outcomes(0) if row.month == window.month]
    finally:
        ledger.close()
    today = [call for call in calls if call.day == window.day]
    with money():
        spent_today = sum((call.spent for call in today), ZERO)
        spent_month = sum((call.spent for call in calls), ZERO)
        critical_today = sum((call.spent for call in today if call.critical), ZERO)
        # The reserve is what critical decisions may still spend beyond everyone else's limit.
        reserve_left = max(
            ZERO, budget.reserve - max(ZERO, spent_today - budget.daily_limit(False))
        )
    returns = Returns.of(recent, ai)
    roi = returns.roi(now_ms)
    with money():
        cost = sum((row.cost for row in returns.resolved), ZERO)
        gain = sum((row.profit - row.shadow_profit for row in returns.resolved), ZERO)
    mix = Counter(row.rung for row in month_outcomes)
    ai_resolved = sum(mix[rung] for rung in RUNGS[1:])
    return {
        "window": {"day": window.day, "month": window.month, "timezone": ai.timezone},
        "equity": None if equity is None else str(equity),
        "tier": None if budget.tier is None else budget.tier.posture,
        "budget": {
            "monthly": str(budget.monthly),
            "daily": str(budget.daily),
            "reserve": str(budget.reserve),
        },
        "today": {**_by_model(today), "critical": str(critical_today)},
        "month": _by_model(calls),
        "remaining": {
            "today": str(max(ZERO, budget.daily - spent_today)),
            "today_non_critical": str(max(ZERO, budget.daily_limit(False) - spent_today)),
            "reserve": str(reserve_left),
            "month": str(max(ZERO, budget.monthly - spent_month)),
        },
        "electricity_monthly": str(load_pricing(ai.pricing_file).electricity_monthly),
        "mix": {
            "decisions": dict(mix),
            "ai_share_percent": {
                rung: round(100 * mix[rung] / ai_resolved, 1) if ai_resolved else None
                for rung in RUNGS[1:]
            },
            "ai_target_percent": dict(zip(RUNGS[1:], ai.mix_target, strict=True)),
        },
        "roi": {
            "value": None if roi is None else str(roi),
            "target": str(ai.roi_target),
            "window_hours": ai.roi_window_hours,
            "decisions": len(returns.resolved),
            "ai_cost": str(cost),
            "profit_over_shadow": str(gain),
        },
    }


def _usd(amount: str) -> str:
    """For people: dollars to the hundredth of a cent (the JSON keeps every digit)."""
    return f"${Decimal(amount):.4f}"


def format_report(report: dict[str, Any]) -> str:
    budget = {key: _usd(value) for key, value in report["budget"].items()}
    remaining = {key: _usd(value) for key, value in report["remaining"].items()}
    roi, mix = report["roi"], report["mix"]
    lines = [
        f"AI spend {report['window']['day']} ({report['window']['timezone']}), equity "
        f"{report['equity'] or 'unknown'}, tier {report['tier'] or 'none'}",
        f"  budget: month {budget['monthly']}, day {budget['daily']} "
        f"(reserve for critical {budget['reserve']})",
    ]
    for label in ("today", "month"):
        lines.append(f"  {label}: {_usd(report[label]['total'])}")
        for name, entry in report[label]["by_model"].items():
            flight = f", {entry['in_flight']} in flight" if entry["in_flight"] else ""
            cost = _usd(entry["cost"])
            lines.append(f"    {name:<40} {entry['calls']:>6} calls  {cost}{flight}")
    lines.append(
        f"  remaining: today {remaining['today']} (non-critical {remaining['today_non_critical']},"
        f" reserve {remaining['reserve']}), month {remaining['month']}"
    )
    shares = ", ".join(
        f"{rung} {share if share is not None else '-'}% (target {mix['ai_target_percent'][rung]}%)"
        for rung, share in mix["ai_share_percent"].items()
    )
    lines.append(f"  decisions this month: {mix['decisions'] or 'none'}; AI-resolved: {shares}")
    value = roi["value"] if roi["value"] is not None else "n/a (no AI cost)"
    lines.append(
        f"  AI ROI over {roi['window_hours']} h: {value} (target {roi['target']}x; "
        f"{roi['decisions']} decisions, cost {_usd(roi['ai_cost'])}, "
        f"gain over shadow {_usd(roi['profit_over_shadow'])})"
    )
    if report["electricity_monthly"] != "0":
        electricity = _usd(report["electricity_monthly"])
        lines.append(f"  local models: electricity {electricity} a month (not metered)")
    return "\n".join(lines)
