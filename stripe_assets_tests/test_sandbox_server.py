"""The HTTP server itself: loopback only, Stripe's headers, keep-alive, CLI, helpers, speed."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from stripe_assets.sandbox import (
    SandboxConfig,
    SandboxServer,
    running_sandbox,
    start_in_background,
)
from stripe_assets.sandbox.cli import main

AUTH = ("sk_test_server", "")
SMALL = SandboxConfig(customers=10, charges=40, end=SandboxConfig().end_date())
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_refuses_to_listen_anywhere_but_loopback(host: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1 only"):
        SandboxServer(SMALL, host=host)


def test_listens_on_127_0_0_1_and_nowhere_else(sandbox: SandboxServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
    assert requests.get(f"{sandbox.url}/v1/charges", auth=AUTH).ok
    # 127.0.0.2 is loopback too, but not the address the server is bound to.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", sandbox.port), 1):
        pass


@pytest.mark.parametrize(
    ("path", "auth", "status"),
    [
        ("/v1/charges", AUTH, 200),
        ("/v1/charges?limit=0", AUTH, 400),
        ("/v1/charges", None, 401),
        ("/v1/charges/ch_none", AUTH, 404),
        ("/v1/nothing", AUTH, 404),
    ],
)
def test_every_response_carries_request_id_json_and_stripe_version(
    sandbox: SandboxServer, path: str, auth: tuple[str, str] | None, status: int
) -> None:
    response = requests.get(f"{sandbox.url}{path}", auth=auth)
    assert response.status_code == status
    assert re.fullmatch(r"req_[A-Za-z0-9]{14}", response.headers["Request-Id"])
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Stripe-Version"] == "2024-06-20"  # the account's default
    assert int(response.headers["Content-Length"]) == len(response.content)
    response.json()


def test_stripe_version_header_is_echoed(sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{sandbox.url}/v1/payouts", auth=AUTH, headers={"Stripe-Version": "2023-10-16"}
    )
    assert response.headers["Stripe-Version"] == "2023-10-16"


def test_error_bodies_have_stripes_shape(sandbox: SandboxServer) -> None:
    error = requests.get(f"{sandbox.url}/v1/charges?limit=abc", auth=AUTH).json()["error"]
    assert set(error) == {"code", "doc_url", "message", "param", "request_log_url", "type"}
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/parameter-invalid-integer"
    assert error["request_log_url"].startswith("https://dashboard.stripe.com/test/logs/req_")


def test_one_connection_serves_many_requests(sandbox: SandboxServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    headers = {"Authorization": "Bearer sk_test_keepalive"}
    try:
        for path in ("/v1/customers", "/v1/charges?limit=100", "/v1/nothing", "/v1/payouts"):
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.getheader("Connection") == "keep-alive"
        sock = connection.sock
        connection.request("GET", "/v1/events", headers=headers)
        connection.getresponse().read()
        assert connection.sock is sock  # never reconnected
    finally:
        connection.close()


def test_admin_health_needs_no_key(sandbox: SandboxServer) -> None:
    health = requests.get(f"{sandbox.url}/_sandbox/health").json()
    assert health["ok"] is True and health["counts"]["charges"] == 800


def test_background_helpers_start_and_stop_a_server() -> None:
    server = start_in_background(SMALL, latency=0.0)
    try:
        assert requests.get(f"{server.url}/v1/charges", auth=AUTH).ok
    finally:
        server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/v1/charges", auth=AUTH, timeout=2)
    with running_sandbox(SMALL) as other:
        assert requests.get(f"{other.url}/v1/customers", auth=AUTH).json()["data"]


def test_stop_is_prompt_with_idle_keep_alive_connections_open() -> None:
    server = start_in_background(SMALL)
    session = requests.Session()
    session.get(f"{server.url}/v1/charges", auth=AUTH)
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 2
    session.close()


def test_keep_alive_client_reads_full_pages_at_every_depth_of_the_list(
    sandbox: SandboxServer,
) -> None:
    # Throughput is measured by benchmarks/, not asserted: timings on a shared machine are noise.
    ids = sandbox.account.ids("charges")
    cursors = [None, *ids[99:-1:100]]
    with requests.Session() as session:
        session.auth = AUTH
        for cursor in cursors:
            params: dict[str, str | int] = {"limit": 100}
            if cursor:
                params["starting_after"] = cursor
            body = session.get(f"{sandbox.url}/v1/charges", params=params).content
            assert body.count(b'"object":"charge"') == 100


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_the_bound_port_first_and_stops_on_a_signal(stop_signal: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_assets.sandbox", "--port", "0", "--customers", "10",
         "--charges", "50", "--end", "2025-06-30", "--latency-ms", "0",
         "--restricted-key", "rk_test_cli=charges", "--revoked-key", "sk_test_old"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline().rstrip("\n")
        match = re.fullmatch(r"Sandbox Stripe API listening on (http://127\.0\.0\.1:(\d+))", first)
        assert match, first
        url, port = match.group(1), int(match.group(2))
        assert port != 0
        second = process.stdout.readline()
        assert f"STRIPE_API_BASE={url} STRIPE_API_KEY=sk_test_" in second
        charges = requests.get(f"{url}/v1/charges", auth=AUTH, params={"limit": 100}).json()
        assert len(charges["data"]) == 50
        assert requests.get(f"{url}/v1/charges", auth=("rk_test_cli", "")).status_code == 200
        assert requests.get(f"{url}/v1/payouts", auth=("rk_test_cli", "")).status_code == 403
        assert requests.get(f"{url}/v1/payouts", auth=("sk_test_old", "")).status_code == 401
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_cli_main_refuses_a_public_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0", "--charges", "10", "--customers", "5"]) == 2
    assert "127.0.0.1 only" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--fault-kinds", "500,teapot"],
         "argument --fault-kinds: unknown fault kinds ['teapot']; choose among ['429', '500',"),
        (["--restricted-key", "rk_test_x=charges,teapots"],
         "argument --restricted-key: use rk_test_...=list,list with lists among customers,"),
        (["--restricted-key", "sk_test_x=charges"],
         "argument --restricted-key: use rk_test_...=list,list"),
    ],
)
def test_cli_rejects_bad_flags_naming_the_flag_and_what_it_takes(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2  # argparse's usage error, before any server starts
    assert says in capsys.readouterr().err


def test_a_malformed_request_gets_a_json_400_and_the_connection_closes(
    sandbox: SandboxServer,
) -> None:
    with socket.create_connection(("127.0.0.1", sandbox.port), 5) as sock:
        sock.sendall(
            b"GET /v1/charges HTTP/1.1\r\nHost: sandbox\r\nContent-Length: lots\r\n"
            b"Authorization: Bearer sk_test_raw\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in head
    assert b'"invalid_request_error"' in body


@pytest.mark.parametrize(
    "options",
    [{"fault_rate": 1.5}, {"fault_kinds": ["teapot"]}, {"rate_limit": -1}, {"latency": -0.1}],
)
def test_bad_options_fail_before_the_account_is_generated(options: dict[str, object]) -> None:
    began = time.monotonic()
    with pytest.raises(ValueError):
        SandboxServer(SandboxConfig(charges=200_000), **options)  # type: ignore[arg-type]
    assert time.monotonic() - began < 1  # generating 200k charges would take seconds


def test_admin_settings_change_latency_and_rate_limit(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory(SMALL)
    settings = f"{server.url}/_sandbox/settings"
    assert requests.post(settings, json={"rate_limit": 1, "latency": 0.05}).json() == {
        "latency": 0.05,
        "rate_limit": 1,
        "endpoint_rate_limit": None,
    }
    statuses = [requests.get(f"{server.url}/v1/charges", auth=AUTH).status_code for _ in range(3)]
    assert statuses == [200, 429, 429]
    assert requests.post(settings, json={"rate_limit": -5}).status_code == 400
    requests.post(settings, json={"rate_limit": None, "latency": 0})
    assert requests.get(f"{server.url}/v1/charges", auth=AUTH).status_code == 200
