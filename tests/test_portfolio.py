"""Paper accounting reconciles to the last unit over random trading, and no balance ever goes
below zero."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.errors import InsufficientBalanceError
from arbiter.execution.portfolio import Portfolio, Trade
from arbiter.money import money

PRICES = {"BTC": Decimal("61837.64"), "ETH": Decimal("2650.5"), "USDC": Decimal("0.9998")}

amount = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(5000), places=8)
fee_rate = st.sampled_from([Decimal(0), Decimal("0.0002"), Decimal("0.001")])
drift = st.decimals(min_value=Decimal("0.9"), max_value=Decimal("1.1"), places=6)
trade = st.tuples(
    st.sampled_from(["a", "b"]),
    st.sampled_from(
        [
            ("USDT", "BTC"),
            ("BTC", "USDT"),
            ("BTC", "ETH"),
            ("ETH", "USDT"),
            ("USDT", "USDC"),
            ("USDC", "USDT"),
        ]
    ),
    amount,
    drift,
    fee_rate,
)


@settings(max_examples=500, deadline=None)
@given(trades=st.lists(trade, max_size=60), final_drift=drift)
def test_equity_reconciles_exactly(
    trades: list[tuple[str, tuple[str, str], Decimal, Decimal, Decimal]], final_drift: Decimal
) -> None:
    marks = dict(PRICES)
    opening = {
        ("a", "USDT"): Decimal(1000),
        ("a", "BTC"): Decimal("0.01"),
        ("b", "ETH"): Decimal(1),
    }
    portfolio = Portfolio.opening("USDT", opening, marks.get)
    for venue, (give_asset, get_asset), give, move, rate in trades:
        marks = {asset: value * move for asset, value in marks.items()}
        price = (marks.get(give_asset, Decimal(1))) / marks.get(get_asset, Decimal(1))
        get = (give * price).quantize(Decimal("1e-8"))
        if get <= 0:
            continue
        before = dict(portfolio.balances)
        try:
            portfolio.apply(Trade(venue, give_asset, give, get_asset, get, get * rate), marks.get)
        except InsufficientBalanceError:
            assert portfolio.balances == before
        assert all(value >= 0 for value in portfolio.balances.values())
    marks = {asset: value * final_drift for asset, value in marks.items()}
    equity = portfolio.equity(marks.get)
    with money():
        expected = (
            portfolio.initial_equity
            + portfolio.realised
            - portfolio.fees
            + portfolio.unrealised(marks.get)
        )
    assert equity == expected


def test_a_round_trip_realises_the_price_move_less_fees() -> None:
    marks = {"BTC": Decimal(60000)}
    portfolio = Portfolio.opening("USDT", {("a", "USDT"): Decimal(1000)}, marks.get)
    fee = portfolio.apply(
        Trade("a", "USDT", Decimal(600), "BTC", Decimal("0.01"), Decimal("0.00001")), marks.get
    )
    assert fee == Decimal("0.6")
    assert portfolio.balance("a", "BTC") == Decimal("0.00999")
    marks["BTC"] = Decimal(61000)
    assert portfolio.unrealised(marks.get) == Decimal("0.00999") * 61000 - Decimal("599.4")
    portfolio.apply(
        Trade("a", "BTC", Decimal("0.00999"), "USDT", Decimal("609.39"), Decimal("0.60939")),
        marks.get,
    )
    assert portfolio.realised == Decimal("609.39") - Decimal("599.4")
    assert portfolio.fees == Decimal("0.6") + Decimal("0.60939")
    assert portfolio.balance("a", "USDT") == Decimal(400) + Decimal("609.39") - Decimal("0.60939")
    with pytest.raises(InsufficientBalanceError):
        portfolio.apply(
            Trade("a", "BTC", Decimal("0.1"), "USDT", Decimal(1), Decimal(0)), marks.get
        )
