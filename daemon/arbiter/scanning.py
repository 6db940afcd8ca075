"""Wiring the Rust scanners to the configuration: which books form cross-venue groups, which
pairs are pegs, which cycles are triangles; and, for people, the best spread against its fees."""

from __future__ import annotations

from decimal import Decimal

from arbiter.books import BookStore, Scanner
from arbiter.config import Settings
from arbiter.execution.orders import assets

Book = tuple[str, str]


def build_scanner(
    settings: Settings, balances: dict[tuple[str, str], Decimal]
) -> tuple[Scanner, list[list[Book]]]:
    """The scanner for every configured book, and its cross-venue groups."""
    scanner = Scanner(slippage_bps=settings.strategy.slippage_bps)
    books = [(name, symbol) for name, venue in settings.venues.items() for symbol in venue.symbols]
    for name, venue in settings.venues.items():
        scanner.set_fee(name, float(venue.taker_fee))
    for (name, asset), amount in balances.items():
        scanner.set_inventory(name, asset, float(amount))
    stable = set(settings.strategy.stablecoins)
    groups: dict[tuple[str, str], list[Book]] = {}
    for name, symbol in books:
        base, quote = assets(symbol)
        # USDT, USDC and USD quote legs are one instrument for cross-venue arbitrage.
        groups.setdefault((base, "USD" if quote in stable else quote), []).append((name, symbol))
        if base in stable and quote in stable:
            scanner.add_peg(name, symbol)
    cross_groups = [members for members in groups.values() if len(members) > 1]
    for members in cross_groups:
        scanner.add_cross_group(members)
    for triangle in settings.strategy.triangles:
        symbols = list(settings.venues[triangle.venue].symbols)
        scanner.add_triangles(
            triangle.venue, list(triangle.currencies), symbols, float(triangle.max_start)
        )
    return scanner, cross_groups


def best_spread(store: BookStore, settings: Settings, groups: list[list[Book]]) -> str | None:
    """The best cross-venue spread right now against the fees and buffer it must clear,
    opportunity or not."""
    best: tuple[float, str] | None = None
    buffer = 2 * settings.strategy.slippage_bps
    for members in groups:
        for buy in members:
            for sell in members:
                ask = store.top_of_book(*buy)[1]
                bid = store.top_of_book(*sell)[0]
                if buy == sell or ask is None or bid is None:
                    continue
                gross = (bid[0] - ask[0]) / ask[0] * 1e4
                fees = settings.venues[buy[0]].taker_fee + settings.venues[sell[0]].taker_fee
                costs = buffer + 1e4 * float(fees)
                text = (
                    f"best cross: buy {buy[0]} sell {sell[0]} {gross:+.2f}bps gross "
                    f"vs {costs:.2f}bps fees+buffer"
                )
                if best is None or gross - costs > best[0]:
                    best = (gross - costs, text)
    return None if best is None else best[1]
