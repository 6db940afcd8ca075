"""Risk limits, checked before every order: each refusal names the limit it protects and is
logged as `order_rejected`. A breach of the daily loss limit halts new risk until cleared."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arbiter.config import RiskSettings
from arbiter.decisions import LegPlan
from arbiter.errors import OrderRejectedError
from arbiter.logging import get_logger
from arbiter.money import money

log = get_logger("arbiter.risk")


@dataclass
class RiskState:
    """What the limits are measured against; restored from the journal on start."""

    today_pnl: Decimal = Decimal(0)
    open_decisions: int = 0
    halts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def halted(self) -> bool:
        return bool(self.halts)


class Risk:
    def __init__(self, limits: RiskSettings, state: RiskState) -> None:
        self.limits = limits
        self.state = state

    def check_decision(self) -> None:
        """Before a new decision opens: halts and the open-decision limit."""
        if self.state.halted:
            self._reject("halted", f"trading halted: {self.state.halts[-1]['reason']}")
        if self.state.open_decisions >= self.limits.max_open_decisions:
            self._reject(
                "max_open_decisions",
                f"{self.state.open_decisions} open, limit {self.limits.max_open_decisions}",
            )

    def check_order(
        self, leg: LegPlan, *, notional: Decimal, position_after: Decimal, book_usable: bool
    ) -> None:
        """Before an order that adds risk; `notional` and `position_after` are valued in the
        report asset."""
        if not book_usable:
            self._reject("stale_book", f"{leg.venue} {leg.symbol} is stale, invalid or too old")
        if self.state.halted:
            self._reject("halted", f"trading halted: {self.state.halts[-1]['reason']}")
        if notional > self.limits.max_order_notional:
            self._reject("max_order_notional", f"{notional} > {self.limits.max_order_notional}")
        if position_after > self.limits.max_position:
            self._reject("max_position", f"{position_after} > {self.limits.max_position}")
        if self.state.today_pnl <= -self.limits.max_daily_loss:
            self._reject("max_daily_loss", f"today's PnL {self.state.today_pnl}")

    def record_pnl(self, change: Decimal) -> bool:
        """Adds a fill's PnL to today's; True when that crosses the daily loss limit."""
        with money():
            self.state.today_pnl += change
        return self.state.today_pnl <= -self.limits.max_daily_loss

    def _reject(self, limit: str, detail: str) -> None:
        log.warning("order_rejected", limit=limit, detail=detail)
        raise OrderRejectedError(limit, detail)
