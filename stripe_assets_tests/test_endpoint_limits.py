"""Stripe's per-endpoint limits (25/s unless documented otherwise, under a live key's 100/s):
the sandbox enforces them and says so, and the client slows the endpoint, not the account."""

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from itertools import pairwise

import pytest

from stripe_assets.endpoints import ENDPOINTS
from stripe_assets.sandbox import SandboxConfig, SandboxServer
from stripe_assets.sandbox.limits import operation as sandbox_operation
from stripe_assets.sandbox.stats import RateLimiter as SandboxLimit
from stripe_assets.stripe_client import StripeClient
from stripe_assets.stripe_client.endpoint_paces import (
    DOCUMENTED_ENDPOINT_LIMIT,
    EndpointPaces,
    is_endpoint_limit,
    operation,
)
from stripe_assets.stripe_client.parallel import fetch_created_range
from stripe_assets.stripe_client.rate_limiter import HEADROOM

from .test_rate_limiter import FakeTime, worst_second

LIVE = "sk_live_endpointlimits000000000abcd"
# 3,000 charges: 30 full pages and then some, a few seconds at 25/s.
ACCOUNT = SandboxConfig(seed=7, customers=60, charges=3_000, end=date(2025, 6, 30))
Factory = Callable[..., SandboxServer]


def live_client(server: SandboxServer, **overrides: object) -> StripeClient:
    return StripeClient(api_key=LIVE, api_base=server.url, share_rate_limit=False,
                        retry_base_delay_seconds=0.05, **overrides)  # type: ignore[arg-type]


def load_charges(client: StripeClient) -> list[str]:
    ids: list[str] = []
    fetch_created_range(client, ENDPOINTS["charges"], 0, 2**31,
                        lambda page: ids.extend(o["id"] for o in page.objects))
    return ids


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/charges", "GET /v1/charges"),
        ("/v1/payment_intents/pi_3Abc", "GET /v1/payment_intents/{id}"),
        ("/v1/customers/cus_1/payment_methods", "GET /v1/customers/{id}/payment_methods"),
    ],
)
def test_requests_to_different_objects_count_against_one_endpoint(path, expected):
    assert operation(path) == expected
    assert sandbox_operation("get", path) == expected


@pytest.mark.parametrize(
    ("reason", "endpoint"),
    [("endpoint-rate", True), ("endpoint-concurrency", True), ("resource-specific", True),
     ("global-rate", False), ("global-concurrency", False), (None, False), ("", False)],
)
def test_only_endpoint_reasons_are_taken_as_the_endpoints_limit(reason, endpoint):
    assert is_endpoint_limit(reason) is endpoint


def test_an_endpoint_429_slows_that_endpoint_and_leaves_the_account_its_pace(
    sandbox_factory: Factory,
):
    # A live key (100/s) reading one endpoint that allows 25/s, as Stripe does by default.
    server = sandbox_factory(ACCOUNT, live_keys={LIVE}, latency=0.05, rate_limit=100,
                             endpoint_rate_limit=25)
    client = live_client(server)
    ids = load_charges(client)
    assert sorted(ids) == sorted(item.id for item in server.account.collections["charges"].items)
    assert client.rate_limiter().rate == client.rate_limiter().max_rate  # untouched
    assert client.endpoint_paces().rate("/v1/charges") == 25 * HEADROOM
    # Only requests already on their way when the first 429 came back are refused (95/s x
    # 50 ms: about 5): the endpoint's pace starts a second later, once the server's full
    # second has passed (1-6 429s in 5 runs; 8-22 when it started at once).
    assert client.stats.rate_limited <= 12
    # Another endpoint has no pace of its own: the account's whole budget is there for it.
    assert client.endpoint_paces().rate("/v1/customers") is None


def test_a_configured_endpoint_limit_is_kept_from_the_first_request(sandbox_factory: Factory):
    server = sandbox_factory(ACCOUNT, live_keys={LIVE}, latency=0.05, rate_limit=100,
                             endpoint_rate_limit=25)
    client = live_client(server, endpoint_requests_per_second=25)
    assert len(load_charges(client)) == len(server.account.collections["charges"])
    assert client.stats.rate_limited == 0


def send_against(server: SandboxLimit, paces: EndpointPaces, t: FakeTime,
                 until: float) -> list[float]:
    """Requests to one endpoint paced by `paces` until `until`, answered at once; the sent
    times (the 429s among them call slow_down)."""
    sent = []
    while t.now < until:
        paces.acquire("/v1/files")
        sent.append(t.now)
        if not server.admit(t.now):
            paces.slow_down("/v1/files")
    return sent


def test_an_endpoint_below_the_documented_default_is_learned_and_kept():
    # Files allows 20/s: the documented 25/s is still too fast; a second of 429s later the
    # pace goes to what was let through, and stays there (no probing back up).
    t = FakeTime()
    paces = EndpointPaces(None, account_limit=100, clock=t.clock, sleep=t.sleep)
    files = SandboxLimit(20)
    send_against(files, paces, t, until=0.3)  # at the account's pace until the first 429
    assert paces.rate("/v1/files") == DOCUMENTED_ENDPOINT_LIMIT * HEADROOM
    send_against(files, paces, t, until=4.0)
    assert (paces.rate("/v1/files") or 100) <= 20
    before = t.now
    steady = send_against(files, paces, t, until=before + 30.0)
    assert (paces.rate("/v1/files") or 100) <= 20  # 30 s on: no recovery above what it learned
    assert worst_second(steady) <= 20
    assert len(steady) >= 30 * 20 * HEADROOM * 0.9


def test_requests_waiting_for_the_account_when_the_first_429_comes_wait_for_the_endpoint_too(
    sandbox_factory: Factory,
):
    # 16 threads reading one endpoint, all queued on the account's pace (30/s here), when the
    # endpoint's first 429 comes back: each is let go by the account but must then wait for
    # the endpoint's new pace too, or each of them is one more 429.
    server = sandbox_factory(replace(ACCOUNT, charges=6_000), live_keys={LIVE},
                             endpoint_rate_limit=25)
    client = live_client(server, requests_per_second=30)
    charges = server.account.collections["charges"].items
    bodies = [i.body if isinstance(i.body, bytes) else b"".join(i.body) for i in charges]
    created = sorted(json.loads(body)["created"] for body in bodies)
    bounds = [created[len(created) * i // 16] for i in range(16)] + [created[-1] + 1]

    def read(window: tuple[int, int]) -> int:
        pages = client.list_pages("charges", created_gte=window[0], created_lt=window[1])
        return sum(page.count for page in pages)

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(read, pairwise(bounds))) == len(charges)
    # The first 429 alone (1 in 3 runs; 4 in 3 runs when they went on unpaced).
    assert client.stats.rate_limited <= 2
