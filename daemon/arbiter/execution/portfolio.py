"""Balances per venue and asset, their cost basis, and PnL, exactly, in a report currency.

Accounting: every asset but the report currency carries a cost basis (what was given for it,
valued in the report currency). Disposing of units releases their share of the basis and
realises the difference; fees are valued when paid and kept apart. So at any time, to the last
unit:

    equity = initial equity + realised - fees + unrealised

Divisions (a disposed share of basis, a fee's value) are rounded once, to 1e-18, and the same
rounded figure is booked on both sides, so every sum stays exact.

with equity = report-currency balances + other balances at their marks, and unrealised = other
balances at their marks - their basis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from arbiter.errors import InsufficientBalanceError
from arbiter.money import ZERO, exact, money

Key = tuple[str, str]  # (venue, asset)
Marks = Callable[[str], Decimal | None]


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill, as the portfolio sees it: `give` of one asset for `get` of another, with `fee`
    paid in the received asset."""

    venue: str
    give_asset: str
    give: Decimal
    get_asset: str
    get: Decimal
    fee: Decimal


@dataclass
class Portfolio:
    report_asset: str = "USDT"
    balances: dict[Key, Decimal] = field(default_factory=dict)
    basis: dict[Key, Decimal] = field(default_factory=dict)
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    initial_equity: Decimal = ZERO

    @classmethod
    def opening(cls, report_asset: str, balances: Mapping[Key, Decimal], marks: Marks) -> Portfolio:
        """A portfolio holding `balances`, each non-report asset's basis taken at its mark."""
        portfolio = cls(report_asset, dict(balances))
        for key, amount in balances.items():
            if key[1] != report_asset:
                portfolio.basis[key] = amount * portfolio.mark(key[1], marks)
        portfolio.initial_equity = portfolio.equity(marks)
        return portfolio

    def balance(self, venue: str, asset: str) -> Decimal:
        return self.balances.get((venue, asset), ZERO)

    def mark(self, asset: str, marks: Marks) -> Decimal:
        if asset == self.report_asset:
            return Decimal(1)
        price = marks(asset)
        if price is None:
            raise LookupError(f"no mark for {asset}")
        return price

    def apply(self, trade: Trade, marks: Marks) -> Decimal:
        """Books a fill and returns the fee valued in the report currency. Raises
        `InsufficientBalanceError` (changing nothing) if the venue does not hold `give`."""
        give_key = (trade.venue, trade.give_asset)
        get_key = (trade.venue, trade.get_asset)
        with money():
            if self.balance(*give_key) < trade.give or trade.fee > trade.get:
                raise InsufficientBalanceError(f"{trade.venue} holds too little {trade.give_asset}")
            # What changed hands, in the report currency: exact when one side is it.
            if trade.give_asset == self.report_asset:
                value = trade.give
            elif trade.get_asset == self.report_asset:
                value = trade.get
            else:
                value = exact(trade.give * self.mark(trade.give_asset, marks))
            self._dispose(give_key, trade.give, value)
            fee_value = exact(value * trade.fee / trade.get) if trade.get else ZERO
            self._acquire(get_key, trade.get - trade.fee, value - fee_value)
            self.fees += fee_value
            return fee_value

    def _dispose(self, key: Key, amount: Decimal, value: Decimal) -> None:
        held = self.balance(*key)
        if key[1] != self.report_asset:
            released = exact(self.basis.get(key, ZERO) * amount / held) if held else ZERO
            self.basis[key] = self.basis.get(key, ZERO) - released
            self.realised += value - released
        self.balances[key] = held - amount

    def _acquire(self, key: Key, amount: Decimal, value: Decimal) -> None:
        self.balances[key] = self.balance(*key) + amount
        if key[1] != self.report_asset:
            self.basis[key] = self.basis.get(key, ZERO) + value

    def equity(self, marks: Marks) -> Decimal:
        with money():
            return sum(
                (amount * self.mark(asset, marks) for (_, asset), amount in self.balances.items()),
                ZERO,
            )

    def unrealised(self, marks: Marks) -> Decimal:
        with money():
            return sum(
                (
                    amount * self.mark(asset, marks) - self.basis.get((venue, asset), ZERO)
                    for (venue, asset), amount in self.balances.items()
                    if asset != self.report_asset
                ),
                ZERO,
            )

    def position(self, asset: str) -> Decimal:
        """Units of `asset` held across all venues."""
        return sum((v for (_, a), v in self.balances.items() if a == asset), ZERO)
