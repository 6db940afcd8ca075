"""What the strategy hands to execution: a decision with its legs, as plain values."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from arbiter.money import money, quantity

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
    profit_bps: float = 0.0
    persistence_ms: int = 0
    #: What the first leg commits, in the report asset.
    stake: Decimal = Decimal(0)
    #: Critical decisions (e.g. leaving a position at risk) may spend the AI's emergency reserve.
    critical: bool = False
    #: The attention signal's confidence that every book of the decision stays flat; None
    #: without a signal.
    signal_flat: float | None = None

    def scaled(self, share: Decimal) -> Decision:
        """The same decision with every leg's amount cut to `share` of it."""
        legs = tuple(replace(leg, amount=quantity(leg.amount * share)) for leg in self.legs)
        with money():
            return replace(
                self,
                legs=legs,
                expected_profit=self.expected_profit * share,
                stake=self.stake * share,
            )

    def legs_as_json(self) -> list[dict[str, Any]]:
        return [{k: str(v) for k, v in asdict(leg).items()} for leg in self.legs]
