"""Risk limits, the paper broker and the executor, in process over real books, a real journal
(SQLite in a temp dir) and the real portfolio."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from arbiter.config import RiskSettings
from arbiter.decisions import Decision, LegPlan
from arbiter.execution.executor import Executor
from arbiter.execution.orders import OrderRequest
from arbiter.execution.paper import PaperBroker
from arbiter.execution.portfolio import Portfolio
from arbiter.execution.risk import Risk, RiskState
from arbiter.journal import Journal
from arbiter.market_data import BookState, MarketData
from arbiter.money import to_decimal

FEE = Decimal("0.001")


class Desk:
    """Two venues quoting BTC/USDT, A cheaper than B, and everything execution needs."""

    def __init__(self, tmp_path: Path, risk: RiskSettings | None = None) -> None:
        self.market = MarketData()
        for venue in ("a", "b"):
            self.market.add(venue, "BTC/USDT", "spot", max_age=30)
        self.quote("a", bids=[[99.0, 5.0]], asks=[[100.0, 1.0], [100.5, 2.0], [101.0, 5.0]])
        self.quote("b", bids=[[102.0, 1.0], [101.5, 2.0]], asks=[[103.0, 5.0]])
        self.journal = Journal(tmp_path / "paper.sqlite")
        opening = {
            ("a", "USDT"): Decimal(1000),
            ("b", "BTC"): Decimal(2),
            ("b", "USDT"): Decimal(0),
            ("a", "BTC"): Decimal(0),
        }
        self.portfolio = Portfolio.opening("USDT", opening, self.mark)
        self.broker = PaperBroker(
            self.market,
            portfolio=self.portfolio,
            journal=self.journal,
            fees={"a": FEE, "b": FEE},
            latency_s=0.01,
            marks=self.mark,
        )
        self.risk = Risk(risk or RiskSettings(max_position=Decimal(10**6)), RiskState())
        self.executor = Executor(
            self.broker,
            risk=self.risk,
            journal=self.journal,
            market=self.market,
            portfolio=self.portfolio,
            marks=self.mark,
            on_balances=lambda venue, pair: None,
        )
        self.update_id = 1

    def quote(self, venue: str, bids: list[list[float]], asks: list[list[float]]) -> None:
        self.update_id = getattr(self, "update_id", 0) + 1
        self.market.update(venue, "BTC/USDT", self.update_id, bids, asks, exchange_ms=None)

    def mark(self, asset: str) -> Decimal | None:
        if asset == "USDT":
            return Decimal(1)
        mid = self.market.mid_price(asset, "USDT")
        return None if mid is None else to_decimal(mid)

    def cross(self, amount: str, buy_limit: str = "101", sell_limit: str = "101.5") -> Decision:
        return Decision(
            id="d1",
            ts_ms=0,
            key="cross:a:BTC/USDT>b:BTC/USDT",
            kind="cross",
            tier="spot_arbitrage",
            legs=(
                LegPlan("a", "BTC/USDT", "buy", Decimal(amount), Decimal(buy_limit)),
                LegPlan("b", "BTC/USDT", "sell", Decimal(amount), Decimal(sell_limit)),
            ),
            expected_profit=Decimal(1),
        )


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path)


async def test_a_cross_trade_fills_both_legs_with_exact_fees(desk: Desk) -> None:
    assert (await desk.executor.run(desk.cross("2")))[0] == "done"
    p = desk.portfolio
    bought = Decimal(2)  # 1 @ 100 + 1 @ 100.5 = 200.5 USDT; fee 0.002 BTC
    assert p.balance("a", "USDT") == Decimal(1000) - Decimal("200.5")
    assert p.balance("a", "BTC") == bought - bought * FEE
    # Leg 2 sells what leg 1 delivered: 1.998 BTC; 1 @ 102 + 0.998 @ 101.5.
    sold = bought - bought * FEE
    proceeds = Decimal(102) + (sold - 1) * Decimal("101.5")
    assert p.balance("b", "BTC") == Decimal(2) - sold
    assert p.balance("b", "USDT") == proceeds - proceeds * FEE
    states = desk.journal.db.execute("SELECT state FROM decisions").fetchall()
    assert states == [("done",)]


async def test_fills_walk_the_book_as_it_is_after_the_latency(desk: Desk) -> None:
    order = OrderRequest("o1", "d", "a", "BTC/USDT", "buy", Decimal(1), Decimal(200), "entry")
    execution = asyncio.create_task(desk.broker.execute(order))
    await asyncio.sleep(0)  # the order is in flight
    desk.quote("a", bids=[[99.0, 5.0]], asks=[[100.7, 3.0]])
    result = await execution
    assert result.quote == Decimal("100.7")


async def test_partial_fills_stop_at_the_limit_the_depth_and_the_balance(desk: Desk) -> None:
    by_limit = await desk.broker.execute(
        OrderRequest("o1", "d", "a", "BTC/USDT", "buy", Decimal(5), Decimal("100.5"), "entry")
    )
    assert (by_limit.filled, by_limit.reason) == (Decimal(3), "partial")
    by_balance = await desk.broker.execute(
        OrderRequest("o2", "d", "a", "BTC/USDT", "buy", Decimal(100), None, "entry")
    )
    assert desk.portfolio.balance("a", "USDT") >= 0
    assert by_balance.quote <= Decimal(1000) - Decimal("301")
    by_holding = await desk.broker.execute(
        OrderRequest("o3", "d", "b", "BTC/USDT", "sell", Decimal(50), None, "entry")
    )
    assert by_holding.filled == Decimal(2)  # all that b held, though the book had 3
    assert desk.portfolio.balance("b", "BTC") == 0


async def test_a_second_leg_that_cannot_fill_is_unwound_and_the_loss_recorded(desk: Desk) -> None:
    decision = desk.cross("1", sell_limit="105")  # nobody on b pays 105
    with capture_logs() as logs:
        assert (await desk.executor.run(decision))[0] == "unwound"
    assert desk.portfolio.balance("a", "BTC") == 0  # what leg 1 delivered was sold back
    assert desk.portfolio.balance("b", "BTC") == Decimal(2)
    closed = next(e for e in logs if e["event"] == "decision_closed")
    assert Decimal(closed["cash_pnl"]) < 0  # bought at 100, sold back at 99, fees both ways
    purposes = [e["purpose"] for e in logs if e["event"] == "order_filled"]
    assert purposes == ["entry", "unwind"]


@pytest.mark.parametrize(
    ("limits", "prepare", "limit"),
    [
        (RiskSettings(max_order_notional=Decimal(50)), None, "max_order_notional"),
        (RiskSettings(max_position=Decimal(50)), None, "max_position"),
        (RiskSettings(max_daily_loss=Decimal(10)), "loss", "max_daily_loss"),
        (RiskSettings(max_open_decisions=1), "busy", "max_open_decisions"),
        (RiskSettings(max_position=Decimal(10**6)), "stale", "stale_book"),
        (RiskSettings(max_position=Decimal(10**6)), "halt", "halted"),
    ],
)
async def test_each_risk_limit_refuses_the_order_that_would_break_it(
    tmp_path: Path, limits: RiskSettings, prepare: str | None, limit: str
) -> None:
    desk = Desk(tmp_path, limits)
    if prepare == "loss":
        desk.risk.state.today_pnl = Decimal(-10)
    elif prepare == "busy":
        desk.risk.state.open_decisions = 1
    elif prepare == "stale":
        desk.market.mark("a", "BTC/USDT", BookState.STALE, "test")
    elif prepare == "halt":
        desk.executor.halt("test", flatten=False)
    with capture_logs() as logs:
        assert (await desk.executor.run(desk.cross("1"))) == ("rejected", 0)
    rejections = [e for e in logs if e["event"] == "order_rejected"]
    assert [e["limit"] for e in rejections] == [limit]
    assert desk.portfolio.balance("a", "BTC") == 0  # nothing was sent


async def test_a_daily_loss_beyond_the_limit_halts_new_risk(tmp_path: Path) -> None:
    desk = Desk(tmp_path, RiskSettings(max_daily_loss=Decimal("0.5"), max_position=Decimal(10**6)))
    await desk.executor.run(desk.cross("1", sell_limit="105"))  # unwound at a loss of ~1.2
    assert desk.risk.state.halted
    assert desk.journal.active_halts()[0]["reason"] == "max_daily_loss"
