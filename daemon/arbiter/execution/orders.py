"""Orders and their results, as both brokers take and give them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from arbiter.decisions import Side


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


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Broker(Protocol):
    """Executes one order and books what filled (paper or live)."""

    async def execute(self, order: OrderRequest) -> OrderResult: ...
