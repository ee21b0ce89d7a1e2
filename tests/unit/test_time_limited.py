"""``time_limited``: an item stopped from inside its own process past its timeout."""

import signal
import time

import pytest

from outflow.core.backends.worker import time_limited


def test_an_item_past_its_time_raises_timeout_error_and_the_alarm_is_put_back() -> None:
    before = signal.getsignal(signal.SIGALRM)
    limited = time_limited(lambda seconds: time.sleep(seconds), 0.2)
    began = time.monotonic()
    with pytest.raises(TimeoutError, match="it ran longer than its timeout of 0.2 s"):
        limited(30)
    assert time.monotonic() - began < 5
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_item_within_its_time_returns_its_result() -> None:
    assert time_limited(lambda value: value * 2, 5)(21) == 42
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
