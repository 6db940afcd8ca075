"""The spend governor. A paid call first reserves its worst-case cost, atomically (no await
between the check and the write) and in SQLite before the request leaves; it then settles to the
cost of the provider's real usage, or to its input cost if cancelled or timed out. A reservation
is refused when spent + reserved would pass the applicable limit: the day's limit less the
emergency reserve (the whole day's limit for critical decisions), and the month's budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from arbiter.config import AiSettings
from arbiter.errors import ArbiterError
from arbiter.governor.budget import Budget, Window, budget_for
from arbiter.governor.ledger import Ledger, OutcomeRow
from arbiter.governor.pricing import Pricing, Usage
from arbiter.governor.returns import Resolved, Returns
from arbiter.logging import get_logger
from arbiter.money import ZERO, money

log = get_logger("arbiter.governor")


class BudgetRefusedError(ArbiterError):
    """The governor said no; the message says which limit."""


@dataclass(frozen=True, slots=True)
class Reservation:
    call_id: int
    provider: str
    model: str
    window: Window
    amount: Decimal
    input_cost: Decimal
    critical: bool
    decision_id: str | None
    started: float = field(default_factory=time.monotonic)


class Governor:
    def __init__(
        self,
        settings: AiSettings,
        pricing: Pricing,
        ledger: Ledger,
        *,
        equity: Callable[[], Decimal | None],
        today_profit: Callable[[], Decimal],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.pricing = pricing
        self.ledger = ledger
        self.equity = equity
        self.today_profit = today_profit
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)
        lost = ledger.settle_abandoned()
        if lost:
            log.warning("ai_reservations_recovered", counted_as_spent=str(lost))
        #: Settled spend by day key and by month key (the keys never collide).
        self.spent: dict[str, Decimal] = {}
        for call in ledger.calls(self.window().month):
            self._add_spent(call.day, call.month, call.spent)
        self.open: dict[int, Reservation] = {}
        #: Cost of each decision's calls so far, for its outcome.
        self.decision_cost: dict[str, Decimal] = {}
        window_ms = int(settings.roi_window_hours * 3_600_000)
        self.returns = Returns.of(ledger.outcomes(self._now_ms() - window_ms), settings)

    # -- windows and limits -------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def window(self) -> Window:
        return Window.at(self.clock(), self.zone)

    def budget(self, window: Window | None = None) -> Budget:
        return budget_for(self.equity(), self.settings, window or self.window())

    def committed(self, window: Window) -> tuple[Decimal, Decimal]:
        """(day, month): spent plus reserved."""
        with money():
            day = self.spent.get(window.day, ZERO)
            month = self.spent.get(window.month, ZERO)
            for reservation in self.open.values():
                if reservation.window.day == window.day:
                    day += reservation.amount
                if reservation.window.month == window.month:
                    month += reservation.amount
        return day, month

    def worst_case(self, provider: str, model: str, input_tokens: int) -> Decimal:
        return self.pricing.worst_case(
            provider, model, input_tokens, self.settings.max_output_tokens
        )

    def refusal(
        self, rung: str, worst: Decimal, needed: float, expected_profit: Decimal
    ) -> str | None:
        """Why a paid rung may not be asked about this decision, or None if it may."""
        settings = self.settings
        if needed <= settings.cloud_min_confidence:
            return (
                f"needs confidence {needed:.2f}, cloud only above {settings.cloud_min_confidence}"
            )
        with money():
            profit = max(self.today_profit(), settings.profit_floor)
            if worst >= settings.cloud_max_profit_share * profit:
                return f"costs {worst}, not below {settings.cloud_max_profit_share} of {profit}"
            if rung != "premium":
                return None
            if needed <= settings.premium_min_confidence:
                return f"needs {needed:.2f}, premium only above {settings.premium_min_confidence}"
            if worst >= settings.premium_max_profit_share * expected_profit:
                return f"costs {worst}, not below {settings.premium_max_profit_share} of profit"
        return None

    # -- the reservation protocol -------------------------------------------------------------

    def reserve(
        self,
        *,
        provider: str,
        model: str,
        rung: str,
        input_tokens: int,
        critical: bool,
        decision_id: str | None,
    ) -> Reservation:
        """Reserves the call's worst case, or raises BudgetRefusedError. Synchronous on purpose:
        the check and the write cannot interleave with another task's."""
        window = self.window()
        amount = self.worst_case(provider, model, input_tokens)
        input_cost = self.pricing.input_cost(provider, model, input_tokens)
        if amount > 0:
            budget = self.budget(window)
            day, month = self.committed(window)
            with money():
                if day + amount > budget.daily_limit(critical):
                    limit = "daily limit" if critical else "daily limit less the critical reserve"
                    raise BudgetRefusedError(f"{limit} {budget.daily_limit(critical)} reached")
                if month + amount > budget.monthly:
                    raise BudgetRefusedError(f"monthly budget {budget.monthly} reached")
        call_id = self.ledger.reserve(
            ts_ms=self._now_ms(),
            day=window.day,
            month=window.month,
            provider=provider,
            model=model,
            rung=rung,
            decision_id=decision_id,
            critical=critical,
            reserved=amount,
            input_cost=input_cost,
        )
        reservation = Reservation(
            call_id, provider, model, window, amount, input_cost, critical, decision_id
        )
        self.open[call_id] = reservation
        return reservation

    def settle(self, reservation: Reservation, usage: Usage) -> Decimal:
        """The call answered: its cost from the provider's usage."""
        cost = self.pricing.cost(reservation.provider, reservation.model, usage)
        if cost > reservation.amount:
            # Recorded in full all the same: the ledger never holds less than was spent.
            log.warning(
                "ai_cost_over_reservation",
                model=reservation.model,
                cost=str(cost),
                reserved=str(reservation.amount),
            )
        self._close(reservation, "settled", cost, usage)
        return cost

    def cancel(self, reservation: Reservation, *, billed: bool) -> Decimal:
        """The call timed out or was cancelled (`billed`: the input may have been charged), or
        the provider answered with an error (not billed)."""
        cost = reservation.input_cost if billed else ZERO
        self._close(reservation, "cancelled" if billed else "failed", cost, None)
        return cost

    def _close(
        self, reservation: Reservation, state: str, cost: Decimal, usage: Usage | None
    ) -> None:
        latency_ms = (time.monotonic() - reservation.started) * 1000
        self.ledger.settle(reservation.call_id, state, cost, usage, latency_ms)
        del self.open[reservation.call_id]
        self._add_spent(reservation.window.day, reservation.window.month, cost)
        if reservation.decision_id is not None:
            with money():
                self.decision_cost[reservation.decision_id] = (
                    self.decision_cost.get(reservation.decision_id, ZERO) + cost
                )

    def _add_spent(self, day: str, month: str, amount: Decimal) -> None:
        with money():
            self.spent[day] = self.spent.get(day, ZERO) + amount
            self.spent[month] = self.spent.get(month, ZERO) + amount

    # -- outcomes -----------------------------------------------------------------------------

    def outcome(
        self,
        decision_id: str,
        *,
        rung: str,
        action: str,
        shadow_action: str,
        profit: Decimal | None,
        shadow_profit: Decimal | None,
    ) -> int:
        """Records how a decision ended, and what the rules alone would have earned; returns
        the ladder's move (+1 demoted, -1 promoted, 0)."""
        now = self._now_ms()
        window = self.window()
        cost = self.decision_cost.pop(decision_id, ZERO)
        self.ledger.outcome(
            OutcomeRow(
                decision_id,
                now,
                window.day,
                window.month,
                rung,
                action,
                shadow_action,
                cost,
                profit,
                shadow_profit,
            )
        )
        if rung == "rules" or profit is None or shadow_profit is None:
            return 0
        self.returns.add(Resolved(now, profit, shadow_profit, cost))
        budget = self.budget(window)
        paid = sum(1 for name in ("cloud", "premium") if budget.model(name) is not None)
        move = self.returns.judge(now, paid)
        if move:
            log.warning(
                "ai_ladder_demoted" if move > 0 else "ai_ladder_promoted",
                roi=str(self.returns.roi(now)),
                target=str(self.settings.roi_target),
                rungs_removed=self.returns.demoted,
            )
        return move

    def snapshot(self) -> dict[str, Any]:
        """Today's spend and what is left, for status and telemetry."""
        window = self.window()
        budget = self.budget(window)
        day, _ = self.committed(window)
        with money():
            return {
                "day": window.day,
                "spent_today": str(self.spent.get(window.day, ZERO)),
                "reserved": str(day - self.spent.get(window.day, ZERO)),
                "daily_limit": str(budget.daily),
                "remaining_today": str(max(ZERO, budget.daily - day)),
                "spent_month": str(self.spent.get(window.month, ZERO)),
                "monthly_budget": str(budget.monthly),
                "in_flight": len(self.open),
                "rungs": ["rules", "local", *self.paid_rungs()],
                "roi": None if (roi := self.returns.roi(self._now_ms())) is None else str(roi),
            }

    def paid_rungs(self) -> list[str]:
        """The paid rungs this tier has, less those the ROI took away, lowest first."""
        budget = self.budget()
        rungs = [name for name in ("cloud", "premium") if budget.model(name) is not None]
        return rungs[: len(rungs) - self.returns.demoted]
