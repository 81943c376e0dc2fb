"""The sandbox's rate limits as Stripe's: the account's, each endpoint's, and a 429 that says
which one it hit (`Stripe-Rate-Limited-Reason`)."""

from collections.abc import Callable

import requests

from stripe_assets.sandbox import SandboxServer
from stripe_assets.sandbox.limits import ENDPOINT_RATE, GLOBAL_RATE, RateLimits

Factory = Callable[..., SandboxServer]


def test_the_sandbox_counts_each_endpoint_apart_and_every_request_against_the_account():
    limits = RateLimits(account=5, endpoint=2)
    at = 100.0
    assert limits.check("GET", "/v1/payment_intents/pi_1", at) is None
    assert limits.check("GET", "/v1/payment_intents/pi_2", at) is None
    assert limits.check("GET", "/v1/payment_intents/pi_3", at) == ENDPOINT_RATE
    assert [limits.check("GET", "/v1/charges", at) for _ in range(3)] == [
        None, None, ENDPOINT_RATE]
    assert limits.check("GET", "/v1/refunds", at) is None  # the account's fifth
    assert limits.check("GET", "/v1/payouts", at) == GLOBAL_RATE
    assert limits.check("GET", "/v1/payouts", at + 1.0) is None  # a second later


def test_a_429_says_which_limit_it_hit(sandbox_factory: Factory):
    server = sandbox_factory(rate_limit=3, endpoint_rate_limit=2)
    auth = ("sk_test_sandbox", "")
    answers = [requests.get(f"{server.url}/v1/charges", auth=auth) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Stripe-Rate-Limited-Reason"] == ENDPOINT_RATE
    assert answers[2].json()["error"]["type"] == "rate_limit_error"
    assert requests.get(f"{server.url}/v1/customers", auth=auth).status_code == 200
    other = requests.get(f"{server.url}/v1/refunds", auth=auth)
    assert other.status_code == 429
    assert other.headers["Stripe-Rate-Limited-Reason"] == GLOBAL_RATE


def test_the_endpoint_limit_is_a_sandbox_setting(sandbox_factory: Factory):
    server = sandbox_factory()
    auth = ("sk_test_sandbox", "")
    settings = f"{server.url}/_sandbox/settings"

    def charges() -> requests.Response:
        return requests.get(f"{server.url}/v1/charges", auth=auth)

    assert charges().status_code == 200  # an endpoint already counted, with no limit yet
    answer = requests.post(settings, json={"endpoint_rate_limit": 2}).json()
    assert answer["endpoint_rate_limit"] == 2 and server.endpoint_rate_limit == 2
    # Enforced from then on, on that endpoint too (benchmarks set it on a running sandbox).
    answers = [charges() for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Stripe-Rate-Limited-Reason"] == ENDPOINT_RATE
    assert requests.get(f"{server.url}/v1/customers", auth=auth).status_code == 200
    # 0 lifts it again, within the same second.
    assert requests.post(settings, json={"endpoint_rate_limit": 0}).json()[
        "endpoint_rate_limit"] is None
    assert charges().status_code == 200
    assert requests.post(settings, json={"endpoint_rate_limit": -1}).status_code == 400
