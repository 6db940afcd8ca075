"""Rules that turn opportunities into decisions: minimum profit and persistence, a notional cap,
and strategy tiers unlocked by account equity."""

from __future__ import annotations

import uuid
from decimal import Decimal

from arbiter.books import Opportunity
from arbiter.config import StrategySettings
from arbiter.decisions import Decision, LegPlan
from arbiter.execution.orders import assets
from arbiter.money import money, quantity, to_decimal

Marks = dict[str, Decimal]


class Strategy:
    def __init__(self, settings: StrategySettings) -> None:
        self.settings = settings

    def tier(self, opportunity: Opportunity) -> str:
        """futures if any leg is a derivative, stablecoin if every asset is a dollar coin,
        else spot arbitrage."""
        symbols = [leg.symbol for leg in opportunity.legs]
        if any(":" in symbol for symbol in symbols):
            return "futures"
        coins = {asset for symbol in symbols for asset in assets(symbol)}
        if coins <= set(self.settings.stablecoins):
            return "stablecoin"
        return "spot_arbitrage"

    def allowed(self, tier: str, equity: Decimal) -> bool:
        threshold: Decimal = getattr(self.settings.tiers, tier)
        return equity >= threshold

    def decide(
        self, opportunity: Opportunity, equity: Decimal, quote_mark: Decimal, now_ms: int
    ) -> tuple[Decision | None, str]:
        """A decision, or None and the rule that said no. `quote_mark` values the first leg's
        quote currency in the report asset."""
        if opportunity.profit_bps < self.settings.min_profit_bps:
            return None, "min_profit_bps"
        if opportunity.persistence_ms < self.settings.min_persistence_ms:
            return None, "min_persistence_ms"
        tier = self.tier(opportunity)
        if not self.allowed(tier, equity):
            return None, f"tier {tier} locked below equity {getattr(self.settings.tiers, tier)}"
        first = opportunity.legs[0]
        with money():
            notional = to_decimal(first.quote) * quote_mark
            scale = (
                min(Decimal(1), self.settings.max_notional / notional) if notional else Decimal(1)
            )
            legs = tuple(
                LegPlan(
                    leg.venue,
                    leg.symbol,
                    "buy" if leg.side == "buy" else "sell",
                    quantity(to_decimal(leg.base) * scale),
                    to_decimal(leg.worst_price),
                )
                for leg in opportunity.legs
            )
            expected = to_decimal(opportunity.profit) * scale
            stake = notional * scale
        if legs[0].amount <= 0:
            return None, "below the smallest quantity"
        decision = Decision(
            id=uuid.uuid4().hex[:16],
            ts_ms=now_ms,
            key=opportunity.key,
            kind=opportunity.kind,
            tier=tier,
            legs=legs,
            expected_profit=expected,
            profit_bps=opportunity.profit_bps,
            persistence_ms=opportunity.persistence_ms,
            stake=stake,
        )
        return decision, "ok"
