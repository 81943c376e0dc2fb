"""Each endpoint's own pace, under the account's.

Stripe limits each endpoint (each named operation: `GET /v1/charges`, `GET
/v1/payment_intents/{id}`, ...) on top of the account: 25 requests/s unless documented otherwise,
also under a live key's 100/s. A 429 names the limit it hit in `Stripe-Rate-Limited-Reason`.
When an endpoint's limit is hit, only that endpoint slows down: the account's pace, which every
other endpoint, thread and process reading the account shares, stays where it is.

With `endpoint_requests_per_second` configured, every endpoint is paced at it from the first
request. Without, an endpoint runs at the account's pace until its first endpoint 429, and from
then on at Stripe's documented default (or lower, if 429s go on a second later, down to what
the server let through). A learned limit holds for the client's life (a run): probing upwards
again would be answered with more 429s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from stripe_assets.stripe_client.rate_limiter import RateLimiter

# Stripe's default per-endpoint limit (docs.stripe.com/rate-limits).
DOCUMENTED_ENDPOINT_LIMIT = 25.0
# 429 reasons about one endpoint (or one object), not the account.
ENDPOINT_REASONS = frozenset({"endpoint-rate", "endpoint-concurrency", "resource-specific"})
REASON_HEADER = "Stripe-Rate-Limited-Reason"


def operation(path: str) -> str:
    """The endpoint a GET of `path` counts against: object ids templated, as Stripe counts
    (`/v1/customers/cus_1/payment_methods` -> `GET /v1/customers/{id}/payment_methods`). In
    Stripe's paths an id follows each collection: /v1/{collection}/{id}/{collection}/..."""
    parts = path.strip("/").split("/")
    template = ["{id}" if i >= 2 and i % 2 == 0 else part for i, part in enumerate(parts)]
    return f"GET /{'/'.join(template)}"


def is_endpoint_limit(reason: str | None) -> bool:
    """Whether a 429's `Stripe-Rate-Limited-Reason` is about the endpoint, not the account
    (no header, or `global-*`: the account)."""
    return (reason or "").strip().lower() in ENDPOINT_REASONS


class EndpointPaces:
    def __init__(self, configured: float | None, account_limit: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if configured is not None and configured <= 0:
            raise ValueError("endpoint_requests_per_second must be positive")
        self.configured = configured
        self._account_limit = account_limit
        self._clock, self._sleep = clock, sleep
        self._limiters: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def acquire(self, path: str) -> float | None:
        """Wait for the endpoint's pace. Returns seconds waited, None if it has no pace (yet)."""
        key = operation(path)
        limiter = self._limiters.get(key)
        if limiter is None and self.configured is not None:
            with self._lock:
                limiter = self._limiters.setdefault(key, self._limiter(self.configured))
        return limiter.acquire() if limiter is not None else None

    def slow_down(self, path: str) -> None:
        """An endpoint 429 answered a GET of `path`."""
        key = operation(path)
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                # The first sign of this endpoint's limit: Stripe's documented default.
                rate = min(DOCUMENTED_ENDPOINT_LIMIT, self._account_limit)
                self._limiters[key] = self._limiter(rate, learned=True)
                return
        limiter.slow_down()

    def rate(self, path: str) -> float | None:
        """The endpoint's pace in requests per second, None while it has none of its own."""
        limiter = self._limiters.get(operation(path))
        return limiter.rate if limiter is not None else None

    def _limiter(self, rate: float, learned: bool = False) -> RateLimiter:
        return RateLimiter(rate, clock=self._clock, sleep=self._sleep,
                           recovers=not learned, after_429=learned)
