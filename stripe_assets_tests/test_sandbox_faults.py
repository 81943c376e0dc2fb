"""Faults, rate limits, latency and the stats that prove what a client did."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
import requests

from stripe_assets.sandbox import SandboxServer

AUTH = ("sk_test_faults", "")
Factory = Callable[..., SandboxServer]


@pytest.fixture
def server(sandbox_factory: Factory) -> SandboxServer:
    return sandbox_factory()


def call(server: SandboxServer, path: str = "/v1/customers", **kwargs: object) -> requests.Response:
    return requests.get(f"{server.url}{path}", auth=AUTH, **kwargs)  # type: ignore[arg-type]


def stripe_error(response: requests.Response) -> dict[str, str]:
    assert response.headers["Content-Type"] == "application/json"
    error: dict[str, str] = response.json()["error"]
    return error


def test_injected_500_is_a_stripe_api_error_for_the_next_request_only(
    server: SandboxServer,
) -> None:
    server.inject("500")
    failed = call(server)
    assert failed.status_code == 500
    assert stripe_error(failed)["type"] == "api_error"
    assert failed.headers["Request-Id"].startswith("req_")
    assert call(server).status_code == 200
    assert server.stats.faults_injected == {"500": 1}


def test_injected_faults_hit_only_their_path_and_count(server: SandboxServer) -> None:
    server.inject("500", count=2, path_prefix="/v1/charges")
    assert call(server, "/v1/customers").status_code == 200
    assert [call(server, "/v1/charges").status_code for _ in range(3)] == [500, 500, 200]


def test_faults_are_used_in_the_order_they_were_injected(server: SandboxServer) -> None:
    server.inject("409")
    server.inject("502")
    assert [call(server).status_code for _ in range(3)] == [409, 502, 200]


@pytest.mark.parametrize("kind", ["503_html", "502"])
def test_gateway_faults_answer_an_html_page(server: SandboxServer, kind: str) -> None:
    server.inject(kind)
    response = call(server)
    assert response.status_code == int(kind[:3])
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<html>")


def test_injected_429_is_a_rate_limit_error_without_retry_after(server: SandboxServer) -> None:
    server.inject("429")
    response = call(server)
    assert response.status_code == 429
    assert stripe_error(response)["type"] == "rate_limit_error"
    assert "Retry-After" not in response.headers
    assert server.stats.rate_limited == 1


def test_429_retry_after_sends_the_header(server: SandboxServer) -> None:
    server.inject("429_retry_after", seconds=3)
    response = call(server)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_a_lock_timeout_is_a_429_without_a_rate_limit_reason_as_on_stripe(
    server: SandboxServer,
) -> None:
    server.inject("lock_timeout")
    response = call(server)
    assert response.status_code == 429
    assert stripe_error(response)["code"] == "lock_timeout"
    assert "Stripe-Rate-Limited-Reason" not in response.headers


def test_409_is_a_conflict_stripe_says_to_retry(server: SandboxServer) -> None:
    server.inject("409")
    response = call(server)
    assert response.status_code == 409
    assert response.headers["Stripe-Should-Retry"] == "true"


@pytest.mark.parametrize(
    ("kind", "status", "should_retry"),
    [("500_should_not_retry", 500, "false"), ("400_should_retry", 400, "true")],
)
def test_stripe_should_retry_header_overrides_the_status(
    server: SandboxServer, kind: str, status: int, should_retry: str
) -> None:
    server.inject(kind)
    response = call(server)
    assert response.status_code == status
    assert response.headers["Stripe-Should-Retry"] == should_retry
    assert stripe_error(response)["message"]


def test_reset_drops_the_connection_without_an_answer(server: SandboxServer) -> None:
    server.inject("reset")
    with pytest.raises(requests.ConnectionError):
        call(server)
    assert call(server).status_code == 200
    assert server.stats.faults_injected == {"reset": 1}


def test_truncated_body_is_half_of_the_real_json(server: SandboxServer) -> None:
    whole = call(server, "/v1/charges", params={"limit": 5}).content
    server.inject("truncated")
    response = call(server, "/v1/charges", params={"limit": 5})
    assert response.status_code == 200
    assert whole.startswith(response.content) and 0 < len(response.content) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_truncated_with_full_length_declared_breaks_the_http_read(server: SandboxServer) -> None:
    server.inject("truncated", declared_full=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        call(server, "/v1/charges")
    assert call(server, "/v1/charges").status_code == 200


def test_invalid_json_is_a_200_html_page(server: SandboxServer) -> None:
    server.inject("invalid_json")
    response = call(server)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_slow_answers_late_enough_to_trip_a_client_timeout(server: SandboxServer) -> None:
    server.inject("slow", seconds=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        call(server, timeout=0.2)
    server.inject("slow", seconds=0.3)
    began = time.monotonic()
    assert call(server).status_code == 200
    assert time.monotonic() - began >= 0.3


def test_unknown_fault_kinds_are_refused(server: SandboxServer) -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        server.inject("418")


def test_random_faults_follow_the_rate_and_the_seed(sandbox_factory: Factory) -> None:
    def statuses(server: SandboxServer) -> list[int]:
        return [call(server, "/v1/payouts", params={"limit": 1}).status_code for _ in range(120)]

    first = statuses(sandbox_factory(fault_rate=0.25, fault_kinds=["500", "429"], fault_seed=3))
    again = statuses(sandbox_factory(fault_rate=0.25, fault_kinds=["500", "429"], fault_seed=3))
    other = statuses(sandbox_factory(fault_rate=0.25, fault_kinds=["500", "429"], fault_seed=4))
    assert first == again
    assert other != first  # the seed, not a fixed sequence, decides which requests fail
    failed = sum(s != 200 for s in first)
    assert 15 <= failed <= 50 and {500, 429} <= set(first)


def test_admin_endpoint_injects_faults_for_out_of_process_servers(server: SandboxServer) -> None:
    admin = f"{server.url}/_sandbox/faults"
    body: dict[str, str | int] = {"kind": "500", "count": 2, "path_prefix": "/v1/charges"}
    assert requests.post(admin, json=body).status_code == 200  # no Stripe key needed
    state = requests.get(admin).json()
    assert state["pending"] == [
        {"kind": "500", "remaining": 2, "path_prefix": "/v1/charges", "params": {}}
    ]
    assert [call(server, "/v1/charges").status_code for _ in range(3)] == [500, 500, 200]
    requests.post(admin, json={"kind": "429_retry_after", "params": {"seconds": 2}})
    assert call(server).headers["Retry-After"] == "2"
    requests.post(admin, json={"fault_rate": 1.0, "fault_kinds": ["503_html"]})
    assert call(server).status_code == 503
    requests.post(admin, json={"fault_rate": 0})
    assert call(server).status_code == 200
    bad = requests.post(admin, json={"kind": "teapot"})
    assert bad.status_code == 400 and "unknown fault kinds" in bad.json()["error"]["message"]


def test_rate_limit_answers_429_beyond_the_budget(sandbox_factory: Factory) -> None:
    server = sandbox_factory(rate_limit=10)
    with requests.Session() as session:
        session.auth = AUTH
        statuses = [session.get(f"{server.url}/v1/payouts").status_code for _ in range(25)]
    assert statuses.count(200) == 10  # 25 requests well inside one second
    limited = statuses.count(429)
    assert limited == 15
    stats = server.stats
    assert stats.rate_limited == limited and stats["responses_by_status"]["429"] == limited
    assert stats.max_requests_in_1s == 25  # every request counts, answered or not


def test_rate_limit_429_has_stripes_body(sandbox_factory: Factory) -> None:
    server = sandbox_factory(rate_limit=1)
    call(server)
    response = call(server)
    assert response.status_code == 429
    error = stripe_error(response)
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit"
    assert "Retry-After" not in response.headers


def test_a_paced_client_stays_under_the_limit_and_the_stat_shows_it(
    sandbox_factory: Factory,
) -> None:
    server = sandbox_factory(rate_limit=8)
    with requests.Session() as session:
        session.auth = AUTH
        for _ in range(12):
            began = time.monotonic()
            assert session.get(f"{server.url}/v1/payouts", params={"limit": 1}).ok
            time.sleep(max(0.0, 0.15 - (time.monotonic() - began)))
    assert server.stats.max_requests_in_1s <= 8
    assert server.stats.rate_limited == 0


def test_latency_delays_each_request_and_concurrent_requests_overlap(
    sandbox_factory: Factory,
) -> None:
    server = sandbox_factory(latency=0.25)
    began = time.monotonic()
    assert call(server).status_code == 200
    assert time.monotonic() - began >= 0.25

    def one() -> None:
        call(server, "/v1/payouts", params={"limit": 1}).raise_for_status()

    threads = [threading.Thread(target=one) for _ in range(8)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - began < 8 * 0.25 / 2  # overlapped, not one after another
    assert server.stats.max_in_flight >= 4


def test_stats_count_requests_by_path_and_status_and_reset(server: SandboxServer) -> None:
    charge_id = server.account.ids("charges")[0]
    call(server, "/v1/charges")
    call(server, f"/v1/charges/{charge_id}")
    call(server, "/v1/charges/ch_missing000000000000")
    requests.get(f"{server.url}/v1/charges")  # no key: 401
    stats = server.stats
    assert stats.total_requests == stats["requests"] == 4
    assert stats.requests_by_path == {"/v1/charges": 2, "/v1/charges/{id}": 2}
    assert stats.responses_by_status == {200: 2, 404: 1, 401: 1}
    remote = requests.get(f"{server.url}/_sandbox/stats").json()
    assert remote["total_requests"] == 4 and remote["responses_by_status"]["404"] == 1
    server.reset_stats()
    assert server.stats.total_requests == 0 and server.stats.max_requests_in_1s == 0
    requests.post(f"{server.url}/_sandbox/stats/reset")
    assert requests.get(f"{server.url}/_sandbox/stats").json()["total_requests"] == 0
