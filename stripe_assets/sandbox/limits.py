"""Stripe's rate limits as the sandbox enforces them: the account's and each endpoint's.

Stripe counts requests per account (live 100/s, test 25/s) and, on top, per endpoint: each
named API operation (`GET /v1/charges`, `GET /v1/payment_intents/{id}`, ...) has its own limit,
25/s unless documented otherwise, and its requests count against the account's too. A 429 says
which limit it hit in its `Stripe-Rate-Limited-Reason` header.
"""

from __future__ import annotations

import threading
import time

from stripe_assets.sandbox.stats import RateLimiter

GLOBAL_RATE = "global-rate"
ENDPOINT_RATE = "endpoint-rate"


def operation(method: str, path: str) -> str:
    """The endpoint a request counts against: its method and path with object ids templated
    (`/v1/customers/cus_1/payment_methods` -> `/v1/customers/{id}/payment_methods`). In
    Stripe's paths an id follows each collection: /v1/{collection}/{id}/{collection}/..."""
    parts = path.strip("/").split("/")
    template = ["{id}" if i >= 2 and i % 2 == 0 else part for i, part in enumerate(parts)]
    return f"{method.upper()} /{'/'.join(template)}"


class RateLimits:
    """The account's limit and one limit per endpoint; None (or 0) for no limit."""

    def __init__(self, account: float | None = None, endpoint: float | None = None):
        for name, rate in (("rate_limit", account), ("endpoint_rate_limit", endpoint)):
            if rate is not None and rate < 0:
                raise ValueError(f"{name} must be >= 0 requests per second (0 or None: no limit)")
        self.account_rate = account or None
        self.endpoint_rate = endpoint or None
        self._account = RateLimiter(self.account_rate)
        self._endpoints: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def check(self, method: str, path: str, now: float | None = None) -> str | None:
        """None if the request is admitted (and counted against both limits), else the
        `Stripe-Rate-Limited-Reason` of its 429. A rejected request uses up neither."""
        now = time.monotonic() if now is None else now
        with self._lock:
            endpoint = self._endpoints.get(key := operation(method, path))
            if endpoint is None:
                endpoint = self._endpoints[key] = RateLimiter(self.endpoint_rate)
            if not self._account.has_room(now):
                return GLOBAL_RATE
            if not endpoint.has_room(now):
                return ENDPOINT_RATE
            self._account.take(now)
            endpoint.take(now)
            return None
