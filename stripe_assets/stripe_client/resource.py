"""The one Stripe API client every asset shares: a Dagster `ConfigurableResource` over requests.

It knows Stripe's protocol (auth headers, cursor pagination, `created` windows, error bodies,
`Stripe-Should-Retry`) and nothing about Dagster assets or DuckDB.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import dagster as dg
import requests
from pydantic import Field, PrivateAttr
from requests.adapters import HTTPAdapter

from stripe_assets.endpoints import ENDPOINTS, Endpoint
from stripe_assets.settings import STRIPE_API_BASE_DEFAULT, STRIPE_VERSION_DEFAULT
from stripe_assets.stripe_client.endpoint_paces import (
    REASON_HEADER,
    EndpointPaces,
    is_endpoint_limit,
)
from stripe_assets.stripe_client.errors import (
    StripeAccountAccessError,
    StripeAPIError,
    StripeAuthenticationError,
    StripeConfigError,
    StripeInvalidRequestError,
    StripePermissionError,
    StripeResponseError,
    StripeRetriesExhaustedError,
    mask_key,
)
from stripe_assets.stripe_client.page import ListSummary, Page, summarize_list
from stripe_assets.stripe_client.rate_limiter import RateLimiter
from stripe_assets.stripe_client.retry import (
    RetryPolicy,
    parse_retry_after,
    should_retry_status,
)
from stripe_assets.stripe_client.round_trips import RoundTrips
from stripe_assets.stripe_client.shared_pace import SharedPace
from stripe_assets.stripe_client.stats import RequestStats

# Connection errors that mean nothing listens at that address (rather than a network blip).
_NO_SERVER_THERE = ("Failed to resolve", "Name or service not known", "Connection refused",
                    "No route to host")
# A server on one of these is the bundled sandbox (or a test's), on whatever port.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Stripe's documented account-wide limits; live keys get four times the test budget.
LIVE_REQUESTS_PER_SECOND = 100.0
TEST_REQUESTS_PER_SECOND = 25.0
USER_AGENT = "stripe-assets/0.1 (+https://github.com/stripe-assets)"

Parsed = TypeVar("Parsed")
_request_log = logging.getLogger(__name__)


class StripeClient(dg.ConfigurableResource):
    """Reads a Stripe account through the REST API, politely and with retries.

    Set `api_key` with `dg.EnvVar("STRIPE_API_KEY")` so the key never appears in run config.
    """

    api_key: str = Field(
        description="Secret (sk_) or restricted (rk_) key. Use dg.EnvVar('STRIPE_API_KEY')."
    )
    api_base: str = Field(
        default=STRIPE_API_BASE_DEFAULT,
        description="Base URL of the API; STRIPE_API_BASE points it at the local sandbox.",
    )
    stripe_version: str = Field(
        default=STRIPE_VERSION_DEFAULT,
        description="Stripe-Version header: pins the shape of every object loaded.",
    )
    stripe_account: str | None = Field(
        default=None, description="Stripe-Account header (acct_...), to read a Connect account."
    )
    requests_per_second: float | None = Field(
        default=None,
        description="Client-side rate limit. Default: 100/s for live keys, 25/s for test keys.",
    )
    endpoint_requests_per_second: float | None = Field(
        default=None,
        description="Client-side limit of each endpoint (Stripe's default is 25/s, under the "
        "account's 100/s live). Default: an endpoint is paced by the account alone until Stripe "
        "answers it with an endpoint 429, then at 25/s (lower if 429s go on).",
    )
    share_rate_limit: bool = Field(
        default=True,
        description="Pace together with every other process on this machine that reads the "
        "same account (same key and API base), through a lock file in the temp directory: "
        "concurrent runs stay under the account's limit without sharing a Dagster pool.",
    )
    max_workers: int | None = Field(
        default=None,
        description="Most requests in flight within one asset. Default: enough to fill the "
        "rate limit at up to 500 ms per round trip (32 for live keys, 13 for test keys); fewer "
        "are used when the measured round trip needs fewer.",
    )
    max_attempts: int = Field(default=8, description="Attempts per request, first included.")
    max_retry_seconds: float = Field(
        default=120.0, description="Upper bound on the backoff sleeps of one request."
    )
    retry_base_delay_seconds: float = Field(
        default=0.5, description="First backoff delay; doubles per retry, with full jitter."
    )
    connect_timeout_seconds: float = Field(default=10.0)
    read_timeout_seconds: float = Field(default=60.0)

    _session: requests.Session | None = PrivateAttr(default=None)
    _limiter: RateLimiter | None = PrivateAttr(default=None)
    _endpoint_paces: EndpointPaces | None = PrivateAttr(default=None)
    _stats: RequestStats = PrivateAttr(default_factory=RequestStats)
    _round_trips: RoundTrips = PrivateAttr(default_factory=RoundTrips)

    # ---- set-up -------------------------------------------------------------------------

    @property
    def stats(self) -> RequestStats:
        return self._stats

    @property
    def round_trip_seconds(self) -> float | None:
        """Recent time from sending a request to its answer (None before the first)."""
        return self._round_trips.average

    @property
    def livemode(self) -> bool:
        return self.api_key.startswith(("sk_live_", "rk_live_"))

    @property
    def data_source(self) -> str:
        """Whose data this client reads, in words, so that one DuckDB file is not filled from
        two: the server (any local one is the sandbox, whatever its port), the key's mode and
        the Connect account. Never the key."""
        host = urlsplit(self.api_base).hostname or self.api_base
        where = "the local sandbox" if host in LOCAL_HOSTS else host
        account = f", account {self.stripe_account}" if self.stripe_account else ""
        return f"{where} ({'live' if self.livemode else 'test'} mode{account})"

    def check_key(self) -> None:
        """Fail before any request on a key that can never work."""
        key = self.api_key.strip()
        if not key:
            raise StripeConfigError(
                "STRIPE_API_KEY is empty. Set it to a secret key (sk_test_... or sk_live_...) "
                "or a restricted key (rk_...) from https://dashboard.stripe.com/apikeys, or unset "
                "STRIPE_API_BASE and run `stripe-assets load` with no key to use the local sandbox."
            )
        if key.startswith("pk_"):
            raise StripeConfigError(
                f"STRIPE_API_KEY is a publishable key ({mask_key(key)}). Publishable keys cannot "
                "read payments data; use a secret key (sk_...) or a restricted key (rk_...) with "
                "read permissions, from https://dashboard.stripe.com/apikeys."
            )

    def _http(self) -> requests.Session:
        if self._session is None:
            self.check_key()
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.effective_max_workers() * 2)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(
                {
                    "Authorization": f"Bearer {self.api_key.strip()}",
                    "Stripe-Version": self.stripe_version,
                    "User-Agent": USER_AGENT,
                }
            )
            if self.stripe_account:
                session.headers["Stripe-Account"] = self.stripe_account
            self._session = session
        return self._session

    def effective_max_workers(self) -> int:
        if self.max_workers:
            return self.max_workers
        # Little's law: in-flight requests = rate x round-trip time (up to 500 ms here).
        return max(4, min(32, math.ceil(self.rate_limiter().limit * 0.5)))

    def rate_limiter(self) -> RateLimiter:
        if self._limiter is None:
            rate = self.requests_per_second or (
                LIVE_REQUESTS_PER_SECOND if self.livemode else TEST_REQUESTS_PER_SECOND
            )
            shared = (SharedPace.for_account(self.api_base, self.api_key)
                      if self.share_rate_limit else None)
            self._limiter = RateLimiter(rate, shared=shared)
        return self._limiter

    def endpoint_paces(self) -> EndpointPaces:
        """Each endpoint's own pace, under `rate_limiter()`'s (see endpoint_paces.py)."""
        if self._endpoint_paces is None:
            self._endpoint_paces = EndpointPaces(self.endpoint_requests_per_second,
                                                 self.rate_limiter().limit)
        return self._endpoint_paces

    # ---- the API ------------------------------------------------------------------------

    def list_pages(
        self,
        endpoint: Endpoint | str,
        *,
        created_gte: int | None = None,
        created_lt: int | None = None,
        params: Mapping[str, Any] | None = None,
        path: str | None = None,
        limit: int = 100,
    ) -> Generator[Page, None, None]:
        """Yield every page of a list, newest first, following `starting_after` cursors.

        `created_gte`/`created_lt` (Unix seconds) window the list where Stripe supports it.
        `path` overrides the URL, e.g. `/v1/customers/cus_1/payment_methods`.
        """
        ep = ENDPOINTS[endpoint] if isinstance(endpoint, str) else endpoint
        query: dict[str, Any] = {"limit": limit, **(params or {})}
        if created_gte is not None or created_lt is not None:
            if not ep.created_filter:
                raise ValueError(f"Stripe has no created filter on {ep.name}")
            if created_gte is not None:
                query["created[gte]"] = created_gte
            if created_lt is not None:
                query["created[lt]"] = created_lt
        url_path = path or ep.path
        while True:
            body, summary, request_id = self._get(url_path, query, ep, summarize_list)
            page = _as_page(url_path, body, summary, request_id)
            self._stats.add(pages=1, objects=page.count)
            yield page
            if not page.has_more:
                return
            if not page.count:
                raise StripeResponseError(
                    f"GET {url_path} said has_more=true on an empty page; refusing to loop. "
                    "Is STRIPE_API_BASE a Stripe-compatible server?"
                )
            query["starting_after"] = page.summary.last_id

    def retrieve(self, endpoint: Endpoint | str, object_id: str) -> dict[str, Any]:
        """GET /v1/{endpoint}/{id}: e.g. a payment method known only from a payment intent."""
        ep = ENDPOINTS[endpoint] if isinstance(endpoint, str) else endpoint
        url_path = f"{ep.path}/{object_id}"
        _, payload, _ = self._get(url_path, {}, ep, json.loads)
        if not isinstance(payload, dict) or not payload.get("id"):
            raise StripeResponseError(
                f"GET {url_path} answered without an object id. Is STRIPE_API_BASE "
                f"({self.api_base}) a Stripe-compatible server?"
            )
        self._stats.add(pages=1, objects=1)
        return payload

    def api_version(self) -> str:
        return self.stripe_version

    def check_access(self, endpoint: Endpoint | str = "charges") -> None:
        """One small list request, to fail before a load on a key or server that cannot work:
        raises what `list_pages` raises (StripeConfigError, StripeAuthenticationError,
        StripeResponseError, StripeRetriesExhaustedError, ...). A 403 passes: a restricted key
        may lack some permissions, and the assets that need them say so themselves."""
        pages = self.list_pages(endpoint, limit=1)
        try:
            next(pages)
        except StripePermissionError:
            return
        finally:
            pages.close()

    # ---- one request, with retries ------------------------------------------------------

    def _get(
        self, path: str, query: Mapping[str, Any], ep: Endpoint, parse: Callable[[bytes], Parsed]
    ) -> tuple[bytes, Parsed, str | None]:
        """`parse` reads a 200 body and raises ValueError if it is not JSON (then retried)."""
        session = self._http()
        limiter = self.rate_limiter()
        endpoint = self.endpoint_paces()
        policy = RetryPolicy(max_attempts=self.max_attempts,
                             max_total_seconds=self.max_retry_seconds,
                             base_delay=self.retry_base_delay_seconds)
        url = self.api_base.rstrip("/") + path
        log = dg.get_dagster_logger()
        slept = 0.0
        started = time.monotonic()
        last_problem = ""
        not_stripe = False  # the last problem suggests STRIPE_API_BASE is wrong, not a blip
        for attempt in range(1, policy.max_attempts + 1):
            # The endpoint's turn first: waiting for it must not hold one of the account's.
            endpoint_waited = endpoint.acquire(path)
            waited = (endpoint_waited or 0.0) + limiter.acquire()
            if endpoint_waited is None:
                # Its first 429 may have come back while this request waited for the account.
                waited += endpoint.acquire(path) or 0.0
            self._stats.add(seconds_waited=waited, requests=1)
            sent = time.monotonic()
            retry_after: float | None = None
            try:
                response = session.get(
                    url, params=query,
                    timeout=(self.connect_timeout_seconds, self.read_timeout_seconds),
                )
                body = response.content
            except requests.exceptions.InvalidURL:
                raise
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                # requests wraps urllib3's reason ("Failed to establish a new connection:
                # [Errno 111] Connection refused") in a long preamble: show the reason.
                reason = getattr(exc.args[0], "reason", None) if exc.args else None
                detail = _scrub(str(reason or exc), self.api_key)[:200]
                last_problem = f"{type(exc).__name__} ({detail})"
                not_stripe = isinstance(exc, requests.ConnectionError) and any(
                    sign in str(exc) for sign in _NO_SERVER_THERE
                )
            else:
                request_id = response.headers.get("Request-Id")
                # Not Dagster's logger: a line per request would be an event per request in the
                # run's event log (535 for 50,000 charges), stored while the fetch runs.
                _request_log.debug("GET %s -> %s Request-Id=%s", path, response.status_code,
                                   request_id)
                status = response.status_code
                if status == 200:
                    self._round_trips.add(time.monotonic() - sent)
                    try:
                        return body, parse(body), request_id
                    except ValueError:
                        if response.headers.get("Stripe-Should-Retry", "").lower() == "false":
                            raise StripeResponseError(
                                f"GET {path} answered 200 with a body that is not JSON "
                                f"(Request-Id {request_id}). Is STRIPE_API_BASE ({self.api_base})"
                                " a Stripe-compatible server?"
                            ) from None
                        kind = response.headers.get("Content-Type") or "no Content-Type"
                        last_problem = f"200 with a body that is not JSON ({len(body)} bytes of " \
                            f"{kind})"
                        # JSON cut short is a network fault; a web page or text is not Stripe.
                        not_stripe = "json" not in kind.lower() or \
                            body.lstrip()[:1] not in (b"{", b"[")
                elif should_retry_status(status, response.headers):
                    if status == 429:
                        self._stats.add(rate_limited=1)
                        if _error_body(body).get("code") == "lock_timeout":
                            pass  # one object busy (Stripe's 429 lock_timeout): not our pace
                        elif is_endpoint_limit(response.headers.get(REASON_HEADER)):
                            endpoint.slow_down(path)
                        else:
                            limiter.slow_down()
                    retry_after = parse_retry_after(response.headers)
                    last_problem = f"HTTP {status} {_error_summary(body, self.api_key)}"
                    not_stripe = False
                else:
                    raise self._error_for(status, body, path, ep, request_id)
            if attempt == policy.max_attempts:
                break
            delay = policy.delay(attempt, retry_after)
            if slept + delay > policy.max_total_seconds:
                break
            self._stats.add(retries=1, seconds_waited=delay)
            log.debug(f"GET {path}: {last_problem}; retry {attempt} in {delay:.2f}s")
            time.sleep(delay)
            slept += delay
        if not_stripe:
            advice = (
                f"Check STRIPE_API_BASE ({self.api_base}): it must be Stripe's API "
                f"({STRIPE_API_BASE_DEFAULT}) or a Stripe-compatible server such as the local "
                "sandbox, reachable from here; then re-run."
            )
        else:
            advice = (
                "Stripe or the network is having trouble (see https://status.stripe.com); re-run "
                "later, or raise max_attempts / max_retry_seconds on the stripe resource."
            )
        raise StripeRetriesExhaustedError(
            f"GET {path} kept failing: {attempt} attempts over "
            f"{time.monotonic() - started:.0f}s, last: {last_problem}. {advice} Nothing was "
            "written."
        )

    def _error_for(
        self, status: int, body: bytes, path: str, ep: Endpoint, request_id: str | None
    ) -> StripeAPIError:
        error = _error_body(body)
        message = _scrub(str(error.get("message") or body[:200].decode(errors="replace")),
                         self.api_key)
        error = {**error, "message": message}
        where = f"(GET {path}, Request-Id {request_id})"
        kwargs: dict[str, Any] = {"status": status, "error": error, "request_id": request_id}
        if status == 401:
            return StripeAuthenticationError(
                f"Stripe rejected the API key {mask_key(self.api_key)}: {message} {where}. "
                "The key is mistyped, rolled or revoked: set STRIPE_API_KEY to a current secret "
                "or restricted key from https://dashboard.stripe.com/apikeys.", **kwargs)
        if status == 403 and _refuses_account(error):
            account = self.stripe_account or "(none sent)"
            return StripeAccountAccessError(
                f"Stripe refused to act on the Connect account {account} (STRIPE_ACCOUNT) with"
                f" the key {mask_key(self.api_key)}: {message} {where}. Set STRIPE_ACCOUNT to an"
                " account connected to this key's platform, or unset it to read the key's own"
                " account.", **kwargs)
        if status == 403:
            return StripePermissionError(
                f"The restricted key {mask_key(self.api_key)} may not read {ep.name}: {message} "
                f"{where}. Grant it the '{ep.permission}' read permission in the Dashboard "
                "(Developers → API keys → edit key), or leave this asset out of the run; the "
                "other assets are not affected.", **kwargs)
        detail = ", ".join(
            f"{k}={error[k]}" for k in ("type", "code", "param") if error.get(k)
        )
        if status == 400 and "Invalid Stripe API version" in message:
            return StripeInvalidRequestError(
                f"Stripe does not know the API version {self.stripe_version} (STRIPE_VERSION):"
                f" {message} {where}. Set STRIPE_VERSION to a version listed at"
                " https://docs.stripe.com/upgrades, or unset it to use the one this project's"
                " tables are built for.", **kwargs)
        if status in (400, 404):
            return StripeInvalidRequestError(
                f"Stripe refused GET {path} with {status} ({detail}): {message} "
                f"(Request-Id {request_id}). If STRIPE_API_BASE is real Stripe this is a bug in "
                "stripe-assets or an unsupported Stripe-Version "
                f"({self.stripe_version}): please report it with the Request-Id.", **kwargs)
        return StripeAPIError(
            f"Stripe answered GET {path} with {status} ({detail}): {message} {where}.", **kwargs)


def _refuses_account(error: Mapping[str, Any]) -> bool:
    """A 403 about the `Stripe-Account` header (every request fails), not about one resource."""
    message = str(error.get("message") or "")
    return error.get("code") == "account_invalid" or "does not have access to account" in message \
        or "Only Stripe Connect platforms can work with other accounts" in message


def _as_page(path: str, body: bytes, summary: ListSummary, request_id: str | None) -> Page:
    if not summary.data_is_list:
        raise StripeResponseError(
            f"GET {path} answered 200 without a `data` list (Request-Id {request_id}); this is "
            "not a Stripe list response. Check STRIPE_API_BASE."
        )
    if summary.without_id:
        raise StripeResponseError(
            f"GET {path} returned {summary.without_id} object(s) without an `id` (Request-Id "
            f"{request_id}); they cannot be stored or de-duplicated. Check STRIPE_API_BASE."
        )
    return Page(body=body, summary=summary, request_id=request_id)


def _error_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _error_summary(body: bytes, key: str) -> str:
    error = _error_body(body)
    if error:
        return _scrub(f"{error.get('type')}: {error.get('message')}", key)
    return "(no Stripe error body)"


def _scrub(text: str, key: str) -> str:
    """Servers may echo what they were sent; a key must not survive into our messages."""
    key = key.strip()
    return text.replace(key, mask_key(key)) if key else text
