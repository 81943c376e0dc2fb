"""STRIPE_ACCOUNT (the `Stripe-Account` header): a platform's key reading a connected account.

Stripe answers every request naming an account the key's platform is not connected to with 403
`account_invalid`: that is a wrong setting, not a restricted key's missing permission, so the
load stops before it starts, saying which setting to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from stripe_assets.sandbox import SandboxServer
from stripe_assets.sandbox.shapes import ACCOUNT_ID
from stripe_assets.stripe_client import StripeAccountAccessError, StripeClient
from stripe_assets_tests.test_cli import run_cli

KEY = "sk_test_51ConnectKey00000000000000wxyz"
CONNECTED = "acct_1ConnectedAccount"
STRANGER = "acct_1NotConnectedToUs"


@pytest.fixture
def platform(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    return sandbox_factory(connected_accounts={CONNECTED})


def client(server: SandboxServer, account: str | None) -> StripeClient:
    return StripeClient(api_key=KEY, api_base=server.url, stripe_account=account,
                        max_attempts=2, requests_per_second=500)


def test_the_sandbox_refuses_an_account_its_platform_is_not_connected_to_as_stripe_does(
    platform: SandboxServer,
):
    def charges(account: str | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {KEY}"}
        if account:
            headers["Stripe-Account"] = account
        return requests.get(f"{platform.url}/v1/charges?limit=1", headers=headers, timeout=10)

    assert [charges(a).status_code for a in (None, CONNECTED, ACCOUNT_ID)] == [200, 200, 200]
    refused = charges(STRANGER)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "account_invalid"
    assert f"does not have access to account '{STRANGER}'" in error["message"]
    assert KEY not in refused.text


def test_a_connected_account_loads_and_another_fails_the_check_naming_stripe_account(
    platform: SandboxServer,
):
    pages = list(client(platform, CONNECTED).list_pages("charges"))
    assert sum(page.count for page in pages) == len(platform.account.objects("charges"))

    with pytest.raises(StripeAccountAccessError) as refused:
        client(platform, STRANGER).check_access("charges")  # a 403 of a permission would pass
    message = str(refused.value)
    assert f"Connect account {STRANGER} (STRIPE_ACCOUNT)" in message
    assert "Set STRIPE_ACCOUNT to an account connected to this key's platform" in message
    assert "permission" not in message.lower()  # not a restricted key's missing permission
    assert KEY not in message and KEY[-4:] in message  # masked


def test_a_load_with_a_wrong_stripe_account_stops_before_any_run(
    platform: SandboxServer, tmp_path: Path,
):
    db = tmp_path / "stripe.duckdb"
    env = {"STRIPE_API_KEY": KEY, "STRIPE_API_BASE": platform.url, "STRIPE_ASSETS_DB": str(db),
           "STRIPE_ACCOUNT": STRANGER, "STRIPE_REQUESTS_PER_SECOND": "500"}
    result = run_cli(["load", "--select", "customers"], env, tmp_path)
    assert result.returncode == 2
    assert f"Stripe refused to act on the Connect account {STRANGER} (STRIPE_ACCOUNT)" \
        in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert KEY not in result.stdout + result.stderr
    assert "ok " not in result.stdout  # no asset ran
