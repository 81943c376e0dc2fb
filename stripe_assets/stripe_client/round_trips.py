"""How long requests take to come back, so concurrency can follow Little's law."""

from __future__ import annotations

import threading

# Weight of the newest sample: a few pages are enough to follow a change in latency.
NEWEST_WEIGHT = 0.2


class RoundTrips:
    """Exponential moving average of the seconds from sending a request to its response."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._average: float | None = None

    def add(self, seconds: float) -> None:
        with self._lock:
            if self._average is None:
                self._average = seconds
            else:
                self._average += NEWEST_WEIGHT * (seconds - self._average)

    @property
    def average(self) -> float | None:
        """None until a request has come back."""
        return self._average
