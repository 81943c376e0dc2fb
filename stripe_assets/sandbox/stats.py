"""What the sandbox saw: request counts, statuses, faults, and the peak request rate.

The peak rate ("max requests in any 1-second sliding window") is what lets a benchmark prove
that a client never went over a rate limit, rather than trusting the client's own account.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

# A path segment that is an object id: "cus_Q2x...". Grouped as {id} so that per-path counts
# stay a handful of rows even when a loader retrieves 75,000 payment methods one by one.
_ID_SEGMENT = re.compile(r"^[a-z]+_[A-Za-z0-9]{8,}$")


def path_template(path: str) -> str:
    return "/".join("{id}" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/"))


@dataclass(frozen=True)
class StatsSnapshot:
    total_requests: int = 0
    requests_by_path: dict[str, int] = field(default_factory=dict)
    responses_by_status: dict[int, int] = field(default_factory=dict)
    rate_limited: int = 0  # 429 responses sent, by the limiter or injected
    faults_injected: dict[str, int] = field(default_factory=dict)
    max_requests_in_1s: int = 0
    max_in_flight: int = 0

    @property
    def faults_total(self) -> int:
        return sum(self.faults_injected.values())

    def __getitem__(self, name: str) -> Any:
        """stats["max_requests_in_1s"], as in the JSON of GET /_sandbox/stats;
        stats["requests"] is total_requests."""
        return self.as_dict()["total_requests" if name == "requests" else name]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_requests": self.total_requests,
            "requests_by_path": dict(self.requests_by_path),
            "responses_by_status": {str(k): v for k, v in sorted(self.responses_by_status.items())},
            "rate_limited": self.rate_limited,
            "faults_injected": dict(self.faults_injected),
            "faults_total": self.faults_total,
            "max_requests_in_1s": self.max_requests_in_1s,
            "max_in_flight": self.max_in_flight,
        }


class Stats:
    """Thread-safe counters for /v1 requests (admin requests are not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._by_path: Counter[str] = Counter()
            self._by_status: Counter[int] = Counter()
            self._faults: Counter[str] = Counter()
            self._window: deque[float] = deque()
            self._max_window = 0
            self._in_flight = 0
            self._max_in_flight = 0

    def request_started(self, path: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._total += 1
            self._by_path[path_template(path)] += 1
            window = self._window
            window.append(now)
            while window[0] <= now - 1.0:
                window.popleft()
            self._max_window = max(self._max_window, len(window))
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def request_finished(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def response(self, status: int) -> None:
        with self._lock:
            self._by_status[status] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                total_requests=self._total,
                requests_by_path=dict(self._by_path),
                responses_by_status=dict(self._by_status),
                rate_limited=self._by_status.get(429, 0),
                faults_injected=dict(self._faults),
                max_requests_in_1s=self._max_window,
                max_in_flight=self._max_in_flight,
            )


class RateLimiter:
    """At most `rate` admitted requests in any 1 s window (None: no limit). Rejected requests
    do not use up the budget."""

    def __init__(self, rate: float | None):
        self.rate = rate
        self._lock = threading.Lock()
        self._admitted: deque[float] = deque()

    def admit(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            if not self.has_room(now):
                return False
            self.take(now)
            return True

    def has_room(self, now: float) -> bool:
        """Whether a request at `now` would be admitted (the caller holds a lock of its own
        when it checks several limiters before taking from them)."""
        if not self.rate:
            return True
        admitted = self._admitted
        while admitted and admitted[0] <= now - 1.0:
            admitted.popleft()
        return len(admitted) < self.rate

    def take(self, now: float) -> None:
        if self.rate:
            self._admitted.append(now)
