"""The paper broker (the default): taker orders filled by walking the live book after a
latency, partially when depth, the limit price or the balance runs out, with exact fees."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from arbiter.decisions import Side
from arbiter.execution.portfolio import Portfolio, Trade
from arbiter.journal import FillRecord, Journal
from arbiter.market_data import MarketData
from arbiter.money import ZERO, money, quantity, to_decimal

#: Levels read from a book for one fill; far more than a small account's order can reach.
WALK_DEPTH = 500


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    decision_id: str
    venue: str
    symbol: str
    side: Side
    amount: Decimal  # base
    limit_price: Decimal | None  # None: whatever the book gives (unwinds)
    purpose: str  # entry | unwind | flatten
    max_quote: Decimal | None = None  # a buy spends at most this much quote


@dataclass(frozen=True, slots=True)
class OrderResult:
    request: OrderRequest
    filled: Decimal  # base
    quote: Decimal
    fee: Decimal
    fee_asset: str
    realised: Decimal  # change in realised PnL (before fees), report asset
    fee_value: Decimal  # report asset
    reason: str | None = None

    @property
    def received(self) -> Decimal:
        """What the order delivered, net of the fee (base for a buy, quote for a sell)."""
        gross = self.filled if self.request.side == "buy" else self.quote
        return gross - self.fee


def assets(symbol: str) -> tuple[str, str]:
    base, _, rest = symbol.partition("/")
    return base, rest.split(":")[0]


Marks = Callable[[str], Decimal | None]


class PaperBroker:
    def __init__(
        self,
        market: MarketData,
        *,
        portfolio: Portfolio,
        journal: Journal,
        fees: dict[str, Decimal],
        latency_s: float,
        marks: Marks,
    ) -> None:
        self.market = market
        self.portfolio = portfolio
        self.journal = journal
        self.fees = fees
        self.latency_s = latency_s
        self.marks = marks

    async def execute(self, order: OrderRequest) -> OrderResult:
        self.journal.order(
            {
                "client_order_id": order.client_order_id,
                "decision_id": order.decision_id,
                "ts_ms": now_ms(),
                "venue": order.venue,
                "symbol": order.symbol,
                "side": order.side,
                "amount": order.amount,
                "limit_price": order.limit_price,
                "state": "sent",
                "purpose": order.purpose,
            }
        )
        await asyncio.sleep(self.latency_s)
        book = self.market.usable(order.venue, order.symbol)
        if book is None:
            return self._unfilled(order, "book unusable at execution")
        side: Literal["bid", "ask"] = "ask" if order.side == "buy" else "bid"
        levels = [(to_decimal(p), to_decimal(s)) for p, s in book.levels(side, WALK_DEPTH)]
        base, quote = assets(order.symbol)
        rate = self.fees[order.venue]
        with money():
            filled, paid = self._walk(
                order, levels, rate, self.portfolio.balance(order.venue, quote)
            )
            if filled <= 0:
                return self._unfilled(order, "nothing fillable within limit, depth or balance")
            if order.side == "buy":
                trade = Trade(order.venue, quote, paid, base, filled, filled * rate)
            else:
                trade = Trade(order.venue, base, filled, quote, paid, paid * rate)
            realised_before = self.portfolio.realised
            fee_value = self.portfolio.apply(trade, self.marks)
            realised = self.portfolio.realised - realised_before
        result = OrderResult(
            order,
            filled,
            paid,
            trade.fee,
            trade.get_asset,
            realised,
            fee_value,
            None if filled == order.amount else "partial",
        )
        self._journal_fill(result, trade)
        return result

    def _walk(
        self,
        order: OrderRequest,
        levels: list[tuple[Decimal, Decimal]],
        rate: Decimal,
        quote_held: Decimal,
    ) -> tuple[Decimal, Decimal]:
        """(base filled, quote exchanged) walking `levels` within the limit and the balance."""
        wanted = order.amount
        if order.side == "sell":
            wanted = min(wanted, self.portfolio.balance(order.venue, assets(order.symbol)[0]))
        budget = quote_held if order.max_quote is None else min(quote_held, order.max_quote)
        filled = paid = ZERO
        for price, size in levels:
            if order.limit_price is not None and (
                price > order.limit_price if order.side == "buy" else price < order.limit_price
            ):
                break
            take = min(size, wanted - filled)
            if order.side == "buy":
                take = min(take, quantity((budget - paid) / price))
            take = quantity(take)
            if take <= 0:
                break
            filled += take
            paid += take * price
            if filled >= wanted:
                break
        return filled, paid

    def _unfilled(self, order: OrderRequest, reason: str) -> OrderResult:
        self.journal.set_order_state(order.client_order_id, "unfilled")
        _, quote = assets(order.symbol)
        return OrderResult(order, ZERO, ZERO, ZERO, quote, ZERO, ZERO, reason)

    def _journal_fill(self, result: OrderResult, trade: Trade) -> None:
        order = result.request
        touched = {
            key: (self.portfolio.balances[key], self.portfolio.basis.get(key, ZERO))
            for key in ((order.venue, trade.give_asset), (order.venue, trade.get_asset))
        }
        record = FillRecord(
            fill_id=f"{order.client_order_id}-1",
            client_order_id=order.client_order_id,
            ts_ms=now_ms(),
            venue=order.venue,
            symbol=order.symbol,
            side=order.side,
            base=result.filled,
            quote=result.quote,
            fee=result.fee,
            fee_asset=result.fee_asset,
            fee_value=result.fee_value,
            realised=result.realised,
        )
        state = "filled" if result.reason is None else "partial"
        self.journal.fill(record, touched, self.portfolio.realised, self.portfolio.fees, state)


def now_ms() -> int:
    return time.time_ns() // 1_000_000
