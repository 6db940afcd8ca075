"""Executes a decision leg by leg: risk checks before every order that adds risk, each leg sized
from what the previous one delivered, and anything left unhedged by a failed or partial leg
traded back through the completed legs (the loss recorded)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arbiter.decisions import Decision, LegPlan, Side
from arbiter.errors import OrderRejectedError
from arbiter.execution.orders import Broker, OrderRequest, OrderResult, assets, now_ms
from arbiter.execution.portfolio import Portfolio
from arbiter.execution.risk import Risk
from arbiter.journal import Journal
from arbiter.logging import get_logger
from arbiter.market_data import MarketData
from arbiter.money import ZERO, money, quantity

log = get_logger("arbiter.execution")

Marks = Callable[[str], Decimal | None]
BalancesChanged = Callable[[str, tuple[str, str]], None]


class Executor:
    def __init__(
        self,
        broker: Broker,
        *,
        risk: Risk,
        journal: Journal,
        market: MarketData,
        portfolio: Portfolio,
        marks: Marks,
        on_balances: BalancesChanged,
    ) -> None:
        self.broker = broker
        self.risk = risk
        self.journal = journal
        self.market = market
        self.portfolio = portfolio
        self.marks = marks
        self.on_balances = on_balances
        #: Per open decision: quote received less quote paid less fees, in the report asset.
        self.cash: dict[str, Decimal] = {}
        #: Telemetry sink (topic, body): MQTT when enabled.
        self.publish: Callable[[str, dict[str, Any]], None] = lambda topic, body: None

    async def run(self, decision: Decision) -> tuple[str, Decimal]:
        """Runs a decision to its end; returns its final state and what it earned in cash
        (report asset, fees included)."""
        try:
            self.risk.check_decision()
            self._check(decision.legs[0], self._order(decision, 0, decision.legs[0], None))
        except OrderRejectedError as error:
            # Refused before anything was sent: logged, not journaled.
            log.info("decision_rejected", key=decision.key, limit=error.limit)
            return "rejected", ZERO
        self.journal.open_decision(decision)
        self.risk.state.open_decisions += 1
        opened = {
            "id": decision.id,
            "key": decision.key,
            "kind": decision.kind,
            "tier": decision.tier,
            "expected_profit": str(decision.expected_profit),
        }
        log.info("decision", **opened)
        self.publish("decisions", {"event": "opened", **opened, "legs": decision.legs_as_json()})
        self.cash[decision.id] = ZERO
        state: str = "failed"
        reason: str | None = "unexpected error"
        try:
            state, reason = await self._legs(decision)
        finally:
            self.risk.state.open_decisions -= 1
            self.journal.close_decision(decision.id, now_ms(), state, reason)
            cash = self.cash.pop(decision.id)
            log.info(
                "decision_closed", id=decision.id, state=state, reason=reason, cash_pnl=str(cash)
            )
            self.publish(
                "decisions",
                {
                    "event": "closed",
                    "id": decision.id,
                    "state": state,
                    "reason": reason,
                    "cash_pnl": str(cash),
                },
            )
        return state, cash

    async def _legs(self, decision: Decision) -> tuple[str, str | None]:
        done: list[tuple[LegPlan, OrderResult]] = []
        for index, leg in enumerate(decision.legs):
            carry = done[-1][1] if done else None
            order = self._order(decision, index, leg, carry)
            try:
                self._check(leg, order)
            except OrderRejectedError as error:
                if not done:
                    return "rejected", error.limit
                await self._unwind(decision, done, carry.received if carry else ZERO)
                return "unwound", f"leg {index + 1} rejected: {error.limit}"
            result = await self.execute_order(order)
            if carry is not None:
                consumed = result.filled if leg.side == "sell" else result.quote
                leftover = carry.received - consumed
                if result.filled <= 0 or leftover > 0:
                    await self._unwind(decision, done, leftover)
                    return "unwound", f"leg {index + 1}: {result.reason or 'partial'}"
            elif result.filled <= 0:
                return "failed", result.reason
            done.append((leg, result))
        return "done", None

    def _order(
        self, decision: Decision, index: int, leg: LegPlan, carry: OrderResult | None
    ) -> OrderRequest:
        amount, max_quote = leg.amount, None
        if carry is not None:
            if leg.side == "sell":  # sell what the previous leg delivered
                amount = carry.received
            else:  # spend what the previous leg delivered
                max_quote = carry.received
                with money():
                    amount = quantity(carry.received / leg.limit_price)
        return OrderRequest(
            client_order_id=f"{decision.id}-{index + 1}",
            decision_id=decision.id,
            venue=leg.venue,
            symbol=leg.symbol,
            side=leg.side,
            amount=amount,
            limit_price=leg.limit_price,
            purpose="entry",
            max_quote=max_quote,
        )

    def _check(self, leg: LegPlan, order: OrderRequest) -> None:
        base, quote = assets(leg.symbol)
        base_mark = self.marks(base) or ZERO
        quote_mark = self.marks(quote) or ZERO
        with money():
            notional = order.amount * leg.limit_price * quote_mark
            change = order.amount if leg.side == "buy" else -order.amount
            position_after = (self.portfolio.position(base) + change) * base_mark
        usable = self.market.usable(leg.venue, leg.symbol) is not None
        if leg.side == "sell":
            position_after = min(position_after, ZERO)  # a sale only takes risk off
        self.risk.check_order(
            leg, notional=notional, position_after=position_after, book_usable=usable
        )

    async def execute_order(self, order: OrderRequest) -> OrderResult:
        result = await self.broker.execute(order)
        if result.filled > 0:
            fill = {
                "client_order_id": order.client_order_id,
                "venue": order.venue,
                "symbol": order.symbol,
                "side": order.side,
                "purpose": order.purpose,
                "base": str(result.filled),
                "quote": str(result.quote),
                "fee": str(result.fee),
                "fee_asset": result.fee_asset,
            }
            log.info("order_filled", **fill, partial=result.reason == "partial")
            self.publish("fills", {**fill, "decision_id": order.decision_id})
            self.on_balances(order.venue, assets(order.symbol))
            quote_mark = self.marks(assets(order.symbol)[1]) or ZERO
            with money():
                pnl = result.realised - result.fee_value
                flow = result.quote * quote_mark * (1 if order.side == "sell" else -1)
                if order.decision_id in self.cash:
                    self.cash[order.decision_id] += flow - result.fee_value
            if self.risk.record_pnl(pnl) and not self.risk.state.halted:
                self.halt("max_daily_loss", flatten=False)
        return result

    async def _unwind(
        self, decision: Decision, done: list[tuple[LegPlan, OrderResult]], leftover: Decimal
    ) -> None:
        """Trades `leftover` back through the completed legs, last first, at any price."""
        for number, (leg, _) in reversed(list(enumerate(done, start=1))):
            if leftover <= 0:
                return
            reverse: Side = "sell" if leg.side == "buy" else "buy"
            order = OrderRequest(
                client_order_id=f"{decision.id}-u{number}",
                decision_id=decision.id,
                venue=leg.venue,
                symbol=leg.symbol,
                side=reverse,
                amount=leftover if reverse == "sell" else Decimal(10) ** 12,
                limit_price=None,
                purpose="unwind",
                max_quote=leftover if reverse == "buy" else None,
            )
            result = await self.execute_order(order)
            if result.filled <= 0:
                log.error("unwind_failed", decision=decision.id, leg=number, reason=result.reason)
                return
            leftover = result.received

    def halt(self, reason: str, flatten: bool) -> None:
        self.journal.halt(now_ms(), reason, flatten)
        self.risk.state.halts.append({"ts_ms": now_ms(), "reason": reason, "flatten": flatten})
        log.warning("halted", reason=reason, flatten=flatten)
