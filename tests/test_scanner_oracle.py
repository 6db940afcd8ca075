"""The Rust scanners against the plain-Python oracle on 10,000 random book sets: every set holds
two venues quoting BTC/USDT (cross), a venue with BTC/USDT, ETH/BTC and ETH/USDT (triangles) and
a USDC/USDT pair (peg), with random fees, slippage buffer and inventory, zero included."""

from __future__ import annotations

import math
import random

from hypothesis import event, given, settings
from hypothesis import strategies as st

from arbiter.books import BookStore, Opportunity, Scanner
from tests import oracle

Levels = list[tuple[float, float]]


def side_levels(rng: random.Random, best: float, step: int, tick: float, count: int) -> Levels:
    """`count` levels from `best` outwards (`step` is -1 for bids, +1 for asks), on the tick."""
    levels, price = [], best
    for _ in range(count):
        size = round(rng.choice([rng.uniform(0.001, 0.5), rng.uniform(0.5, 20)]), 4)
        levels.append((round(price, 8), size))
        price += step * tick * rng.randint(1, 4)
    return levels


def book(rng: random.Random, mid: float, tick: float) -> tuple[Levels, Levels]:
    spread = tick * rng.randint(1, 5)
    bid = round(round((mid - spread / 2) / tick) * tick, 8)
    ask = round(bid + spread, 8)
    return (
        side_levels(rng, bid, -1, tick, rng.randint(1, 25)),
        side_levels(rng, ask, +1, tick, rng.randint(1, 25)),
    )


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def same(found: Opportunity | None, expected: oracle.OracleFound | None) -> None:
    if expected is None or found is None:
        assert (found, expected) == (None, None)
        return
    assert close(found.profit, expected.profit), (found.profit, expected.profit)
    assert close(found.profit_bps, expected.profit_bps)
    assert len(found.legs) == len(expected.legs)
    for leg, (side, base, vwap, worst) in zip(found.legs, expected.legs, strict=True):
        assert leg.side == side
        assert close(leg.base, base), (leg.base, base)
        assert close(leg.vwap, vwap)
        assert leg.worst_price == worst


def by_key(opportunities: list[Opportunity]) -> dict[str, Opportunity]:
    return {o.key: o for o in opportunities}


inventory = st.sampled_from([0.0, 0.05, 1.0, 500.0, 1e9])
fee = st.sampled_from([0.0, 0.0002, 0.001, 0.003])


@settings(max_examples=10_000, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    basis=st.floats(-0.01, 0.01),
    fees=st.tuples(fee, fee),
    slippage_bps=st.sampled_from([0.0, 1.0, 5.0]),
    held=st.tuples(inventory, inventory, inventory, inventory),
    peg_mid=st.floats(0.990, 1.010),
)
def test_scanners_equal_the_oracle(
    seed: int,
    basis: float,
    fees: tuple[float, float],
    slippage_bps: float,
    held: tuple[float, float, float, float],
    peg_mid: float,
) -> None:
    rng = random.Random(seed)
    books = {
        ("a", "BTC/USDT"): book(rng, 60_000, 0.01),
        ("b", "BTC/USDT"): book(rng, 60_000 * (1 + basis), 0.1),
        ("a", "ETH/BTC"): book(rng, 0.05 * (1 + rng.uniform(-0.01, 0.01)), 0.00001),
        ("a", "ETH/USDT"): book(rng, 3_000, 0.01),
        ("a", "USDC/USDT"): book(rng, peg_mid, 0.0001),
    }
    store = BookStore()
    for (venue, symbol), (bids, asks) in books.items():
        store.apply_snapshot(venue, symbol, 1, bids, asks)
    scanner = Scanner(slippage_bps=slippage_bps)
    scanner.set_fee("a", fees[0])
    scanner.set_fee("b", fees[1])
    usdt_a, btc_b, usdt_b, usdc_a = held
    for venue, asset, amount in (
        ("a", "USDT", usdt_a),
        ("b", "BTC", btc_b),
        ("b", "USDT", usdt_b),
        ("a", "BTC", btc_b / 2),
        ("a", "USDC", usdc_a),
    ):
        scanner.set_inventory(venue, asset, amount)
    scanner.add_cross_group([("a", "BTC/USDT"), ("b", "BTC/USDT")])
    scanner.add_triangles("a", ["USDT", "BTC", "ETH"], ["BTC/USDT", "ETH/BTC", "ETH/USDT"], 2_000)
    scanner.add_peg("a", "USDC/USDT")
    assert scanner.scan_count == 5
    found = by_key(scanner.scan_all(store, now_ms=0))
    for key in found:
        event(f"found {key.split(':')[0]}")
    buffer = slippage_bps

    (a_bids, a_asks), (b_bids, b_asks) = books[("a", "BTC/USDT")], books[("b", "BTC/USDT")]
    same(
        found.get("cross:a:BTC/USDT>b:BTC/USDT"),
        oracle.cross(a_asks, b_bids, fees[0], fees[1], buffer, usdt_a, btc_b),
    )
    same(
        found.get("cross:b:BTC/USDT>a:BTC/USDT"),
        oracle.cross(b_asks, a_bids, fees[1], fees[0], buffer, usdt_b, btc_b / 2),
    )
    start = min(usdt_a, 2_000)
    btc, eth_btc, eth = books[("a", "BTC/USDT")], books[("a", "ETH/BTC")], books[("a", "ETH/USDT")]
    same(
        found.get("triangle:a:BTC/USDT>a:ETH/BTC>a:ETH/USDT"),
        oracle.triangle(
            [(btc[1], "buy", fees[0]), (eth_btc[1], "buy", fees[0]), (eth[0], "sell", fees[0])],
            start,
        ),
    )
    same(
        found.get("triangle:a:ETH/USDT>a:ETH/BTC>a:BTC/USDT"),
        oracle.triangle(
            [(eth[1], "buy", fees[0]), (eth_btc[0], "sell", fees[0]), (btc[0], "sell", fees[0])],
            start,
        ),
    )
    peg_bids, peg_asks = books[("a", "USDC/USDT")]
    same(
        found.get("peg:a:USDC/USDT"),
        oracle.peg(peg_bids, peg_asks, fees[0], buffer, usdt_a, usdc_a),
    )
