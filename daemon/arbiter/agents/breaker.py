"""A circuit breaker per provider: after enough failures in a row (or one rate limit, or a
refused connection) the provider is left alone for a while, so a dead or throttled service costs
the ladder no time. After the pause one request is let through to test it."""

from __future__ import annotations

import time
from collections.abc import Callable

#: Failures that open the breaker at once: retrying soon cannot help.
IMMEDIATE = frozenset({"rate_limited", "overloaded", "unreachable"})


class Breaker:
    def __init__(
        self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.open_until = 0.0

    def allows(self) -> bool:
        return self.clock() >= self.open_until

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, kind: str, retry_after: float | None = None) -> None:
        self.failures += 1
        if kind in IMMEDIATE or self.failures >= self.threshold:
            pause = max(self.cooldown if retry_after is None else retry_after, 0.0)
            self.open_until = self.clock() + pause
