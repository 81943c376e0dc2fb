"""API keys as Stripe checks them: missing, publishable, revoked, invalid, restricted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from stripe_assets.sandbox import SandboxServer

REVOKED = "sk_test_revoked0000000000000000wxyz"
READER = "rk_test_charges_reader_0000000000abcd"


@pytest.fixture
def guarded(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    return sandbox_factory(
        restricted_keys={READER: {"charges", "events"}},
        revoked_keys={REVOKED},
    )


def error_of(response: requests.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["Request-Id"].startswith("req_")
    error: dict[str, str] = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error


def test_missing_key_is_a_401(sandbox: SandboxServer) -> None:
    error = error_of(requests.get(f"{sandbox.url}/v1/charges"), 401)
    assert error["message"].startswith("You did not provide an API key.")


@pytest.mark.parametrize("header", ["Bearer", "Bearer   ", "Token sk_test_x", "Basic !!!"])
def test_malformed_authorization_counts_as_no_key(sandbox: SandboxServer, header: str) -> None:
    response = requests.get(f"{sandbox.url}/v1/charges", headers={"Authorization": header})
    error_of(response, 401)


def test_secret_test_key_works_as_bearer_and_as_basic_user(sandbox: SandboxServer) -> None:
    bearer = requests.get(
        f"{sandbox.url}/v1/charges", headers={"Authorization": "Bearer sk_test_anything"}
    )
    basic = requests.get(f"{sandbox.url}/v1/charges", auth=("sk_test_anything", ""))
    assert bearer.status_code == basic.status_code == 200
    assert bearer.json()["data"] == basic.json()["data"]


def test_publishable_key_is_refused_with_secret_key_required(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.url}/v1/charges", auth=("pk_test_123456789", ""))
    error = error_of(response, 401)
    assert error["code"] == "secret_key_required"


def test_revoked_key_is_expired_and_masked(guarded: SandboxServer) -> None:
    response = requests.get(f"{guarded.url}/v1/charges", auth=(REVOKED, ""))
    error = error_of(response, 401)
    assert error["code"] == "api_key_expired"
    assert REVOKED not in response.text and "wxyz" in error["message"]


@pytest.mark.parametrize(
    "key", ["sk_live_0123456789abcdef6789", "totally-not-a-key-6789", "rk_live_00000000006789"]
)
def test_other_keys_are_invalid_and_only_their_last_4_chars_are_shown(
    sandbox: SandboxServer, key: str
) -> None:
    response = requests.get(f"{sandbox.url}/v1/customers", auth=(key, ""))
    error = error_of(response, 401)
    assert error["message"].startswith("Invalid API Key provided: ")
    assert key not in response.text
    masked = error["message"].removeprefix("Invalid API Key provided: ")
    assert masked.endswith("6789") and masked.count("*") >= len(key) - 12
    assert key[-8:-4] not in masked


def test_restricted_key_reads_what_it_may(guarded: SandboxServer) -> None:
    response = requests.get(f"{guarded.url}/v1/charges", auth=(READER, ""))
    assert response.status_code == 200
    charge_id = response.json()["data"][0]["id"]
    assert requests.get(f"{guarded.url}/v1/charges/{charge_id}", auth=(READER, "")).ok


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        ("/v1/customers", "rak_customer_read"),
        ("/v1/payouts", "rak_payout_read"),
        ("/v1/payment_methods", "rak_payment_method_read"),
        ("/v1/refunds", "rak_refund_read"),
    ],
)
def test_restricted_key_gets_403_naming_the_missing_permission(
    guarded: SandboxServer, path: str, permission: str
) -> None:
    response = requests.get(f"{guarded.url}{path}", auth=(READER, ""))
    error = error_of(response, 403)
    assert f"Having the '{permission}' permission would allow this request" in error["message"]
    assert READER not in response.text


def test_restricted_key_cannot_write_without_write_permission(guarded: SandboxServer) -> None:
    charge = guarded.account.objects("charges")[0]
    response = requests.post(
        f"{guarded.url}/v1/refunds", data={"charge": charge["id"]}, auth=(READER, "")
    )
    error = error_of(response, 403)
    assert "'rak_refund_write'" in error["message"]
    assert guarded.account.get_object(charge["id"]) == charge


def test_restricted_key_not_configured_reads_everything(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.url}/v1/payouts", auth=("rk_test_unlisted", ""))
    assert response.status_code == 200
