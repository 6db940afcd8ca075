"""The live broker (opt-in: `mode = "live"` and ARBITER_CONFIRM_LIVE=yes): orders through
ccxt's `create_order`, each carrying our client order id, so a retry after a timeout or a crash
finds the order instead of placing it twice. Entries are IOC limit orders (taker, never resting);
unwinds and flattening are market orders.

Fills are read from Binance's own order response (executed quantity, quote quantity and
per-fill commissions, as decimal strings), so the books stay exact. At start the balances are
reconciled with the venue: the venue is the truth, and a difference is booked as a transfer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt

from arbiter.execution.booking import book_fill
from arbiter.execution.orders import OrderRequest, OrderResult, now_ms
from arbiter.execution.portfolio import Marks, Portfolio
from arbiter.journal import Journal
from arbiter.logging import get_logger
from arbiter.money import ZERO, money

log = get_logger("arbiter.live")


class LiveBroker:
    def __init__(
        self, exchanges: dict[str, Any], *, portfolio: Portfolio, journal: Journal, marks: Marks
    ) -> None:
        self.exchanges = exchanges
        self.portfolio = portfolio
        self.journal = journal
        self.marks = marks

    async def reconcile(self, symbols: dict[str, tuple[str, ...]]) -> None:
        """Balances from the venues (a difference is a deposit or withdrawal: it moves the
        opening equity, not PnL), and any open orders reported."""
        for venue, exchange in self.exchanges.items():
            await exchange.load_markets()
            balance = await exchange.fetch_balance()
            for row in balance["info"].get("balances", []):
                held = Decimal(row["free"]) + Decimal(row["locked"])
                self._adopt(venue, row["asset"], held)
            for symbol in symbols[venue]:
                for order in await exchange.fetch_open_orders(symbol):
                    log.warning(
                        "open_order_found",
                        venue=venue,
                        symbol=symbol,
                        client_order_id=order.get("clientOrderId"),
                        side=order.get("side"),
                        remaining=order.get("remaining"),
                    )

    def _adopt(self, venue: str, asset: str, held: Decimal) -> None:
        known = self.portfolio.balance(venue, asset)
        if held == known:
            return
        with money():
            change = held - known
            value = change * (self.portfolio.mark(asset, self.marks) if held else Decimal(1))
            self.portfolio.balances[(venue, asset)] = held
            if asset != self.portfolio.report_asset:
                self.portfolio.basis[(venue, asset)] = (
                    self.portfolio.basis.get((venue, asset), ZERO) + value
                )
            self.portfolio.initial_equity += value
        log.warning(
            "balance_reconciled",
            venue=venue,
            asset=asset,
            journal=str(known),
            venue_holds=str(held),
        )

    async def execute(self, order: OrderRequest) -> OrderResult:
        exchange = self.exchanges[order.venue]
        self.journal.order_sent(order, now_ms())
        try:
            response = await self._send(exchange, order)
        except (ccxt.InvalidOrder, ccxt.NetworkError) as error:
            # A duplicate client id, or no answer: ask the venue what became of our order.
            response = await self._find(exchange, order)
            if response is None:
                return self._unfilled(order, f"{type(error).__name__}: {error}")
        except ccxt.ExchangeError as error:
            return self._unfilled(order, f"{type(error).__name__}: {error}")
        info = response["info"]
        filled = Decimal(info["executedQty"])
        if filled <= 0:
            return self._unfilled(order, f"venue filled nothing ({info.get('status')})")
        fee = sum((Decimal(fill["commission"]) for fill in info.get("fills", [])), ZERO)
        return book_fill(
            order,
            fill_id=f"{order.venue}-{info['orderId']}",
            filled=filled,
            quote=Decimal(info["cummulativeQuoteQty"]),
            fee=fee,
            portfolio=self.portfolio,
            journal=self.journal,
            marks=self.marks,
        )

    async def _send(self, exchange: Any, order: OrderRequest) -> Any:
        params: dict[str, Any] = {
            "clientOrderId": order.client_order_id,
            "newOrderRespType": "FULL",
        }
        if order.limit_price is not None:
            params["timeInForce"] = "IOC"
            return await exchange.create_order(
                order.symbol,
                "limit",
                order.side,
                float(order.amount),
                float(order.limit_price),
                params,
            )
        if order.side == "buy" and order.max_quote is not None:
            params["quoteOrderQty"] = str(order.max_quote)
        return await exchange.create_order(
            order.symbol, "market", order.side, float(order.amount), None, params
        )

    async def _find(self, exchange: Any, order: OrderRequest) -> Any:
        try:
            return await exchange.fetch_order(
                None, order.symbol, {"origClientOrderId": order.client_order_id}
            )
        except ccxt.OrderNotFound:
            return None

    def _unfilled(self, order: OrderRequest, reason: str) -> OrderResult:
        self.journal.set_order_state(order.client_order_id, "unfilled")
        log.warning("order_unfilled", client_order_id=order.client_order_id, reason=reason)
        quote = order.symbol.split("/")[1].split(":")[0]
        return OrderResult(order, ZERO, ZERO, ZERO, quote, ZERO, ZERO, reason)

    async def close(self) -> None:
        for exchange in self.exchanges.values():
            await exchange.close()
