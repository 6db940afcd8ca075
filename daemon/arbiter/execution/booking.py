"""Booking a fill: into the portfolio and the journal, together, once."""

from __future__ import annotations

from decimal import Decimal

from arbiter.execution.orders import OrderRequest, OrderResult, assets, now_ms
from arbiter.execution.portfolio import Marks, Portfolio, Trade
from arbiter.journal import FillRecord, Journal
from arbiter.money import ZERO, money


def book_fill(
    order: OrderRequest,
    *,
    fill_id: str,
    filled: Decimal,
    quote: Decimal,
    fee: Decimal,
    portfolio: Portfolio,
    journal: Journal,
    marks: Marks,
) -> OrderResult:
    """Applies a fill (`fee` in the received asset) and journals it with the balances it left,
    in one transaction. A fill id already journaled changes nothing (a retried or recovered
    order is never booked twice)."""
    base, quote_asset = assets(order.symbol)
    if order.side == "buy":
        trade = Trade(order.venue, quote_asset, quote, base, filled, fee)
    else:
        trade = Trade(order.venue, base, filled, quote_asset, quote, fee)
    partial = filled < order.amount and order.max_quote is None
    if journal.has_fill(fill_id):
        return OrderResult(order, filled, quote, fee, trade.get_asset, ZERO, ZERO, "already booked")
    with money():
        realised_before = portfolio.realised
        fee_value = portfolio.apply(trade, marks)
        realised = portfolio.realised - realised_before
    touched = {
        key: (portfolio.balances[key], portfolio.basis.get(key, ZERO))
        for key in ((order.venue, trade.give_asset), (order.venue, trade.get_asset))
    }
    record = FillRecord(
        fill_id=fill_id,
        client_order_id=order.client_order_id,
        ts_ms=now_ms(),
        venue=order.venue,
        symbol=order.symbol,
        side=order.side,
        base=filled,
        quote=quote,
        fee=fee,
        fee_asset=trade.get_asset,
        fee_value=fee_value,
        realised=realised,
    )
    state = "partial" if partial else "filled"
    journal.fill(record, touched, portfolio.realised, portfolio.fees, state)
    return OrderResult(
        order,
        filled,
        quote,
        fee,
        trade.get_asset,
        realised,
        fee_value,
        "partial" if partial else None,
    )
