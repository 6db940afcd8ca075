"""The attention signal in the daemon: on every book update the Rust core updates the book's
features and, once its window is full, the model's (down, flat, up) probabilities. Decisions
read how sure it is that their books stay flat (see agents/ladder.py)."""

from __future__ import annotations

from typing import Any

from arbiter.books import BookStore, Signal
from arbiter.config import Settings
from arbiter.decisions import Decision

Book = tuple[str, str]


class SignalBoard:
    def __init__(self, settings: Settings, cross_groups: list[list[Book]]) -> None:
        weights = settings.signal.weights
        self.signal = None if weights is None else Signal(str(weights))
        #: Each book's twin for the basis feature: the previous book of its instrument (cyclic),
        #: as `arbiter train` pairs recordings.
        self.twins = {
            book: members[index - 1]
            for members in cross_groups
            for index, book in enumerate(members)
        }
        self.latest: dict[Book, tuple[float, float, float]] = {}

    def update(self, store: BookStore, venue: str, symbol: str) -> None:
        if self.signal is None:
            return
        probabilities = self.signal.update(store, venue, symbol, self.twins.get((venue, symbol)))
        if probabilities is not None:
            self.latest[(venue, symbol)] = probabilities

    def flat(self, decision: Decision) -> float | None:
        """How sure the signal is that every book of the decision stays flat over its horizon
        (the arbitrage's edge is then not taken away between its legs); None if it has no say."""
        answers = [self.latest.get((leg.venue, leg.symbol)) for leg in decision.legs]
        flats = [answer[1] for answer in answers if answer is not None]
        return min(flats) if flats and len(flats) == len(answers) else None

    def status(self) -> dict[str, Any]:
        return {
            f"{venue}|{symbol}": dict(zip(("down", "flat", "up"), probabilities, strict=True))
            for (venue, symbol), probabilities in sorted(self.latest.items())
        }
