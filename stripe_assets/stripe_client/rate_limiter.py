"""A pacer shared by every thread of a run, so parallel fetching stays under Stripe's limit.

Stripe allows 100 requests/s in live mode and 25/s in test mode (account-wide). Requests are
spaced evenly at 95% of the limit (`HEADROOM`), and never more than that many leave in any
sliding second, even after a stall: a server counting in sliding windows sees no burst to
answer with 429s.

A 429 about the account (`Stripe-Rate-Limited-Reason: global-*`, or no reason given) means
someone else (a dashboard user, the account's own app) uses the budget too, or the account
allows less than the pace. (A 429 about one endpoint slows that endpoint alone, with a limiter
of its own: endpoint_paces.py.) At most once per second (a
burst of 429s is one signal, not ten) the pace drops by a quarter, or straight to what the
server let through in the last second once that can be seen, and it recovers by 10% of the
ceiling per calm second. Other processes sharing the pace are not in that count: with them
the drop can go deeper than needed, and the recovery brings it back.

Given a `SharedPace`, the pace (next slot, 429 slow-down) is the account's, shared with every
other process on the machine reading it with the same key: concurrent runs take turns at one
pace instead of each spending the whole limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stripe_assets.stripe_client.shared_pace import Pace, SharedPace

HEADROOM = 0.95
DECREASE = 0.75
MIN_FRACTION = 0.25
RECOVERY_PER_SECOND = 0.10


class RateLimiter:
    def __init__(self, rate_per_second: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 shared: SharedPace | None = None, *, recovers: bool = True,
                 after_429: bool = False):
        """`recovers=False`: the pace never climbs back after a 429 (a limit learned for good).
        `after_429`: made because of a 429, so the server's last second is full: the first
        request leaves a second later, and the 429s of that second are not its own (they
        answer requests sent before it existed, at the pace it replaces)."""
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.limit = rate_per_second
        self.max_rate = rate_per_second * HEADROOM
        self._clock = clock
        self._sleep = sleep
        self._shared = shared
        now = clock()
        self._recovers = recovers
        self._pace = Pace(next_slot=now + 1.0 if after_429 else now, fraction=1.0,
                          last_decrease=now if after_429 else float("-inf"), last_update=now)
        # A shared pace further ahead than two slowest paces is from another boot's clock.
        self._longest_wait = 2.0 / (self.max_rate * MIN_FRACTION) + 1.0
        self._sent: deque[float] = deque()  # this process's release times in the last second
        self._rejected: deque[float] = deque()  # and the times of the 429s it was answered
        self._sending_since = now  # start of the current stretch without an idle second
        self._per_second = max(1, int(self.max_rate))
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        """The current pace in requests per second (lower than `max_rate` after 429s)."""
        return self._rate_of(self._pace)

    def acquire(self) -> float:
        """Wait for the pace and for room in the last second, then go. Returns seconds waited.

        Decided at release time, not by handing out future slots: after a stall (GIL, GC,
        a busy machine) waiting threads leave one pace apart instead of all at once.
        """
        waited = 0.0
        while True:
            with self._lock, self._current() as (pace, now):
                if self._recovers:
                    self._recover(pace, now)
                _forget_older_than_a_second(self._sent, now)
                if not self._sent:
                    self._sending_since = now  # idle for a second or more: a new stretch
                wait = pace.next_slot - now
                if len(self._sent) >= self._per_second:
                    wait = max(wait, self._sent[0] + 1.0 - now)
                if wait <= 0:
                    self._sent.append(now)
                    pace.next_slot = self._slot_after(pace, now)
                    return waited
            self._sleep(wait)
            waited += wait

    def slow_down(self) -> None:
        """A 429 arrived: slow the pace, once per second at most.

        By a quarter; or, when this process has been sending for a second or more, down to
        what the server let through in the last second (sent minus 429s): that is what there
        is room for, so a limit far below the pace (an app using most of the account's budget,
        or a server that does not say which limit it hit) is reached in one step, not in five
        seconds of 429s.
        """
        with self._lock, self._current() as (pace, now):
            self._rejected.append(now)
            _forget_older_than_a_second(self._rejected, now)
            if now - pace.last_decrease < 1.0:
                return
            pace.last_decrease = now
            fraction = pace.fraction * DECREASE
            _forget_older_than_a_second(self._sent, now)
            if self._sent and now - self._sending_since >= 1.0:
                admitted = len(self._sent) - len(self._rejected)
                fraction = min(fraction, admitted / self.limit)
            pace.fraction = max(MIN_FRACTION, fraction)
            pace.next_slot = max(pace.next_slot, now) + 1.0 / self._rate_of(pace)

    @contextmanager
    def _current(self) -> Iterator[tuple[Pace, float]]:
        """The pace to decide with, and the time: this process's, or the account's (shared)."""
        if self._shared is None:
            yield self._pace, self._clock()
            return
        with self._shared.held(self._pace, self._clock, self._longest_wait) as (pace, now):
            yield pace, now
            self._pace = pace

    def _slot_after(self, pace: Pace, now: float) -> float:
        """The next slot, one pace after this request's own slot. A thread wakes a little
        after its slot; counting the pace from the wake-up would lose that lateness on every
        request (0.2 ms each is 2% at 95/s). Later than a whole pace is a stall: start afresh
        from now, so that nothing is caught up in a burst."""
        interval = 1.0 / self._rate_of(pace)
        late = now - pace.next_slot
        return (pace.next_slot if late < interval else now) + interval

    def _rate_of(self, pace: Pace) -> float:
        return self.max_rate * pace.fraction

    @staticmethod
    def _recover(pace: Pace, now: float) -> None:
        elapsed = max(0.0, now - pace.last_update)
        pace.last_update = now
        if pace.fraction < 1.0 and now - pace.last_decrease >= 1.0:
            pace.fraction = min(1.0, pace.fraction + elapsed * RECOVERY_PER_SECOND)


def _forget_older_than_a_second(times: deque[float], now: float) -> None:
    while times and now - times[0] >= 1.0:
        times.popleft()
