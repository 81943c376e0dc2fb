"""A token bucket shared by every thread of a run, so parallel fetching stays under Stripe's limit.

Stripe allows 100 requests/s in live mode and 25/s in test mode (account-wide). A 429 means
someone else (another run, a dashboard user, the account's own app) is using the budget too:
the bucket halves its rate and recovers slowly, instead of hammering at the same pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.max_rate = rate_per_second
        self.rate = rate_per_second
        # A burst of 1 s worth of tokens would let the first second reach 2x the rate in any
        # sliding 1 s window; a small burst keeps every window under the limit.
        self.burst = burst if burst is not None else max(1.0, rate_per_second / 10)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is there. Returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait

    def slow_down(self) -> None:
        """A 429 arrived: halve the rate (not below 1/s); it recovers in `_refill`."""
        with self._lock:
            self.rate = max(1.0, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        if self.rate < self.max_rate:
            # Recover by 5% of the ceiling per second of calm.
            self.rate = min(self.max_rate, self.rate + elapsed * self.max_rate * 0.05)
