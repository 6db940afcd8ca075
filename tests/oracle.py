"""A plain-Python oracle of the Rust scanners, written from their specification, not their code.

Books are lists of (price, size), best first. Fees are charged on what is received for
triangle conversions; for cross and peg trades a leg's fee is a rate on its notional.
"""

from __future__ import annotations

from dataclasses import dataclass

Levels = list[tuple[float, float]]


@dataclass
class OracleFound:
    base: float  # size of the first leg
    profit: float
    profit_bps: float
    legs: list[tuple[str, float, float, float]]  # (side, base, vwap, worst)


def cross(
    asks: Levels,
    bids: Levels,
    buy_fee: float,
    sell_fee: float,
    slippage_bps: float,
    max_quote: float,
    max_base: float,
) -> OracleFound | None:
    """Units are bought from the cheapest ask and sold to the dearest bid while a unit sells for
    more, net, than it costs; the quote budget covers the buy leg's cost with its fee."""
    buffer = slippage_bps / 1e4
    ask_queue = [list(level) for level in asks]
    bid_queue = [list(level) for level in bids]
    bought: list[tuple[float, float]] = []
    sold: list[tuple[float, float]] = []
    budget, inventory = max_quote, max_base
    while ask_queue and bid_queue and budget > 0 and inventory > 0:
        ask_price, ask_size = ask_queue[0]
        bid_price, bid_size = bid_queue[0]
        if bid_price * (1 - sell_fee - buffer) <= ask_price * (1 + buy_fee + buffer):
            break
        affordable = budget / (ask_price * (1 + buy_fee))
        quantity = min(ask_size, bid_size, inventory, affordable)
        if quantity <= 0:
            break
        bought.append((ask_price, quantity))
        sold.append((bid_price, quantity))
        # Spending the whole budget ends the walk, whatever rounding leaves behind.
        budget = 0.0 if quantity == affordable else budget - quantity * ask_price * (1 + buy_fee)
        inventory -= quantity
        ask_queue[0][1] -= quantity
        bid_queue[0][1] -= quantity
        if quantity == ask_size:
            ask_queue.pop(0)
        if quantity == bid_size:
            bid_queue.pop(0)
    size = sum(q for _, q in bought)
    if size <= 0:
        return None
    paid = sum(p * q for p, q in bought)
    received = sum(p * q for p, q in sold)
    profit = received * (1 - sell_fee - buffer) - paid * (1 + buy_fee + buffer)
    legs = [
        ("buy", size, paid / size, bought[-1][0]),
        ("sell", size, received / size, sold[-1][0]),
    ]
    return OracleFound(size, profit, profit / paid * 1e4, legs)


def convert(
    levels: Levels, side: str, amount: float, fee: float
) -> tuple[float, float, float, float] | None:
    """(received after fee, base traded, quote traded, worst price), or None if too shallow or
    there is nothing to convert."""
    if amount <= 0:
        return None
    base = quote = worst = 0.0
    left = amount
    for price, size in levels:
        if left <= 0:
            break
        take = min(size, left / price) if side == "buy" else min(size, left)
        base += take
        quote += take * price
        worst = price
        if take < size:
            left = 0.0
            break
        left -= take * price if side == "buy" else take
    if left > 0:
        return None
    received = base if side == "buy" else quote
    return received * (1 - fee), base, quote, worst


def triangle(legs: list[tuple[Levels, str, float]], start: float) -> OracleFound | None:
    amount = start
    found_legs = []
    for levels, side, fee in legs:
        converted = convert(levels, side, amount, fee)
        if converted is None:
            return None
        amount, base, quote, worst = converted
        found_legs.append((side, base, quote / base, worst))
    profit = amount - start
    if profit <= 0:
        return None
    return OracleFound(found_legs[0][1], profit, profit / start * 1e4, found_legs)


def peg(
    bids: Levels, asks: Levels, fee: float, slippage_bps: float, max_quote: float, max_base: float
) -> OracleFound | None:
    """Buy below 1.0 to sell at 1.0 later, or sell above 1.0 to buy back at 1.0, paying the fee
    both ways and the buffer, as deep as a unit still earns."""
    buffer = slippage_bps / 1e4
    for side, levels, funds in (("buy", asks, max_quote), ("sell", bids, max_base)):
        base = quote = profit = worst = 0.0
        budget = funds
        for price, size in levels:
            if side == "buy":
                earns = (1 - fee - buffer) - price * (1 + fee + buffer)
            else:
                earns = price * (1 - fee - buffer) - (1 + fee + buffer)
            if earns <= 0 or budget <= 0:
                break
            take = min(size, budget / (price * (1 + fee))) if side == "buy" else min(size, budget)
            base += take
            quote += take * price
            profit += take * earns
            worst = price
            budget -= take * price * (1 + fee) if side == "buy" else take
        if base > 0:
            return OracleFound(
                base, profit, profit / quote * 1e4, [(side, base, quote / base, worst)]
            )
    return None
