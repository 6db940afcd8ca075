from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from arbiter.feeds.backoff import Backoff


@given(attempts=st.integers(0, 40), retry_after=st.none() | st.floats(0.001, 1000))
def test_delay_is_bounded_jittered_and_honours_retry_after(
    attempts: int, retry_after: float | None
) -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, attempts=attempts)
    ceiling = min(30.0, 0.5 * 2**attempts)
    delay = backoff.next_delay(retry_after)
    assert delay >= ceiling / 2
    if retry_after is None:
        assert delay <= ceiling
    else:
        assert delay >= min(retry_after, 120.0)
        assert delay <= max(ceiling, 120.0)
    assert backoff.attempts == attempts + 1


def test_reset_starts_small_again() -> None:
    backoff = Backoff(initial=1.0, maximum=60.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert delays[-1] > delays[0]
    backoff.reset()
    assert backoff.next_delay() <= 1.0
