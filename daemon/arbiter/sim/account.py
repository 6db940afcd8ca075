"""A Binance spot account in the emulator: signed private endpoints (`/api/v3/account`,
`/api/v3/order`, `/api/v3/openOrders`) that fill market and IOC limit orders against the
replayed book, with balances, commission and duplicate-client-id refusal, as Binance does."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from arbiter.sim.market import Market

COMMISSION = Decimal("0.001")  # taker, charged on what is received


def error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "msg": message}, status=status)


@dataclass
class Account:
    api_key: str
    api_secret: str
    balances: dict[str, Decimal]
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # by client order id
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def authenticate(self, request: web.Request, raw: str) -> dict[str, str] | web.Response:
        """The request's parameters if its key and HMAC-SHA256 signature are right."""
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return error(401, -1022, "Signature for this request is not valid.")
        return dict(parse_qsl(payload, keep_blank_values=True))

    def account(self) -> dict[str, Any]:
        return {
            "canTrade": True,
            "accountType": "SPOT",
            "updateTime": int(time.time() * 1000),
            "balances": [
                {"asset": asset, "free": str(amount), "locked": "0"}
                for asset, amount in sorted(self.balances.items())
            ],
            "permissions": ["SPOT"],
        }

    def place(self, market: Market, params: dict[str, str]) -> web.Response:
        client_id = params.get("newClientOrderId") or f"emu-{next(self.ids)}"
        if client_id in self.orders:
            return error(400, -2010, "Duplicate order sent.")
        side, kind = params.get("side"), params.get("type")
        base, quote = market_assets(market.symbol)
        book = market.asks if side == "BUY" else market.bids
        levels = sorted(((Decimal(p), Decimal(s)) for p, s in book.items()), reverse=side == "SELL")
        limit = Decimal(params["price"]) if kind == "LIMIT" else None
        wanted = Decimal(params["quantity"]) if "quantity" in params else None
        budget = Decimal(params["quoteOrderQty"]) if "quoteOrderQty" in params else None
        fills, filled, spent = [], Decimal(0), Decimal(0)
        for price, size in levels:
            if limit is not None and (price > limit if side == "BUY" else price < limit):
                break
            take = size if wanted is None else min(size, wanted - filled)
            if budget is not None:
                take = min(take, ((budget - spent) / price).quantize(Decimal("1e-8"), ROUND_DOWN))
            if take <= 0:
                break
            fills.append((price, take))
            filled += take
            spent += take * price
        if (side == "BUY" and self.balances.get(quote, Decimal(0)) < spent) or (
            side == "SELL" and self.balances.get(base, Decimal(0)) < filled
        ):
            return error(400, -2010, "Account has insufficient balance for requested action.")
        received, paid = (base, quote) if side == "BUY" else (quote, base)
        gross = filled if side == "BUY" else spent
        commission = gross * COMMISSION
        self.balances[paid] = self.balances.get(paid, Decimal(0)) - (
            spent if side == "BUY" else filled
        )
        self.balances[received] = self.balances.get(received, Decimal(0)) + gross - commission
        complete = wanted is None or filled == wanted
        order = {
            "symbol": market.symbol,
            "orderId": next(self.ids),
            "orderListId": -1,
            "clientOrderId": client_id,
            "transactTime": int(time.time() * 1000),
            "price": params.get("price", "0"),
            "origQty": params.get("quantity", str(filled)),
            "executedQty": str(filled),
            "cummulativeQuoteQty": str(spent),
            "status": "FILLED" if complete and filled > 0 else "EXPIRED",
            "timeInForce": params.get("timeInForce", "GTC"),
            "type": kind,
            "side": side,
            "fills": [
                {
                    "price": str(price),
                    "qty": str(qty),
                    "commission": str((qty if side == "BUY" else qty * price) * COMMISSION),
                    "commissionAsset": received,
                    "tradeId": next(self.ids),
                }
                for price, qty in fills
            ],
        }
        self.orders[client_id] = order
        return web.json_response(order)

    def order(self, params: dict[str, str]) -> web.Response:
        order = self.orders.get(params.get("origClientOrderId", ""))
        if order is None:
            return error(400, -2013, "Order does not exist.")
        return web.json_response(order)


def market_assets(symbol: str) -> tuple[str, str]:
    for quote in ("USDT", "USDC", "BUSD", "BTC", "ETH"):
        if symbol.endswith(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"cannot split {symbol}")
