"""The AI's measured return. Every decision the AI touched is paired with its shadow: what the
rules alone would have done. Rolling ROI = (profit with AI - shadow profit) / AI cost over a time
window; below the target the ladder loses its top rung, and gets it back when the ROI recovers."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from arbiter.config import AiSettings
from arbiter.governor.ledger import OutcomeRow
from arbiter.money import ZERO, exact, money


@dataclass(frozen=True, slots=True)
class Resolved:
    ts_ms: int
    profit: Decimal
    shadow_profit: Decimal
    cost: Decimal


class Returns:
    def __init__(self, target: Decimal, window_ms: int, min_decisions: int) -> None:
        self.target = target
        self.window_ms = window_ms
        self.min_decisions = min_decisions
        self.resolved: deque[Resolved] = deque()
        #: Rungs taken off the top of the ladder (0 = none).
        self.demoted = 0
        #: Decisions resolved since the ladder last moved: each move is judged on fresh ones.
        self.since_move = 0

    @classmethod
    def of(cls, outcomes: Iterable[OutcomeRow], settings: AiSettings) -> Returns:
        """The AI-touched decisions among `outcomes` whose results are known."""
        returns = cls(
            settings.roi_target,
            int(settings.roi_window_hours * 3_600_000),
            settings.roi_min_decisions,
        )
        for row in outcomes:
            if row.rung != "rules" and row.profit is not None and row.shadow_profit is not None:
                returns.resolved.append(
                    Resolved(row.ts_ms, row.profit, row.shadow_profit, row.cost)
                )
        return returns

    def add(self, row: Resolved) -> None:
        self.resolved.append(row)
        self.since_move += 1

    def _trim(self, now_ms: int) -> None:
        while self.resolved and self.resolved[0].ts_ms < now_ms - self.window_ms:
            self.resolved.popleft()

    def roi(self, now_ms: int) -> Decimal | None:
        """None while nothing in the window cost money."""
        self._trim(now_ms)
        with money():
            cost = sum((row.cost for row in self.resolved), ZERO)
            gain = sum((row.profit - row.shadow_profit for row in self.resolved), ZERO)
            return exact(gain / cost) if cost > 0 else None

    def judge(self, now_ms: int, paid_rungs: int) -> int:
        """Moves the demotion by at most one rung; returns the change (-1 promoted, +1 demoted).
        Only paid rungs are taken away: local agents cost nothing."""
        roi = self.roi(now_ms)
        if self.since_move < self.min_decisions:
            return 0
        move = 0
        if roi is not None and roi < self.target and self.demoted < paid_rungs:
            move = 1
        # Recovered, or nothing paid in the window any more: the rung gets another chance.
        elif (roi is None or roi >= self.target) and self.demoted > 0:
            move = -1
        if move:
            self.demoted += move
            self.since_move = 0
        return move
