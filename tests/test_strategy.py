"""The rules between opportunities and decisions: profit and persistence floors, the notional
cap, and tiers unlocked by equity (stablecoin always, futures from $3,000 by default)."""

from __future__ import annotations

from decimal import Decimal

from arbiter.books import BookStore, Opportunity, Scanner
from arbiter.config import StrategySettings
from arbiter.strategy import Strategy


def found(
    *books: tuple[str, str, list[list[str]], list[list[str]]], now_ms: int = 0
) -> dict[str, Opportunity]:
    store, scanner = BookStore(), Scanner()
    for venue, symbol, bids, asks in books:
        store.apply_snapshot(venue, symbol, 1, bids, asks)
        scanner.set_fee(venue, 0.0)
        for asset in ("USDT", "USDC", "BTC"):
            scanner.set_inventory(venue, asset, 1e6)
    keys = [(venue, symbol) for venue, symbol, _, _ in books]
    if len(keys) > 1:
        scanner.add_cross_group(keys)
    else:
        scanner.add_peg(*keys[0])
    return {o.key: o for o in scanner.scan_all(store, now_ms)}


SPOT = ("a", "BTC/USDT", [["100", "1"]], [["101", "1"]])
DEAR_SPOT = ("b", "BTC/USDT", [["102", "1"]], [["103", "1"]])
DEAR_PERP = ("b", "BTC/USDT:USDT", [["102", "1"]], [["103", "1"]])
CHEAP_USDC = ("a", "USDC/USDT", [["0.9900", "1000"]], [["0.9950", "1000"]])


def test_tiers_follow_the_legs() -> None:
    strategy = Strategy(StrategySettings())
    (spot,) = found(SPOT, DEAR_SPOT).values()
    (perp,) = found(SPOT, DEAR_PERP).values()
    (peg,) = found(CHEAP_USDC).values()
    assert [strategy.tier(o) for o in (spot, perp, peg)] == [
        "spot_arbitrage",
        "futures",
        "stablecoin",
    ]


def test_futures_need_3000_of_equity_and_stablecoins_need_none() -> None:
    strategy = Strategy(StrategySettings())
    (perp,) = found(SPOT, DEAR_PERP).values()
    (peg,) = found(CHEAP_USDC).values()
    decision, reason = strategy.decide(perp, Decimal(1000), Decimal(1), 0)
    assert decision is None
    assert reason.startswith("tier futures locked")
    assert strategy.decide(perp, Decimal(3000), Decimal(1), 0)[0] is not None
    assert strategy.decide(peg, Decimal(1000), Decimal(1), 0)[0] is not None


def test_floors_and_the_notional_cap() -> None:
    (spot,) = found(SPOT, DEAR_SPOT).values()
    assert spot.profit_bps > 90
    strict = Strategy(StrategySettings(min_profit_bps=200))
    assert strict.decide(spot, Decimal(10**6), Decimal(1), 0) == (None, "min_profit_bps")
    patient = Strategy(StrategySettings(min_persistence_ms=500))
    assert patient.decide(spot, Decimal(10**6), Decimal(1), 0) == (None, "min_persistence_ms")
    capped = Strategy(StrategySettings(max_notional=Decimal("50.5")))
    decision, _ = capped.decide(spot, Decimal(10**6), Decimal(1), 0)
    assert decision is not None
    assert [leg.amount for leg in decision.legs] == [Decimal("0.5"), Decimal("0.5")]
    assert [leg.limit_price for leg in decision.legs] == [Decimal(101), Decimal(102)]
