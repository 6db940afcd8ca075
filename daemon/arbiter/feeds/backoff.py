"""Exponential backoff with full jitter, bounded, that defers to a venue's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    initial: float = 0.5
    maximum: float = 30.0
    attempts: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt; never less than what the venue asked."""
        ceiling = min(self.maximum, self.initial * 2**self.attempts)
        self.attempts += 1
        delay = random.uniform(ceiling / 2, ceiling)
        return max(delay, min(retry_after, self.maximum * 4)) if retry_after else delay

    def reset(self) -> None:
        self.attempts = 0
