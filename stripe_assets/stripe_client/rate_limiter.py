"""A pacer shared by every thread of a run, so parallel fetching stays under Stripe's limit.

Stripe allows 100 requests/s in live mode and 25/s in test mode (account-wide). Requests are
spaced evenly at 95% of the limit (`HEADROOM`), and never more than that many leave in any
sliding second, even after a stall: a server counting in sliding windows sees no burst to
answer with 429s.

A 429 means someone else (another run, a dashboard user, the account's own app) uses the
budget too: the pace drops by a quarter, at most once per second (a burst of 429s is one
signal, not ten), and recovers by 10% of the ceiling per calm second.
"""

from __future__ import annotations

import threading
import time
from collections import deque
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
        self._sent: deque[float] = deque()  # release times within the last second
        self._per_second = max(1, int(self.max_rate))
        self._last_decrease = float("-inf")
        self._last_update = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for the pace and for room in the last second, then go. Returns seconds waited.

        Decided at release time, not by handing out future slots: after a stall (GIL, GC,
        a busy machine) waiting threads leave one pace apart instead of all at once.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._recover(now)
                while self._sent and now - self._sent[0] >= 1.0:
                    self._sent.popleft()
                wait = self._next_slot - now
                if len(self._sent) >= self._per_second:
                    wait = max(wait, self._sent[0] + 1.0 - now)
                if wait <= 0:
                    self._sent.append(now)
                    self._next_slot = now + 1.0 / self.rate
                    return waited
            self._sleep(wait)
            waited += wait

    def slow_down(self) -> None:
        """A 429 arrived: slow the pace, once per second at most."""
        with self._lock:
            now = self._clock()
            if now - self._last_decrease < 1.0:
                return
            self._last_decrease = now
            self.rate = max(self.max_rate * MIN_FRACTION, self.rate * DECREASE)
            self._next_slot = max(self._next_slot, now) + 1.0 / self.rate

    def _recover(self, now: float) -> None:
        elapsed = max(0.0, now - self._last_update)
        self._last_update = now
        if self.rate < self.max_rate and now - self._last_decrease >= 1.0:
            step = elapsed * self.max_rate * RECOVERY_PER_SECOND
            self.rate = min(self.max_rate, self.rate + step)
