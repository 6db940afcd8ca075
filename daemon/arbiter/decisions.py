"""What the strategy hands to execution: a decision with its legs, as plain values."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

Side = Literal["buy", "sell"]


@dataclass(frozen=True, slots=True)
class LegPlan:
    """Take `amount` base on a book, paying no worse than `limit_price`."""

    venue: str
    symbol: str
    side: Side
    amount: Decimal
    limit_price: Decimal


@dataclass(frozen=True, slots=True)
class Decision:
    """One trade idea, all legs together: they succeed together or are unwound."""

    id: str
    ts_ms: int
    key: str
    kind: str
    tier: str
    legs: tuple[LegPlan, ...]
    expected_profit: Decimal

    def legs_as_json(self) -> list[dict[str, Any]]:
        return [{k: str(v) for k, v in asdict(leg).items()} for leg in self.legs]
