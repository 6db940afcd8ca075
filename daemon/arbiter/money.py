"""Exact money: every balance, fee and PnL figure is a Decimal in one wide context.

Book prices and sizes arrive as floats (from the Rust core); `to_decimal` turns each into the
shortest decimal that round-trips, so 61837.64 stays 61837.64.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import ROUND_DOWN, Context, Decimal, localcontext

#: Wide enough that sums and products of exchange quantities never round.
MONEY_CONTEXT = Context(prec=60)
ZERO = Decimal(0)
#: Order quantities are cut to this many decimals (Binance's finest step is 1e-8).
QUANTITY_STEP = Decimal("1e-8")


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value) if isinstance(value, float) else value)


def quantity(value: float | Decimal) -> Decimal:
    """A tradable quantity: never more than `value`, on the 1e-8 step."""
    return to_decimal(value).quantize(QUANTITY_STEP, rounding=ROUND_DOWN)


#: Accounting figures that come out of a division are rounded once, to this.
ACCOUNTING_STEP = Decimal("1e-18")


def exact(value: Decimal) -> Decimal:
    """`value` on the accounting step, so that sums of such figures never round."""
    return value.quantize(ACCOUNTING_STEP)


def money() -> AbstractContextManager[Context]:
    """`with money():` for arithmetic on balances."""
    return localcontext(MONEY_CONTEXT)
