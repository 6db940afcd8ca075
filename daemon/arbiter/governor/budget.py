"""How much the AI may spend: the monthly budget of the account's equity tier, the daily limit
that follows from it, and the part of each day kept for critical decisions. Days and months turn
in the configured time zone."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from arbiter.config import AiSettings, AiTierSettings
from arbiter.money import ZERO, exact, money

#: The rungs in the order a decision climbs them.
RUNGS = ("rules", "local", "cloud", "premium")


@dataclass(frozen=True, slots=True)
class Window:
    """The budget day and month an instant falls in."""

    day: str
    month: str
    days_in_month: int

    @classmethod
    def at(cls, ts: float, zone: ZoneInfo) -> Window:
        moment = datetime.fromtimestamp(ts, zone)
        days = calendar.monthrange(moment.year, moment.month)[1]
        return cls(moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m"), days)


@dataclass(frozen=True, slots=True)
class Budget:
    tier: AiTierSettings | None
    monthly: Decimal
    daily: Decimal
    #: Of the daily limit, what only critical decisions may spend.
    reserve: Decimal

    def daily_limit(self, critical: bool) -> Decimal:
        with money():
            return self.daily if critical else self.daily - self.reserve

    def model(self, rung: str) -> tuple[str, str] | None:
        """(provider, model) of a paid rung, or None if this tier does not have it."""
        name = None if self.tier is None else getattr(self.tier, rung, None)
        if not name:
            return None
        provider, _, model = name.partition(":")
        return provider, model


def tier_for(equity: Decimal, tiers: tuple[AiTierSettings, ...]) -> AiTierSettings | None:
    eligible = [tier for tier in tiers if equity >= tier.from_equity]
    return max(eligible, key=lambda tier: tier.from_equity, default=None)


def monthly_budget(equity: Decimal, tiers: tuple[AiTierSettings, ...]) -> Decimal:
    """The tier's [low, high] budget, rising with equity from this tier's floor to the next
    tier's (the top tier rises until equity doubles its floor)."""
    tier = tier_for(equity, tiers)
    if tier is None:
        return ZERO
    low, high = tier.monthly_budget
    above = [t.from_equity for t in tiers if t.from_equity > tier.from_equity]
    ceiling = min(above) if above else 2 * tier.from_equity
    with money():
        span = ceiling - tier.from_equity
        share = min(Decimal(1), (equity - tier.from_equity) / span) if span > 0 else Decimal(1)
        return exact(low + (high - low) * share)


def budget_for(equity: Decimal | None, settings: AiSettings, window: Window) -> Budget:
    if equity is None:
        return Budget(None, ZERO, ZERO, ZERO)
    monthly = monthly_budget(equity, settings.tiers)
    with money():
        daily = exact(monthly / window.days_in_month)
        reserve = exact(daily * settings.reserve_share)
    return Budget(tier_for(equity, settings.tiers), monthly, daily, reserve)
