"""Writes change lists and retrieves and emit Stripe's events, dated by the server's clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from stripe_assets.sandbox import SandboxServer
from stripe_assets_tests.conftest import SANDBOX_CONFIG

Factory = Callable[..., SandboxServer]
AUTH = ("sk_test_writer", "")
_, END = SANDBOX_CONFIG.span()
NOW = END + 3600  # an hour after the generated history


@pytest.fixture
def server(sandbox_factory: Factory) -> SandboxServer:
    return sandbox_factory(clock=lambda: NOW)


def get(server: SandboxServer, path: str, **params: Any) -> Any:
    response = requests.get(f"{server.url}{path}", params=params, auth=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def post(
    server: SandboxServer, path: str, data: dict[str, Any], **headers: str
) -> requests.Response:
    return requests.post(f"{server.url}{path}", data=data, auth=AUTH, headers=headers)


def newest_events(server: SandboxServer, n: int) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = get(server, "/v1/events", limit=n)["data"]
    return data


def refundable_charge(server: SandboxServer, minimum: int = 1000) -> dict[str, Any]:
    return next(
        c
        for c in server.account.objects("charges")
        if c["status"] == "succeeded"
        and c["captured"]
        and c["amount_refunded"] == 0
        and c["amount"] >= minimum
        and c["currency"] == "usd"
    )


def test_full_refund_updates_the_charge_and_emits_three_events(server: SandboxServer) -> None:
    charge = refundable_charge(server)
    response = post(server, "/v1/refunds", {"charge": charge["id"], "metadata[ticket]": "T-1"})
    assert response.status_code == 200, response.text
    refund = response.json()
    assert refund["object"] == "refund" and refund["id"].startswith("re_")
    assert refund["amount"] == charge["amount"] and refund["status"] == "succeeded"
    assert refund["created"] == NOW and refund["metadata"] == {"ticket": "T-1"}
    assert refund["payment_intent"] == charge["payment_intent"]

    after = get(server, f"/v1/charges/{charge['id']}")
    assert after["amount_refunded"] == charge["amount"] and after["refunded"] is True
    expanded = get(server, f"/v1/charges/{charge['id']}", **{"expand[]": "refunds"})
    assert expanded["refunds"]["data"][0]["id"] == refund["id"]
    assert get(server, "/v1/refunds", limit=1)["data"][0]["id"] == refund["id"]

    events = newest_events(server, 3)
    assert [e["type"] for e in events] == [
        "charge.refund.updated",
        "charge.refunded",
        "refund.created",
    ]
    assert all(e["created"] == NOW for e in events)
    assert events[2]["data"]["object"] == refund
    assert events[1]["data"]["object"] == after
    assert events[1]["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    assert events[0]["data"]["object"]["object"] == "refund"


def test_partial_refunds_add_up_until_the_charge_is_fully_refunded(
    server: SandboxServer,
) -> None:
    charge = refundable_charge(server)
    first = post(server, "/v1/refunds", {"charge": charge["id"], "amount": 300}).json()
    assert first["amount"] == 300
    partly = get(server, f"/v1/charges/{charge['id']}")
    assert partly["amount_refunded"] == 300 and partly["refunded"] is False
    rest = post(server, "/v1/refunds", {"charge": charge["id"]}).json()
    assert rest["amount"] == charge["amount"] - 300
    assert get(server, f"/v1/charges/{charge['id']}")["refunded"] is True
    again = post(server, "/v1/refunds", {"charge": charge["id"]})
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "charge_already_refunded"


def test_refund_by_payment_intent_refunds_its_latest_charge(server: SandboxServer) -> None:
    charge = refundable_charge(server)
    refund = post(server, "/v1/refunds", {"payment_intent": charge["payment_intent"]}).json()
    assert refund["charge"] == charge["id"]


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({"charge": "ch_nope"}, "charge", "resource_missing"),
        ({}, None, "parameter_missing"),
        ({"charge": "CHARGE", "amount": "999999999"}, "amount", "amount_too_large"),
        ({"charge": "CHARGE", "amount": "abc"}, "amount", "parameter_invalid_integer"),
        ({"charge": "CHARGE", "reason": "bored"}, "reason", "parameter_invalid_string"),
        ({"charge": "CHARGE", "colour": "red"}, "colour", "parameter_unknown"),
    ],
)
def test_bad_refund_requests_are_400s_and_change_nothing(
    server: SandboxServer, data: dict[str, str], param: str | None, code: str
) -> None:
    charge = refundable_charge(server)
    data = {k: (charge["id"] if v == "CHARGE" else v) for k, v in data.items()}
    refunds_before = server.account.count("refunds")
    response = post(server, "/v1/refunds", data)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error.get("param") == param and error["code"] == code
    assert server.account.count("refunds") == refunds_before
    assert server.account.get_object(charge["id"]) == charge


def test_failed_charges_cannot_be_refunded(server: SandboxServer) -> None:
    failed = next(c for c in server.account.objects("charges") if c["status"] == "failed")
    response = post(server, "/v1/refunds", {"charge": failed["id"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "charge_not_refundable"


def test_a_retried_refund_with_the_same_idempotency_key_refunds_once(
    server: SandboxServer,
) -> None:
    charge = refundable_charge(server)
    data = {"charge": charge["id"], "amount": 100}
    first = post(server, "/v1/refunds", data, **{"Idempotency-Key": "retry-1"})
    second = post(server, "/v1/refunds", data, **{"Idempotency-Key": "retry-1"})
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert get(server, f"/v1/charges/{charge['id']}")["amount_refunded"] == 100
    other = post(server, "/v1/refunds", {**data, "amount": 200}, **{"Idempotency-Key": "retry-1"})
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"


def test_old_events_keep_their_snapshot_after_a_change(server: SandboxServer) -> None:
    charge = refundable_charge(server)
    post(server, "/v1/refunds", {"charge": charge["id"]})
    created = get(server, "/v1/events", type="charge.succeeded", created=charge["created"])
    snapshot = next(e for e in created["data"] if e["data"]["object"]["id"] == charge["id"])
    assert snapshot["data"]["object"]["amount_refunded"] == 0


def test_customer_update_changes_lists_and_emits_customer_updated(server: SandboxServer) -> None:
    customer = server.account.objects("customers")[5]
    response = post(
        server,
        f"/v1/customers/{customer['id']}",
        {"email": "new@example.com", "name": "Ada Lovelace", "metadata[tier]": "gold"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["email"] == "new@example.com" and updated["metadata"]["tier"] == "gold"
    assert updated["created"] == customer["created"]
    assert get(server, f"/v1/customers/{customer['id']}") == updated
    by_email = get(server, "/v1/customers", email="new@example.com")["data"]
    assert [c["id"] for c in by_email] == [customer["id"]]
    assert get(server, "/v1/customers", email=customer["email"])["data"] == []

    event = newest_events(server, 1)[0]
    assert event["type"] == "customer.updated" and event["created"] == NOW
    assert event["data"]["object"] == updated
    assert event["data"]["previous_attributes"] == {
        "email": customer["email"],
        "name": customer["name"],
        "metadata": {"tier": None},
    }


def test_customer_metadata_key_is_unset_with_an_empty_value(server: SandboxServer) -> None:
    customer = server.account.objects("customers")[0]
    post(server, f"/v1/customers/{customer['id']}", {"metadata[a]": "1", "metadata[b]": "2"})
    updated = post(server, f"/v1/customers/{customer['id']}", {"metadata[a]": ""}).json()
    assert updated["metadata"] == {**customer["metadata"], "b": "2"}
    assert newest_events(server, 1)[0]["data"]["previous_attributes"] == {"metadata": {"a": "1"}}


def test_update_with_unknown_parameter_is_a_400(server: SandboxServer) -> None:
    customer = server.account.objects("customers")[0]
    response = post(server, f"/v1/customers/{customer['id']}", {"shoe_size": "44"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_unknown"


def test_deleted_customer_leaves_lists_and_retrieves_as_a_stub(server: SandboxServer) -> None:
    customer = server.account.objects("customers")[2]
    before = server.account.count("customers")
    response = requests.delete(f"{server.url}/v1/customers/{customer['id']}", auth=AUTH)
    stub = {"id": customer["id"], "object": "customer", "deleted": True}
    assert response.status_code == 200 and response.json() == stub
    assert get(server, f"/v1/customers/{customer['id']}") == stub
    listed = get(server, "/v1/customers", limit=100)["data"]
    listed += get(server, "/v1/customers", limit=100, starting_after=listed[-1]["id"])["data"]
    assert customer["id"] not in {c["id"] for c in listed}
    assert len(listed) == before - 1
    event = newest_events(server, 1)[0]
    assert event["type"] == "customer.deleted"
    assert event["data"]["object"] == customer
    again = requests.delete(f"{server.url}/v1/customers/{customer['id']}", auth=AUTH)
    assert again.status_code == 404


def test_detached_payment_method_leaves_the_customers_list(server: SandboxServer) -> None:
    pm = next(p for p in server.account.objects("payment_methods") if p["customer"])
    owner = pm["customer"]
    response = post(server, f"/v1/payment_methods/{pm['id']}/detach", {})
    assert response.status_code == 200, response.text
    assert response.json()["customer"] is None
    listed = get(server, f"/v1/customers/{owner}/payment_methods", limit=100)["data"]
    assert pm["id"] not in {p["id"] for p in listed}
    assert get(server, f"/v1/payment_methods/{pm['id']}")["customer"] is None
    event = newest_events(server, 1)[0]
    assert event["type"] == "payment_method.detached"
    assert event["data"]["previous_attributes"] == {"customer": owner}
    again = post(server, f"/v1/payment_methods/{pm['id']}/detach", {})
    assert again.status_code == 400


def test_payment_intent_update_emits_payment_intent_updated(server: SandboxServer) -> None:
    pi = server.account.objects("payment_intents")[0]
    response = post(
        server,
        f"/v1/payment_intents/{pi['id']}",
        {"description": "Order 42", "metadata[order]": "42"},
    )
    assert response.status_code == 200, response.text
    event = newest_events(server, 1)[0]
    assert event["type"] == "payment_intent.updated"
    assert event["data"]["object"]["description"] == "Order 42"
    assert event["data"]["previous_attributes"] == {
        "description": pi["description"],
        "metadata": {"order": pi["metadata"].get("order")},
    }


def test_writes_dated_inside_the_history_keep_lists_in_order(sandbox_factory: Factory) -> None:
    start, end = SANDBOX_CONFIG.span()
    middle = (start + end) // 2
    server = sandbox_factory(clock=lambda: middle)
    charge = next(
        c
        for c in server.account.objects("charges")
        if c["created"] < middle and c["status"] == "succeeded" and c["captured"]
        and c["amount_refunded"] == 0
    )  # fmt: skip
    refund = post(server, "/v1/refunds", {"charge": charge["id"]}).json()
    walked: list[dict[str, Any]] = []
    page = get(server, "/v1/refunds", limit=100)
    walked += page["data"]
    while page["has_more"]:
        page = get(server, "/v1/refunds", limit=100, starting_after=walked[-1]["id"])
        walked += page["data"]
    created = [r["created"] for r in walked]
    assert created == sorted(created, reverse=True)
    assert refund["id"] in {r["id"] for r in walked}
    window = get(server, "/v1/refunds", created=middle)["data"]
    assert refund["id"] in {r["id"] for r in window}


def test_filtered_lists_already_in_use_see_new_objects(server: SandboxServer) -> None:
    charge = refundable_charge(server)
    before = get(server, "/v1/events", type="refund.created", limit=1)["data"][0]
    assert get(server, "/v1/refunds", charge=charge["id"])["data"] == []
    refund = post(server, "/v1/refunds", {"charge": charge["id"]}).json()
    newest = get(server, "/v1/events", type="refund.created", limit=2)["data"]
    assert [e["data"]["object"]["id"] for e in newest] == [
        refund["id"],
        before["data"]["object"]["id"],
    ]
    assert [r["id"] for r in get(server, "/v1/refunds", charge=charge["id"])["data"]] == [
        refund["id"]
    ]
    assert get(server, "/v1/events", type="charge.*", limit=1)["data"][0]["type"] == (
        "charge.refund.updated"
    )
