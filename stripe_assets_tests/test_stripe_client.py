"""The Stripe client against the local sandbox API, over real HTTP."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from stripe_assets.endpoints import ENDPOINTS
from stripe_assets.stripe_client import (
    Page,
    StripeAPIError,
    StripeAuthenticationError,
    StripeClient,
    StripeConfigError,
    StripeInvalidRequestError,
    StripePermissionError,
    StripeResponseError,
    StripeRetriesExhaustedError,
)
from stripe_assets.stripe_client.parallel import fetch_created_range
from stripe_assets_tests.reliability_support import closed_port

KEY = "sk_test_51SecretKeyThatMustNeverLeak9xQz"


def client_for(url: str, key: str = KEY, **overrides: object) -> StripeClient:
    config: dict[str, object] = {
        "api_key": key,
        "api_base": url,
        "requests_per_second": 1000,
        "retry_base_delay_seconds": 0.01,
        "max_retry_seconds": 10,
        "read_timeout_seconds": 2,
        "max_workers": 6,
    }
    config.update(overrides)
    return StripeClient(**config)  # type: ignore[arg-type]


def all_ids(client: StripeClient, name: str, **kwargs: Any) -> list[str]:
    return [o["id"] for page in client.list_pages(name, **kwargs) for o in page.objects]


def expected(server, name: str) -> list[dict]:
    """The sandbox's own list, newest first, as an independent reference."""
    return list(server.account.list_all(name))


# ---- pagination -----------------------------------------------------------------------


def test_pagination_walks_every_page_newest_first_without_duplicates(sandbox):
    client = client_for(sandbox.url)
    pages = list(client.list_pages("charges"))
    ids = [o["id"] for p in pages for o in p.objects]
    reference = expected(sandbox, "charges")
    assert len(pages) >= 8
    assert all(len(p.objects) == 100 for p in pages[:-1])
    assert not pages[-1].has_more
    assert ids == [o["id"] for o in reference]
    assert len(set(ids)) == len(ids)
    created = [o["created"] for p in pages for o in p.objects]
    assert created == sorted(created, reverse=True)
    assert client.stats.snapshot()["pages"] == len(pages)


def test_list_requests_ask_for_100_and_follow_starting_after_the_last_id_of_each_page(sandbox):
    """The sandbox answers 10 objects when no limit is sent: what the client asks for is read
    off the requests themselves, relayed to the sandbox through a recording server."""
    reference = [o["id"] for o in expected(sandbox, "customers")]
    assert 100 < len(reference) < 200  # two pages at limit=100, thirteen at the default 10
    queries: list[dict[str, str]] = []

    def relay(query: dict[str, str]) -> Answer:
        queries.append(query)
        answer = requests.get(f"{sandbox.url}/v1/customers", params=query, timeout=10,
                              headers={"Authorization": f"Bearer {KEY}"})
        return answer.status_code, answer.content, 0.0

    with scripted(relay) as url:
        pages = list(client_for(url).list_pages("customers"))
    assert [len(p.objects) for p in pages] == [100, len(reference) - 100]
    assert [o["id"] for p in pages for o in p.objects] == reference
    assert queries == [{"limit": "100"}, {"limit": "100", "starting_after": reference[99]}]


def test_created_windows_partition_the_data_exactly(sandbox):
    client = client_for(sandbox.url)
    reference = expected(sandbox, "charges")
    lo = min(o["created"] for o in reference)
    hi = max(o["created"] for o in reference) + 1
    bounds = [lo + (hi - lo) * i // 7 for i in range(7)] + [hi]
    windows = [
        all_ids(client, "charges", created_gte=a, created_lt=b)
        for a, b in pairwise(bounds)
    ]
    flat = [i for w in windows for i in w]
    assert sorted(flat) == sorted(o["id"] for o in reference)
    assert len(flat) == len(set(flat))


def test_concurrent_window_fetch_with_adaptive_splitting_returns_each_object_once(sandbox):
    client = client_for(sandbox.url, max_workers=8)
    reference = expected(sandbox, "charges")
    lo = min(o["created"] for o in reference)
    hi = max(o["created"] for o in reference) + 1
    seen: list[str] = []
    # Round trips of a few ms at 1000/s want few windows: the dense ones get split as they go.
    fetch_created_range(client, ENDPOINTS["charges"], lo, hi,
                        lambda page: seen.extend(o["id"] for o in page.objects), workers=8)
    assert sorted(seen) == sorted(o["id"] for o in reference)
    assert len(seen) == len(set(seen))


def test_concurrent_window_fetch_keeps_only_as_many_requests_in_flight_as_the_limit_uses(
    sandbox_factory,
):
    # Little's law: 10 requests/s with ~0.2 s round trips fill the limit with 2 in flight.
    # Every window ends on a partial page, so more windows open at once than
    # ceil(2 x 1.2 margin) = 3 would cost requests without going faster (16 workers allowed).
    server = sandbox_factory(latency=0.2)
    client = client_for(server.url, requests_per_second=10, max_workers=16)
    reference = expected(server, "charges")
    lo = min(o["created"] for o in reference)
    hi = max(o["created"] for o in reference) + 1
    pages: list[Page] = []
    fetch_created_range(client, ENDPOINTS["charges"], lo, hi, pages.append)
    assert sorted(o["id"] for p in pages for o in p.objects) == sorted(o["id"] for o in reference)
    windows = sum(1 for p in pages if not p.has_more)  # each window ends on one such page
    assert windows <= 4  # 3, and perhaps one split when a window ends before the others
    assert client.round_trip_seconds is not None and client.round_trip_seconds >= 0.2


def test_a_window_split_off_during_the_fetch_that_fails_fails_the_whole_range():
    """A dense window is split while it is read; the split-off part runs on a thread of its
    own. Its failure must fail the range, or the asset would write a partial day as a
    success (the loop once watched only the windows it knew when it last looked)."""

    def page(objects: list[dict[str, Any]], has_more: bool) -> Answer:
        body = {"object": "list", "data": objects, "has_more": has_more}
        return 200, json.dumps(body).encode(), 0.0

    def answer(query: dict[str, str]) -> Answer:
        start, end = int(query["created[gte]"]), int(query["created[lt]"])
        if "starting_after" in query:  # the dense window, continued: answers after the split
            _, body, _ = page([{"id": "ch_last", "object": "charge", "created": 350}], False)
            return 200, body, 0.3
        if (start, end) == (200, 400):  # dense: 100 charges in its last two seconds; it
            # answers after [0, 200), so that a worker is free to take the part split off
            status, body, _ = page([{"id": f"ch_{i}", "object": "charge", "created": 399 - i // 50}
                                    for i in range(100)], True)
            return status, body, 0.1
        if start == 200:  # the part split off [200, 398]: Stripe refuses it
            error = {"error": {"type": "invalid_request_error", "message": "Refused."}}
            return 400, json.dumps(error).encode(), 0.0
        return page([], False)

    with scripted(answer) as url:
        client = client_for(url, max_workers=2)  # two windows: [200, 400) and [0, 200)
        with pytest.raises(StripeInvalidRequestError, match="Refused"):
            fetch_created_range(client, ENDPOINTS["charges"], 0, 400, lambda page: None)


def test_created_filter_is_refused_client_side_where_stripe_has_none(sandbox):
    client = client_for(sandbox.url)
    with pytest.raises(ValueError, match="no created filter on payment_links"):
        list(client.list_pages("payment_links", created_gte=0))


def test_retrieve_by_id_returns_the_object(sandbox):
    client = client_for(sandbox.url)
    pi = expected(sandbox, "payment_intents")[0]
    assert client.retrieve("payment_intents", pi["id"])["id"] == pi["id"]
    pm_id = next(o["payment_method"] for o in expected(sandbox, "payment_intents")
                 if o.get("payment_method"))
    assert client.retrieve("payment_methods", pm_id)["object"] == "payment_method"


# ---- retries ----------------------------------------------------------------------------

RETRIED = ["500", "502", "503_html", "409", "429", "reset", "truncated", "invalid_json",
           "400_should_retry"]


@pytest.mark.parametrize("kind", RETRIED)
def test_transient_failure_is_retried_and_counted(sandbox_factory, kind):
    server = sandbox_factory()
    client = client_for(server.url)
    server.inject(kind, count=2, path_prefix="/v1/customers")
    ids = all_ids(client, "customers")
    assert ids == [o["id"] for o in expected(server, "customers")]
    stats = client.stats.snapshot()
    assert stats["retries"] == 2
    assert stats["rate_limited"] == (2 if kind == "429" else 0)


def test_timeout_is_retried(sandbox_factory):
    server = sandbox_factory()
    client = client_for(server.url, read_timeout_seconds=0.5)
    server.inject("slow", count=1, path_prefix="/v1/payouts", seconds=2)
    assert all_ids(client, "payouts") == [o["id"] for o in expected(server, "payouts")]
    assert client.stats.snapshot()["retries"] == 1


def test_retry_after_header_delays_the_retry_at_least_that_long_as_the_server_sees_it():
    """The client's own `seconds_waited` counts a wait before sleeping it: the server's clock
    is the witness. Its own backoff (0.01 s here) would retry at once."""
    arrivals: list[float] = []

    def answer(query: dict[str, str]) -> Answer | AnswerWithHeaders:
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            error = {"error": {"type": "rate_limit_error", "message": "Too many requests."}}
            return 429, json.dumps(error).encode(), 0.0, {"Retry-After": "1"}
        body = {"object": "list", "has_more": False,
                "data": [{"id": "po_1", "object": "payout", "created": 1700000000}]}
        return 200, json.dumps(body).encode(), 0.0

    with scripted(answer) as url:
        client = client_for(url)
        assert all_ids(client, "payouts") == ["po_1"]
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 1.0
    assert client.stats.snapshot()["rate_limited"] == 1


def test_stripe_should_retry_false_stops_retrying_a_500_with_an_api_error_of_status_500(
    sandbox_factory,
):
    server = sandbox_factory()
    client = client_for(server.url)
    server.inject("500_should_not_retry", count=1, path_prefix="/v1/payouts")
    with pytest.raises(StripeAPIError, match="answered GET /v1/payouts with 500") as info:
        all_ids(client, "payouts")
    assert type(info.value) is StripeAPIError  # not a 400/404's "bug in stripe-assets"
    assert info.value.status == 500
    assert info.value.error.get("type") == "api_error"
    assert server.stats["requests"] == 1


def test_retries_are_bounded_and_the_error_says_what_to_do(sandbox_factory):
    server = sandbox_factory()
    client = client_for(server.url, max_attempts=4)
    server.inject("503_html", count=100, path_prefix="/v1/refunds")
    with pytest.raises(StripeRetriesExhaustedError, match="4 attempts") as info:
        all_ids(client, "refunds")
    assert "re-run later" in str(info.value)
    assert server.stats["requests"] == 4


# ---- fail fast ---------------------------------------------------------------------------


def test_publishable_key_is_rejected_before_any_request(sandbox_factory):
    server = sandbox_factory()
    client = client_for(server.url, key="pk_test_51PublishableKeyabcd")
    with pytest.raises(StripeConfigError, match="publishable key") as info:
        all_ids(client, "charges")
    assert "pk_test_51PublishableKeyabcd" not in str(info.value)
    assert server.stats["requests"] == 0


def test_revoked_key_fails_at_once_with_the_key_masked(sandbox_factory):
    revoked = "sk_test_51RevokedKeyValue0000wxyz"
    server = sandbox_factory(revoked_keys={revoked})
    client = client_for(server.url, key=revoked)
    with pytest.raises(StripeAuthenticationError) as info:
        all_ids(client, "charges")
    message = str(info.value)
    assert revoked not in message
    assert "sk_test_...wxyz" in message
    assert "STRIPE_API_KEY" in message
    assert server.stats["requests"] == 1


def test_restricted_key_without_permission_names_the_resource(sandbox_factory):
    key = "rk_test_51RestrictedKey0000abcd"
    server = sandbox_factory(restricted_keys={key: {"charges", "customers"}})
    client = client_for(server.url, key=key)
    assert all_ids(client, "customers")
    with pytest.raises(StripePermissionError) as info:
        all_ids(client, "payouts")
    assert "payouts" in str(info.value)
    assert "rak_payout_read" in str(info.value)
    assert key not in str(info.value)


def test_bad_request_reports_stripe_type_code_message_and_param(sandbox):
    client = client_for(sandbox.url)
    with pytest.raises(StripeInvalidRequestError) as info:
        list(client.list_pages("charges", params={"starting_after": "ch_doesnotexist"}))
    error = info.value
    assert error.status == 400
    assert "invalid_request_error" in str(error)
    assert "starting_after" in str(error)
    assert "ch_doesnotexist" in str(error)


def test_unknown_id_is_a_404_with_stripe_details(sandbox):
    client = client_for(sandbox.url)
    with pytest.raises(StripeInvalidRequestError) as info:
        client.retrieve("payment_methods", "pm_doesnotexist")
    assert info.value.status == 404
    assert "resource_missing" in str(info.value)


def test_unreachable_host_fails_after_max_attempts_within_seconds_pointing_at_the_base():
    url = f"http://127.0.0.1:{closed_port()}"
    client = client_for(url, max_attempts=2)
    began = time.monotonic()
    with pytest.raises(StripeRetriesExhaustedError) as info:
        all_ids(client, "charges")
    assert time.monotonic() - began < 5
    message = str(info.value)
    assert "GET /v1/charges kept failing: 2 attempts over " in message
    assert "ConnectionError" in message and "Connection refused" in message
    assert f"Check STRIPE_API_BASE ({url})" in message
    assert client.stats.snapshot()["requests"] == 2


@contextmanager
def answering(body: bytes, status: int = 200) -> Iterator[str]:
    """A real HTTP server that answers every request with `body`: a broken 'Stripe'."""
    with scripted(lambda query: (status, body, 0.0)) as url:
        yield url


Answer = tuple[int, bytes, float]  # status, body, seconds to wait before answering
AnswerWithHeaders = tuple[int, bytes, float, dict[str, str]]  # and headers to add


@contextmanager
def scripted(answer: Callable[[dict[str, str]], Answer | AnswerWithHeaders]) -> Iterator[str]:
    """A real HTTP server whose answer to each request `answer` picks from its query."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = dict(parse_qsl(urlsplit(self.path).query))
            status, body, delay, *headers = answer(query)
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in (headers[0] if headers else {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_list_answer_without_data_is_an_error_not_an_empty_table():
    with answering(b'{"object": "list", "has_more": false}') as url, \
            pytest.raises(StripeResponseError, match="without a `data` list"):
        all_ids(client_for(url), "charges")


def test_object_without_id_is_an_error():
    with answering(b'{"object": "list", "has_more": false, "data": [{"object": "charge"}]}') \
            as url, pytest.raises(StripeResponseError, match="without an `id`"):
        all_ids(client_for(url), "charges")


@pytest.mark.parametrize("body", [b'{"object": "payment_method"}', b'{"id": "", "object": "x"}',
                                  b'[{"id": "pm_1"}]'])
def test_retrieve_answered_without_an_object_id_is_an_error(body):
    with answering(body) as url, pytest.raises(
        StripeResponseError,
        match=rf"GET /v1/payment_methods/pm_1 answered without an object id\. Is STRIPE_API_BASE "
              rf"\({url}\) a Stripe-compatible server\?",
    ):
        client_for(url).retrieve("payment_methods", "pm_1")


@pytest.mark.parametrize("created", [None, "1700000000", True, 1.5])
def test_a_created_range_page_whose_last_object_has_no_integer_created_is_an_error(created):
    """The next window starts at the last object's `created`: without it the range cannot go
    on. Pages after the first say has_more=false, so a client that pressed on would end."""
    last: dict[str, Any] = {"id": "ch_2", "object": "charge"}
    if created is not None:
        last["created"] = created

    def answer(query: dict[str, str]) -> Answer:
        data = [{"id": "ch_1", "object": "charge", "created": 300}, last]
        body = {"object": "list", "has_more": "starting_after" not in query, "data": data}
        return 200, json.dumps(body).encode(), 0.0

    with scripted(answer) as url, pytest.raises(
        StripeResponseError,
        match=r"GET /v1/charges returned a page whose last object has no integer `created`",
    ):
        fetch_created_range(client_for(url), ENDPOINTS["charges"], 0, 400, lambda page: None)


def test_an_integer_beyond_64_bits_is_listed_not_a_parser_crash():
    """Valid JSON that simdjson cannot hold; the IO manager stores it (HUGEINT or JSON)."""
    body = (b'{"object": "list", "has_more": false, "data": [{"id": "ch_big", "object": "charge",'
            b' "created": 1700000000, "amount": 123456789012345678901234567890}]}')
    with answering(body) as url:
        assert all_ids(client_for(url), "charges") == ["ch_big"]


def test_has_more_on_an_empty_page_does_not_loop_forever():
    with answering(b'{"object": "list", "has_more": true, "data": []}') as url, \
            pytest.raises(StripeResponseError, match="refusing to loop"):
        all_ids(client_for(url), "charges")


@pytest.mark.parametrize("key", ["", "   ", "\t\n"])
def test_an_empty_or_blank_key_is_refused_before_any_request_with_guidance(sandbox_factory, key):
    server = sandbox_factory()
    with pytest.raises(StripeConfigError) as info:
        all_ids(client_for(server.url, key=key), "charges")
    assert str(info.value) == (
        "STRIPE_API_KEY is empty. Set it to a secret key (sk_test_... or sk_live_...) or a "
        "restricted key (rk_...) from https://dashboard.stripe.com/apikeys, or unset "
        "STRIPE_API_BASE and run `stripe-assets load` with no key to use the local sandbox."
    )
    assert server.stats["requests"] == 0


# ---- secrets ------------------------------------------------------------------------------


def test_no_log_line_or_error_contains_the_key(sandbox_factory, caplog):
    server = sandbox_factory(revoked_keys={KEY + "revoked"})
    caplog.set_level(logging.DEBUG)
    good = client_for(server.url)
    server.inject("429", count=1, path_prefix="/v1/customers")
    all_ids(good, "customers")
    errors = []
    for client, name in [(client_for(server.url, key=KEY + "revoked"), "charges"),
                         (client_for(server.url, key="pk_test_" + KEY[8:]), "charges"),
                         (client_for(server.url), "pm_doesnotexist")]:
        try:
            if name.startswith("pm_"):
                client.retrieve("payment_methods", name)
            else:
                all_ids(client, name)
        except Exception as exc:
            errors.append(str(exc) + repr(exc))
    assert len(errors) == 3
    assert caplog.records, "the client logs its requests at debug level"
    text = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(errors)
    assert "Request-Id" in text
    assert KEY not in text
    assert KEY[8:] not in text


def test_a_lock_timeout_429_is_retried_without_slowing_the_accounts_pace(sandbox_factory):
    # Stripe answers a request for an object another request holds with 429 lock_timeout:
    # that object is busy, the account's rate is not the matter. A rate-limit 429 slows it.
    server = sandbox_factory()
    locked = client_for(server.url)
    server.inject("lock_timeout", count=3, path_prefix="/v1/payouts")
    reference = sorted(o["id"] for o in expected(server, "payouts"))
    assert sorted(all_ids(locked, "payouts")) == reference
    assert locked.stats.snapshot()["rate_limited"] == 3
    assert locked.rate_limiter().rate == locked.rate_limiter().max_rate

    limited = client_for(server.url)
    server.inject("429", count=1, path_prefix="/v1/payouts")
    all_ids(limited, "payouts")
    assert limited.rate_limiter().rate < limited.rate_limiter().max_rate


def test_an_api_version_stripe_does_not_know_fails_the_check_naming_stripe_version(sandbox):
    client = client_for(sandbox.url, stripe_version="2024-06-20-preview")
    with pytest.raises(StripeInvalidRequestError) as refused:
        client.check_access("charges")
    assert refused.value.status == 400
    assert "Stripe does not know the API version 2024-06-20-preview (STRIPE_VERSION):" \
        " Invalid Stripe API version: 2024-06-20-preview" in str(refused.value)
    assert "Set STRIPE_VERSION to a version listed at https://docs.stripe.com/upgrades" \
        in str(refused.value)
    client_for(sandbox.url, stripe_version="2025-03-31.basil").check_access("charges")  # named
