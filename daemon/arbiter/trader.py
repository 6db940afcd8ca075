"""The trading loop: each book update is scanned in the Rust core, opportunities are journaled
(sampled) and judged by the strategy, and decisions run through risk and the broker, a bounded
number at a time. Every step goes to the journal; a restart restores what limits risk."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import Any

from arbiter.agents.ladder import build_ladder
from arbiter.books import Opportunity
from arbiter.config import Settings
from arbiter.decisions import Decision
from arbiter.execution.executor import Executor
from arbiter.execution.live import LiveBroker
from arbiter.execution.orders import Broker, OrderRequest, assets, now_ms
from arbiter.execution.paper import PaperBroker
from arbiter.execution.portfolio import Portfolio
from arbiter.execution.risk import Risk, RiskState
from arbiter.feeds.venue import make_exchange
from arbiter.journal import Journal, day_start_ms
from arbiter.logging import get_logger
from arbiter.market_data import MarketData
from arbiter.money import ZERO, money, to_decimal
from arbiter.scanning import best_spread, build_scanner
from arbiter.signals import SignalBoard
from arbiter.strategy import Strategy

log = get_logger("arbiter.trader")
#: An opportunity whose decision risk refused is not tried again for this long.
REST_AFTER_REJECTION_MS = 5_000


class Trader:
    def __init__(self, settings: Settings, market: MarketData) -> None:
        self.settings = settings
        self.market = market
        strategy = settings.strategy
        self.report_asset = strategy.report_asset
        self.journal = Journal(settings.state_dir / f"{settings.mode}.sqlite")
        restored = self.journal.restore(now_ms())
        self._opening_pending = False
        self.portfolio = self._portfolio(
            restored.balances, restored.realised, restored.fees, restored.initial_equity
        )
        self.risk = Risk(settings.risk, RiskState(restored.today_pnl, 0, restored.active_halts))
        self.broker = self._broker()
        #: Live trading waits for the balances to be reconciled with the venues.
        self.reconciled = settings.mode != "live"
        self.executor = Executor(
            self.broker,
            risk=self.risk,
            journal=self.journal,
            market=market,
            portfolio=self.portfolio,
            marks=self.mark,
            on_balances=self._balances_changed,
        )
        self.executor.publish = self._publish
        self.ladder = build_ladder(
            settings, equity=self.equity, today_profit=lambda: self.risk.state.today_pnl
        )
        self.strategy = Strategy(strategy)
        self.scanner, self.cross_groups = build_scanner(settings, self.portfolio.balances)
        self.signals = SignalBoard(settings, self.cross_groups)
        self.queue: asyncio.Queue[Decision] = asyncio.Queue()
        self.active: set[str] = set()
        #: No new decisions while paused (remote control); scanning goes on.
        self.paused = False
        #: Telemetry sink (topic, body): MQTT when enabled.
        self.publish: Callable[[str, dict[str, Any]], None] = lambda topic, body: None
        #: Keys whose last decision was refused, and until when they rest (ms).
        self.resting: dict[str, int] = {}
        self.sampled: dict[str, int] = {}
        log.info(
            "journal_restored",
            balances=len(restored.balances),
            today_pnl=str(restored.today_pnl),
            halts=len(restored.active_halts),
            interrupted=restored.interrupted,
        )

    # -- set-up -------------------------------------------------------------------------------

    def _portfolio(
        self,
        balances: dict[tuple[str, str], tuple[Decimal, Decimal]],
        realised: Decimal,
        fees: Decimal,
        initial_equity: Decimal | None,
    ) -> Portfolio:
        if balances or initial_equity is not None:
            portfolio = Portfolio(self.report_asset)
            portfolio.balances = {key: amount for key, (amount, _) in balances.items()}
            portfolio.basis = {key: basis for key, (_, basis) in balances.items()}
            portfolio.realised, portfolio.fees = realised, fees
            portfolio.initial_equity = initial_equity or ZERO
            return portfolio
        if self.settings.mode == "live":
            return Portfolio(self.report_asset)  # the venues' balances are adopted at start
        # A fresh journal: open with the configured balances, their basis at opening marks
        # (books are not synced yet, so the configured opening is valued when first marked).
        opening = {
            (venue, asset): amount
            for venue, assets_ in self.settings.paper.balances.items()
            for asset, amount in assets_.items()
        }
        portfolio = Portfolio(self.report_asset, dict(opening))
        self._opening_pending = True
        return portfolio

    def _broker(self) -> Broker:
        settings = self.settings
        if settings.mode == "live":
            exchanges = {
                name: make_exchange(venue, on_malformed=lambda _sample: None)
                for name, venue in settings.venues.items()
            }
            return LiveBroker(
                exchanges, portfolio=self.portfolio, journal=self.journal, marks=self.mark
            )
        return PaperBroker(
            self.market,
            portfolio=self.portfolio,
            journal=self.journal,
            fees={name: venue.taker_fee for name, venue in settings.venues.items()},
            latency_s=settings.paper.latency_ms / 1000,
            marks=self.mark,
        )

    # -- marks, equity ------------------------------------------------------------------------

    def mark(self, asset: str) -> Decimal | None:
        if asset == self.report_asset:
            return Decimal(1)
        mid = self.market.mid_price(asset, self.report_asset)
        if mid is not None:
            return to_decimal(mid)
        return Decimal(1) if asset in self.settings.strategy.stablecoins else None

    def equity(self) -> Decimal | None:
        try:
            return self.portfolio.equity(self.mark)
        except LookupError:
            return None  # an asset held has no usable price yet

    def _open_if_pending(self) -> None:
        if not self._opening_pending:
            return
        try:
            opened = Portfolio.opening(self.report_asset, self.portfolio.balances, self.mark)
        except LookupError:
            return
        self.portfolio.basis, self.portfolio.initial_equity = opened.basis, opened.initial_equity
        touched = {k: (v, opened.basis.get(k, ZERO)) for k, v in opened.balances.items()}
        self.journal.opening_balances(touched, opened.initial_equity)
        self._opening_pending = False
        log.info("portfolio_opened", equity=str(opened.initial_equity))

    def _balances_changed(self, venue: str, pair: tuple[str, str]) -> None:
        for asset in pair:
            self.scanner.set_inventory(venue, asset, float(self.portfolio.balance(venue, asset)))

    # -- the loop -----------------------------------------------------------------------------

    def on_book(self, venue: str, symbol: str) -> None:
        """Called after every book update, synchronously: scanning is microseconds of Rust."""
        now = now_ms()
        self._open_if_pending()
        self.signals.update(self.market.store, venue, symbol)
        opportunities = self.scanner.on_update(self.market.store, venue, symbol, now)
        if not opportunities:
            return
        equity = self.equity()
        for opportunity in opportunities:
            self._sample(opportunity, now)
            if not self.settings.strategy.enabled or equity is None:
                continue
            if opportunity.key in self.active or self.risk.state.halted or not self.reconciled:
                continue
            if self.paused:
                continue
            if self.resting.get(opportunity.key, 0) > now:
                continue
            quote_mark = self.mark(assets(opportunity.legs[0].symbol)[1])
            if quote_mark is None:
                continue
            decision, _ = self.strategy.decide(opportunity, equity, quote_mark, now)
            if decision is not None:
                decision = replace(decision, signal_flat=self.signals.flat(decision))
                self.active.add(decision.key)
                self.queue.put_nowait(decision)

    def _sample(self, opportunity: Opportunity, now: int) -> None:
        """Journals an opportunity with the exact inputs it was computed from, at most once per
        `opportunity_sample_ms` per key."""
        last = self.sampled.get(opportunity.key)
        if last is not None and now - last < self.settings.strategy.opportunity_sample_ms:
            return
        self.sampled[opportunity.key] = now
        legs = [
            {
                "venue": leg.venue,
                "symbol": leg.symbol,
                "side": leg.side,
                "base": leg.base,
                "quote": leg.quote,
                "vwap": leg.vwap,
                "worst_price": leg.worst_price,
                "book_age_ms": self._book_age_ms(leg.venue, leg.symbol),
            }
            for leg in opportunity.legs
        ]
        summary = {
            "key": opportunity.key,
            "kind": opportunity.kind,
            "profit": opportunity.profit,
            "profit_bps": opportunity.profit_bps,
            "persistence_ms": opportunity.persistence_ms,
            "legs": legs,
        }
        self.journal.opportunity(now, {**summary, "inputs": self._inputs(opportunity)})
        self.publish("opportunities", summary)
        log.info(
            "opportunity",
            key=opportunity.key,
            kind=opportunity.kind,
            profit=opportunity.profit,
            profit_bps=round(opportunity.profit_bps, 3),
            persistence_ms=opportunity.persistence_ms,
            book_ages_ms=[leg["book_age_ms"] for leg in legs],
        )

    def _book_age_ms(self, venue: str, symbol: str) -> float | None:
        age = self.market.health[(venue, symbol)].age(time.monotonic())
        return None if age is None else round(age * 1000, 1)

    def _inputs(self, opportunity: Opportunity) -> dict[str, Any]:
        books: dict[str, Any] = {}
        inventory: dict[str, float] = {}
        for leg in opportunity.legs:
            book = self.market.store.copy_book(leg.venue, leg.symbol)
            if book is not None:
                books[f"{leg.venue}|{leg.symbol}"] = {
                    "bids": book.levels("bid", 100_000),
                    "asks": book.levels("ask", 100_000),
                    "price_decimals": book.price_decimals,
                }
            for asset in assets(leg.symbol):
                inventory[f"{leg.venue}|{asset}"] = float(self.portfolio.balance(leg.venue, asset))
        fees = {
            leg.venue: float(self.settings.venues[leg.venue].taker_fee) for leg in opportunity.legs
        }
        return {
            "books": books,
            "fees": fees,
            "inventory": inventory,
            "slippage_bps": self.settings.strategy.slippage_bps,
        }

    async def run(self) -> None:
        """Executes queued decisions, up to the open-decision limit at once."""
        await self.ladder.start()
        if isinstance(self.broker, LiveBroker):
            await self._reconcile(self.broker)
        slots = asyncio.Semaphore(self.settings.risk.max_open_decisions)
        async with asyncio.TaskGroup() as tasks:
            while True:
                decision = await self.queue.get()
                await slots.acquire()
                tasks.create_task(self._run(decision, slots), name=f"decision {decision.id}")

    async def _reconcile(self, broker: LiveBroker) -> None:
        """Adopts the venues' balances once every book can value them."""
        await self.market.first_synced.wait()
        symbols = {name: venue.symbols for name, venue in self.settings.venues.items()}
        await broker.reconcile(symbols)
        for (venue, asset), amount in self.portfolio.balances.items():
            self.scanner.set_inventory(venue, asset, float(amount))
        self.reconciled = True
        log.info("balances_reconciled", equity=str(self.equity()))

    async def _run(self, decision: Decision, slots: asyncio.Semaphore) -> None:
        try:
            await self._judge_and_execute(decision)
        finally:
            self.active.discard(decision.key)
            slots.release()

    async def _judge_and_execute(self, decision: Decision) -> None:
        """The ladder rules on the decision; it is executed at the size the ruling allows, and
        its outcome is set beside what the rules alone would have earned (the shadow)."""
        ruling = await self.ladder.decide(decision)
        outcome = partial(
            self.ladder.governor.outcome,
            decision.id,
            rung=ruling.rung,
            action=ruling.action,
            shadow_action="trade",
        )
        share = min(Decimal(1), ruling.size)
        if ruling.action == "skip" or share <= 0:
            log.info(
                "decision_skipped",
                key=decision.key,
                rung=ruling.rung,
                confidence=ruling.confidence,
                rationale=ruling.rationale,
            )
            self.resting[decision.key] = now_ms() + REST_AFTER_REJECTION_MS
            # Not traded: the shadow is valued at the profit the rules expected.
            outcome(profit=ZERO, shadow_profit=decision.expected_profit)
            return
        state, cash = await self.executor.run(decision.scaled(share) if share < 1 else decision)
        if state == "rejected":
            self.resting[decision.key] = now_ms() + REST_AFTER_REJECTION_MS
        with money():
            # A smaller trade than the rules': its result scaled back up to their size.
            outcome(profit=cash, shadow_profit=cash / share)

    # -- control ------------------------------------------------------------------------------

    async def halt(self, reason: str, flatten: bool) -> None:
        """The kill switch: no new risk; with `flatten`, sell every non-report asset held."""
        self.executor.halt(reason, flatten)
        if not flatten:
            return
        for (venue, asset), amount in list(self.portfolio.balances.items()):
            symbol = f"{asset}/{self.report_asset}"
            if asset == self.report_asset or amount <= 0:
                continue
            if symbol not in self.settings.venues[venue].symbols:
                log.warning("flatten_skipped", venue=venue, asset=asset, reason="no market")
                continue
            order = OrderRequest(
                client_order_id=f"flatten-{now_ms()}-{venue}-{asset}",
                decision_id="flatten",
                venue=venue,
                symbol=symbol,
                side="sell",
                amount=amount,
                limit_price=None,
                purpose="flatten",
            )
            await self.executor.execute_order(order)

    def resume(self) -> int:
        """Clears halts and a pause."""
        cleared = self.journal.clear_halts(now_ms())
        self.risk.state.halts.clear()
        self.paused = False
        log.info("resumed", halts_cleared=cleared)
        return cleared

    def _publish(self, topic: str, body: dict[str, Any]) -> None:
        self.publish(topic, body)  # late-bound: the bus is attached after construction

    def pause(self) -> None:
        self.paused = True
        log.info("paused")

    def set_risk(self, limit: str, value: Decimal, bounds: tuple[Decimal, Decimal]) -> None:
        """Moves one risk limit, within the bounds the configuration allows."""
        low, high = bounds
        if not low <= value <= high:
            raise ValueError(f"{limit} = {value} is outside [{low}, {high}]")
        current = self.risk.limits
        if limit not in type(current).model_fields:
            raise ValueError(f"unknown limit {limit!r}")
        self.risk.limits = current.model_copy(update={limit: type(getattr(current, limit))(value)})
        log.info("risk_changed", limit=limit, value=str(value))

    def reload(self, settings: Settings) -> None:
        """Takes a re-read configuration's strategy and risk sections (the rest needs a restart)."""
        self.settings = self.settings.model_copy(
            update={"strategy": settings.strategy, "risk": settings.risk}
        )
        self.strategy = Strategy(settings.strategy)
        self.risk.limits = settings.risk
        log.info("config_reloaded")

    def snapshot_equity(self) -> None:
        self.publish("spend", self.ai_status())
        equity = self.equity()
        if equity is None:
            return
        with money():
            unrealised = self.portfolio.unrealised(self.mark)
        self.journal.equity(
            now_ms(), equity, self.portfolio.realised, self.portfolio.fees, unrealised
        )
        self.publish(
            "equity",
            {
                "equity": str(equity),
                "realised": str(self.portfolio.realised),
                "fees": str(self.portfolio.fees),
                "unrealised": str(unrealised),
                "today_pnl": str(self.risk.state.today_pnl),
            },
        )
        log.info(
            "equity",
            equity=str(equity),
            realised=str(self.portfolio.realised),
            fees=str(self.portfolio.fees),
            unrealised=str(unrealised),
            today_pnl=str(self.risk.state.today_pnl),
        )

    def status(self) -> dict[str, Any]:
        equity = self.equity()
        held = {asset for _, asset in self.portfolio.balances} - {self.report_asset}
        positions = {asset: str(self.portfolio.position(asset)) for asset in sorted(held)}
        try:
            unrealised: str | None = str(self.portfolio.unrealised(self.mark))
        except LookupError:
            unrealised = None
        return {
            "balances": [
                {"venue": v, "asset": a, "amount": str(amount)}
                for (v, a), amount in sorted(self.portfolio.balances.items())
            ],
            "positions": positions,
            "equity": None if equity is None else str(equity),
            "initial_equity": str(self.portfolio.initial_equity),
            "realised": str(self.portfolio.realised),
            "fees": str(self.portfolio.fees),
            "unrealised": unrealised,
            "today_pnl": str(self.risk.state.today_pnl),
            "open_decisions": self.risk.state.open_decisions,
            "paused": self.paused,
            "decisions_today": self.journal.decisions_since(day_start_ms(now_ms())),
            "halts": self.risk.state.halts,
            "ai": self.ai_status(),
            "signals": self.signals.status(),
        }

    def ai_status(self) -> dict[str, Any]:
        return {**self.ladder.governor.snapshot(), "unavailable": self.ladder.unavailable}

    def best_spread(self) -> str | None:
        """For people: the best cross spread now, against the fees it must clear."""
        return best_spread(self.market.store, self.settings, self.cross_groups)

    async def close(self) -> None:
        if isinstance(self.broker, LiveBroker):
            await self.broker.close()
        self.journal.close()
        await self.ladder.close()
