"""When to retry a Stripe request and how long to wait, bounded in attempts and total time."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

# Stripe's own SDKs retry 409 (lock contention), and 5xx; a loader must also retry 429.
RETRYABLE_STATUSES = frozenset({409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    max_total_seconds: float = 120.0  # all backoff sleeps of one request, together
    base_delay: float = 0.5
    max_delay: float = 20.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full-jitter exponential backoff for the `attempt`-th retry (1-based).

        A server's Retry-After wins when present: it knows when the budget refills.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay * 3)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """Stripe-Should-Retry, when present, overrides what the status code implies."""
    hint = headers.get("Stripe-Should-Retry")
    if hint is not None:
        return hint.strip().lower() == "true"
    return status in RETRYABLE_STATUSES


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None  # an HTTP date: rare for Stripe; fall back to our own backoff
