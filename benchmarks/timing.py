"""Wall-clock timing shared by the benchmarks.

Results are lists of seconds, so that each benchmark takes the statistic that suits
it: the best run for pure CPU work, the median where I/O makes single runs noisy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(function: Callable[[], Any]) -> float:
    """Seconds one call of ``function`` takes."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def timings(function: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls of ``function``."""
    return [timed(function) for _ in range(repeat)]
