"""--live-key: the sandbox accepts the live keys it is given (for benchmarks), and no others."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from stripe_assets.sandbox import SandboxServer
from stripe_assets.sandbox.cli import build_parser

LIVE = "sk_live_benchmark000000000000abcd"


def test_a_configured_live_key_reads_the_account(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory(live_keys={LIVE})
    live = requests.get(f"{server.url}/v1/charges", auth=(LIVE, ""))
    test = requests.get(f"{server.url}/v1/charges", auth=("sk_test_x", ""))
    assert live.status_code == test.status_code == 200
    assert live.json()["data"] == test.json()["data"]


def test_other_live_keys_stay_invalid(sandbox_factory: Callable[..., SandboxServer]) -> None:
    server = sandbox_factory(live_keys={LIVE})
    response = requests.get(f"{server.url}/v1/charges", auth=("sk_live_other0000000000abcd", ""))
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Invalid API Key provided: ")


def test_cli_takes_repeatable_live_keys_and_refuses_other_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    args = parser.parse_args(["--live-key", LIVE, "--live-key", "rk_live_x"])
    assert args.live_key == [LIVE, "rk_live_x"]
    assert parser.parse_args([]).live_key == []
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["--live-key", "sk_test_x"])
    assert stopped.value.code == 2
    assert "argument --live-key: a live key starts with sk_live_ or rk_live_" in \
        capsys.readouterr().err
