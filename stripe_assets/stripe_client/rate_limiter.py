"""A pacer shared by every thread of a run, so parallel fetching stays under Stripe's limit.

Stripe allows 100 requests/s in live mode and 25/s in test mode (account-wide). Requests are
spaced evenly at a little under the limit (`HEADROOM`): any sliding second then holds at most
the limit, even when a thread is scheduled late, with no burst that a server counting in
sliding windows would answer with 429s.

A 429 means someone else (another run, a dashboard user, the account's own app) uses the
budget too: the pace drops by a quarter, at most once per second (a burst of 429s is one
signal, not ten), and recovers by 10% of the ceiling per calm second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

HEADROOM = 0.95
DECREASE = 0.75
MIN_FRACTION = 0.25
RECOVERY_PER_SECOND = 0.10


class RateLimiter:
    def __init__(self, rate_per_second: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.limit = rate_per_second
        self.max_rate = rate_per_second * HEADROOM
        self.rate = self.max_rate
        self._clock = clock
        self._sleep = sleep
        self._next_slot = clock()
        self._last_decrease = float("-inf")
        self._last_update = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Reserve the next slot and sleep until it comes. Returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._recover(now)
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def slow_down(self) -> None:
        """A 429 arrived: slow the pace, once per second at most."""
        with self._lock:
            now = self._clock()
            if now - self._last_decrease < 1.0:
                return
            self._last_decrease = now
            self.rate = max(self.max_rate * MIN_FRACTION, self.rate * DECREASE)
            # Slots already handed out stand; the next ones are spaced at the new pace.
            self._next_slot = max(self._next_slot, now) + 1.0 / self.rate

    def _recover(self, now: float) -> None:
        elapsed = max(0.0, now - self._last_update)
        self._last_update = now
        if self.rate < self.max_rate and now - self._last_decrease >= 1.0:
            step = elapsed * self.max_rate * RECOVERY_PER_SECOND
            self.rate = min(self.max_rate, self.rate + step)
