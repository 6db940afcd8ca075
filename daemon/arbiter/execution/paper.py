"""The paper broker (the default): taker orders filled by walking the live book after a
latency, partially when depth, the limit price or the balance runs out, with exact fees."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from arbiter.execution.booking import book_fill
from arbiter.execution.orders import OrderRequest, OrderResult, assets, now_ms
from arbiter.execution.portfolio import Portfolio
from arbiter.journal import Journal
from arbiter.market_data import MarketData
from arbiter.money import ZERO, money, quantity, to_decimal

#: Levels read from a book for one fill; far more than a small account's order can reach.
WALK_DEPTH = 500


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
        self.journal.order_sent(order, now_ms())
        await asyncio.sleep(self.latency_s)
        book = self.market.usable(order.venue, order.symbol)
        if book is None:
            return self._unfilled(order, "book unusable at execution")
        side: Literal["bid", "ask"] = "ask" if order.side == "buy" else "bid"
        levels = [(to_decimal(p), to_decimal(s)) for p, s in book.levels(side, WALK_DEPTH)]
        quote = assets(order.symbol)[1]
        rate = self.fees[order.venue]
        with money():
            filled, paid = self._walk(
                order, levels, rate, self.portfolio.balance(order.venue, quote)
            )
            if filled <= 0:
                return self._unfilled(order, "nothing fillable within limit, depth or balance")
            fee = (filled if order.side == "buy" else paid) * rate  # on what is received
        return book_fill(
            order,
            fill_id=f"{order.client_order_id}-1",
            filled=filled,
            quote=paid,
            fee=fee,
            portfolio=self.portfolio,
            journal=self.journal,
            marks=self.marks,
        )

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
