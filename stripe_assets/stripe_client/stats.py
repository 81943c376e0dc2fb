"""Counters of what a load cost in API terms, reported as materialization metadata."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields


@dataclass
class RequestStats:
    requests: int = 0  # HTTP requests sent, retries included
    pages: int = 0  # list pages and retrieved objects that were usable
    objects: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers received
    seconds_waited: float = 0.0  # backoff sleeps plus rate-limiter waits
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **increments: float) -> None:
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}

    def since(self, earlier: dict[str, float]) -> dict[str, float]:
        """What happened after `earlier` (a snapshot): the cost of one asset's load."""
        now = self.snapshot()
        return {k: now[k] - earlier.get(k, 0) for k in now}
