"""Failures on demand: what real networks, proxies and Stripe itself do to a loader.

Two sources: a seeded random rate (`fault_rate` among `fault_kinds`) for soak tests, and
`inject(kind, count, path_prefix)` rules that make the next matching requests fail, for
precise tests. Injected rules are used first, oldest first.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from stripe_assets.sandbox import errors
from stripe_assets.sandbox.api import Response

HTML = "text/html; charset=utf-8"

# Kinds the random fault source may pick.
RANDOM_KINDS = frozenset({"500", "503_html", "429", "reset", "truncated", "invalid_json"})
# Kinds `inject` accepts: the random ones plus rarer or slower cases.
INJECT_KINDS = RANDOM_KINDS | {
    "409",  # a conflict answered with Stripe-Should-Retry: true
    "lock_timeout",  # 429 lock_timeout: another request holds the object (not a rate limit)
    "502",  # a gateway's HTML error page
    "429_retry_after",  # 429 with Retry-After: <seconds>
    "500_should_not_retry",  # 500 with Stripe-Should-Retry: false
    "400_should_retry",  # 400 with Stripe-Should-Retry: true
    "slow",  # answer normally, after `seconds`
}
# Kinds handled at the socket level by the server rather than as a response.
CONNECTION_KINDS = frozenset({"reset", "truncated", "slow"})


@dataclass
class Fault:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Rule:
    kind: str
    remaining: int
    path_prefix: str | None
    params: dict[str, Any]


def check_kinds(
    kinds: list[str] | tuple[str, ...] | frozenset[str], allowed: frozenset[str]
) -> None:
    unknown = sorted(set(kinds) - allowed)
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; choose among {sorted(allowed)}")


class FaultPlan:
    def __init__(self, rate: float = 0.0, kinds: tuple[str, ...] = ("500",), seed: int = 0):
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._rng = random.Random(seed)
        self.set_random(rate, kinds)

    def set_random(self, rate: float, kinds: tuple[str, ...] | list[str]) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {rate}")
        check_kinds(tuple(kinds), RANDOM_KINDS)
        if rate > 0 and not kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        with self._lock:
            self.rate = rate
            self.kinds = tuple(kinds)

    def inject(
        self, kind: str, count: int = 1, path_prefix: str | None = None, **params: Any
    ) -> None:
        check_kinds((kind,), INJECT_KINDS)
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._rules.append(_Rule(kind, count, path_prefix, params))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pick(self, path: str) -> Fault | None:
        """The fault for this request, if any; consumes one use of a matching rule."""
        with self._lock:
            for rule in self._rules:
                if rule.path_prefix is None or path.startswith(rule.path_prefix):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return Fault(rule.kind, dict(rule.params))
            if self.rate and self._rng.random() < self.rate:
                return Fault(self._rng.choice(self.kinds))
        return None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "fault_rate": self.rate,
                "fault_kinds": list(self.kinds),
                "pending": [
                    {"kind": r.kind, "remaining": r.remaining, "path_prefix": r.path_prefix,
                     "params": r.params}
                    for r in self._rules
                ],
            }  # fmt: skip


def fault_response(fault: Fault, request_id: str) -> Response:
    """The answer for faults that are an HTTP response (not the connection-level ones)."""
    kind, params = fault.kind, fault.params
    if kind == "500":
        return _error(errors.api_error(), request_id)
    if kind == "500_should_not_retry":
        return _error(errors.api_error(), request_id, {"Stripe-Should-Retry": "false"})
    if kind == "409":  # a conflict Stripe says to retry
        return _error(errors.lock_timeout(409), request_id, {"Stripe-Should-Retry": "true"})
    if kind == "lock_timeout":
        return _error(errors.lock_timeout(), request_id)
    if kind == "429":
        return _error(errors.rate_limited(), request_id)
    if kind == "429_retry_after":
        seconds = params.get("seconds", 1)
        return _error(errors.rate_limited(), request_id, {"Retry-After": str(seconds)})
    if kind == "400_should_retry":
        error = errors.StripeError(
            400, "The request could not be completed right now; it is safe to retry."
        )
        return _error(error, request_id, {"Stripe-Should-Retry": "true"})
    if kind == "503_html":
        return Response(503, _html_page(503, "Service Temporarily Unavailable"), {}, HTML)
    if kind == "502":
        return Response(502, _html_page(502, "Bad Gateway"), {}, HTML)
    if kind == "invalid_json":
        content_type = params.get("content_type", HTML)
        page = b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head>" + (
            b"<body><p>Please accept the terms to continue.</p></body></html>"
        )
        return Response(200, page, {}, content_type)
    raise ValueError(f"{kind} is not a response fault")


def _error(
    error: errors.StripeError, request_id: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(error.status, error.body(request_id), {**error.headers, **(headers or {})})


def _html_page(status: int, reason: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()
