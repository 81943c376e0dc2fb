"""Stripe's list semantics over real HTTP: order, limit, cursors, created filters, has_more."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests

from stripe_assets.endpoints import ENDPOINTS
from stripe_assets.sandbox import SandboxServer

LISTABLE = sorted(set(ENDPOINTS) - {"payment_methods"})  # that one needs ?customer=


def get(session: requests.Session, server: SandboxServer, path: str, **params: Any) -> Any:
    return session.get(server.url + path, params=params)


def walk(
    session: requests.Session, server: SandboxServer, path: str, limit: int = 100, **params: Any
) -> list[dict[str, Any]]:
    """Every object of a list, page by page with starting_after, as a loader would."""
    objects: list[dict[str, Any]] = []
    after = None
    while True:
        page_params = dict(params, limit=limit)
        if after:
            page_params["starting_after"] = after
        response = get(session, server, path, **page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list" and "total_count" not in body
        objects.extend(body["data"])
        if not body["has_more"]:
            return objects
        assert len(body["data"]) == limit
        after = body["data"][-1]["id"]


def assert_error(response: requests.Response, status: int, param: str | None, code: str | None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error.get("param") == param
    assert error.get("code") == code
    return error


@pytest.mark.parametrize("kind", LISTABLE)
def test_walking_a_list_returns_every_visible_object_once_newest_first(
    sandbox: SandboxServer, stripe_http: requests.Session, kind: str
) -> None:
    objects = walk(stripe_http, sandbox, f"/v1/{kind}")
    ids = [o["id"] for o in objects]
    assert ids == sandbox.account.ids(kind)
    assert len(set(ids)) == len(ids) == sandbox.account.count(kind)
    created = [o["created"] for o in objects if "created" in o]
    assert created == sorted(created, reverse=True)


def test_page_size_does_not_change_the_order(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    by_100 = [o["id"] for o in walk(stripe_http, sandbox, "/v1/charges", limit=100)]
    by_7 = [o["id"] for o in walk(stripe_http, sandbox, "/v1/charges", limit=7)]
    assert by_7 == by_100


def test_objects_created_in_the_same_second_keep_a_stable_order(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    charges = walk(stripe_http, sandbox, "/v1/charges")
    second, n = Counter(c["created"] for c in charges).most_common(1)[0]
    assert n >= 2
    same = [c["id"] for c in charges if c["created"] == second]
    # Walking through the tie one object at a time gives the same order again.
    first = get(stripe_http, sandbox, "/v1/charges", limit=1, **{"created": second}).json()
    walked = [first["data"][0]["id"]]
    while len(walked) < n:
        page = get(
            stripe_http, sandbox, "/v1/charges", limit=1, starting_after=walked[-1],
            **{"created": second},
        ).json()  # fmt: skip
        walked.append(page["data"][0]["id"])
    assert walked == same


def test_limit_defaults_to_10(sandbox: SandboxServer, stripe_http: requests.Session) -> None:
    body = get(stripe_http, sandbox, "/v1/charges").json()
    assert len(body["data"]) == 10 and body["has_more"] is True
    assert body["url"] == "/v1/charges"


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_accepts_1_to_100(
    sandbox: SandboxServer, stripe_http: requests.Session, limit: str
) -> None:
    body = get(stripe_http, sandbox, "/v1/customers", limit=limit).json()
    assert len(body["data"]) == int(limit)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1000", "abc", "", "2.5"])
def test_limit_outside_1_to_100_is_a_400_on_limit(
    sandbox: SandboxServer, stripe_http: requests.Session, limit: str
) -> None:
    response = get(stripe_http, sandbox, "/v1/charges", limit=limit)
    code = None if limit.lstrip("-").isdigit() else "parameter_invalid_integer"
    assert_error(response, 400, "limit", code)


def test_ending_before_walks_towards_newer_objects(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    ids = sandbox.account.ids("refunds")
    # Start from the oldest and walk back up with ending_before.
    walked: list[str] = []
    before = ids[-1]
    while True:
        body = get(stripe_http, sandbox, "/v1/refunds", limit=9, ending_before=before).json()
        page = [o["id"] for o in body["data"]]
        walked = page + walked  # each page is newest first and sits before the previous
        if not body["has_more"]:
            break
        before = page[0]
    assert walked == ids[:-1]


def test_ending_before_the_newest_object_is_an_empty_page(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    newest = sandbox.account.ids("charges")[0]
    body = get(stripe_http, sandbox, "/v1/charges", ending_before=newest).json()
    assert body["data"] == [] and body["has_more"] is False


def test_starting_after_and_ending_before_together_is_a_400(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    ids = sandbox.account.ids("charges")
    response = get(stripe_http, sandbox, "/v1/charges", starting_after=ids[5], ending_before=ids[1])
    error = assert_error(response, 400, None, None)
    assert "starting_after and ending_before" in error["message"]


@pytest.mark.parametrize("param", ["starting_after", "ending_before"])
def test_unknown_cursor_is_a_400_naming_the_object(
    sandbox: SandboxServer, stripe_http: requests.Session, param: str
) -> None:
    response = get(stripe_http, sandbox, "/v1/charges", **{param: "ch_doesnotexist"})
    error = assert_error(response, 400, param, "resource_missing")
    assert error["message"] == "No such charge: 'ch_doesnotexist'"


def test_cursor_from_another_list_is_unknown(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    customer = sandbox.account.ids("customers")[0]
    response = get(stripe_http, sandbox, "/v1/charges", starting_after=customer)
    assert_error(response, 400, "starting_after", "resource_missing")


def test_last_page_has_more_false_and_no_list_has_total_count(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    oldest_but_3 = sandbox.account.ids("payouts")[-4]
    body = get(stripe_http, sandbox, "/v1/payouts", limit=3, starting_after=oldest_but_3).json()
    assert len(body["data"]) == 3 and body["has_more"] is False
    assert set(body) == {"object", "data", "has_more", "url"}


def _busiest_second(sandbox: SandboxServer) -> int:
    seconds = Counter(c["created"] for c in sandbox.account.objects("charges"))
    return max(seconds, key=lambda s: (seconds[s], s))


@pytest.mark.parametrize(
    ("ops", "keep"),
    [
        ({"gt": 0}, lambda c, t: c > t),
        ({"gte": 0}, lambda c, t: c >= t),
        ({"lt": 0}, lambda c, t: c < t),
        ({"lte": 0}, lambda c, t: c <= t),
        ({"gte": 0, "lt": 86400}, lambda c, t: t <= c < t + 86400),
        ({"gt": -3600, "lte": 3600}, lambda c, t: t - 3600 < c <= t + 3600),
    ],
)
def test_created_filters_are_exact_at_the_boundary(
    sandbox: SandboxServer, stripe_http: requests.Session, ops: dict[str, int], keep: Any
) -> None:
    # A second holding several charges, so that inclusive/exclusive boundaries matter.
    t = _busiest_second(sandbox)
    params = {f"created[{op}]": t + offset for op, offset in ops.items()}
    got = [c["id"] for c in walk(stripe_http, sandbox, "/v1/charges", **params)]
    expected = [c["id"] for c in sandbox.account.objects("charges") if keep(c["created"], t)]
    assert got == expected and expected


def test_created_equal_to_a_timestamp_returns_that_second(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    t = _busiest_second(sandbox)
    got = walk(stripe_http, sandbox, "/v1/charges", created=t)
    assert len(got) >= 2 and all(c["created"] == t for c in got)


def test_created_filter_combines_with_cursors(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    start, end = sandbox.config.span()
    middle = (start + end) // 2
    inside = walk(stripe_http, sandbox, "/v1/events", limit=50, **{"created[gte]": middle})
    assert inside and all(e["created"] >= middle for e in inside)
    expected = [e["id"] for e in sandbox.account.objects("events") if e["created"] >= middle]
    assert [e["id"] for e in inside] == expected


@pytest.mark.parametrize("kind", ["payment_methods", "payment_links"])
@pytest.mark.parametrize("param", ["created", "created[gte]"])
def test_created_filter_is_an_unknown_parameter_on_lists_without_it(
    sandbox: SandboxServer, stripe_http: requests.Session, kind: str, param: str
) -> None:
    assert not ENDPOINTS[kind].created_filter
    response = get(stripe_http, sandbox, f"/v1/{kind}", **{param: 1700000000})
    error = assert_error(response, 400, "created", "parameter_unknown")
    assert error["message"] == "Received unknown parameter: created"


def test_bad_created_values_are_400s(sandbox: SandboxServer, stripe_http: requests.Session) -> None:
    response = get(stripe_http, sandbox, "/v1/charges", **{"created[gte]": "yesterday"})
    assert_error(response, 400, "created[gte]", "parameter_invalid_integer")
    response = get(stripe_http, sandbox, "/v1/charges", **{"created[after]": "1"})
    assert_error(response, 400, "created[after]", "parameter_unknown")


def test_unknown_list_parameter_is_a_400(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    response = get(stripe_http, sandbox, "/v1/charges", page="2")
    assert_error(response, 400, "page", "parameter_unknown")


def test_payment_methods_without_customer_is_empty_as_in_current_stripe(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    body = get(stripe_http, sandbox, "/v1/payment_methods").json()
    assert body == {"object": "list", "data": [], "has_more": False, "url": "/v1/payment_methods"}


def test_a_customers_payment_methods_are_listed_both_ways(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    pms = sandbox.account.objects("payment_methods")
    owners = Counter(pm["customer"] for pm in pms if pm["customer"])
    customer, n = owners.most_common(1)[0]
    expected = [pm["id"] for pm in pms if pm["customer"] == customer]
    nested = walk(stripe_http, sandbox, f"/v1/customers/{customer}/payment_methods", limit=1)
    flat = walk(stripe_http, sandbox, "/v1/payment_methods", customer=customer, type="card")
    assert [pm["id"] for pm in nested] == [pm["id"] for pm in flat] == expected
    assert n == len(expected) >= 1


def test_guest_payment_methods_are_in_no_list_but_retrievable_by_id(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    guest = next(pm for pm in sandbox.account.objects("payment_methods") if pm["customer"] is None)
    body = get(stripe_http, sandbox, f"/v1/payment_methods/{guest['id']}").json()
    assert body == guest


def test_payment_methods_of_an_unknown_customer_are_an_error(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    response = get(stripe_http, sandbox, "/v1/customers/cus_nobody/payment_methods")
    assert_error(response, 404, "customer", "resource_missing")
    response = get(stripe_http, sandbox, "/v1/payment_methods", customer="cus_nobody")
    assert_error(response, 400, "customer", "resource_missing")


@pytest.mark.parametrize("kind", sorted(ENDPOINTS))
def test_retrieve_returns_the_listed_object(
    sandbox: SandboxServer, stripe_http: requests.Session, kind: str
) -> None:
    obj = sandbox.account.objects(kind)[3]
    response = get(stripe_http, sandbox, f"/v1/{kind}/{obj['id']}")
    assert response.status_code == 200
    assert response.json() == obj


def test_retrieving_an_unknown_id_is_a_404(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    response = get(stripe_http, sandbox, "/v1/charges/ch_nope")
    error = assert_error(response, 404, "id", "resource_missing")
    assert error["message"] == "No such charge: 'ch_nope'"
    customer = sandbox.account.ids("customers")[0]
    assert get(stripe_http, sandbox, f"/v1/charges/{customer}").status_code == 404


def test_unknown_url_is_a_404(sandbox: SandboxServer, stripe_http: requests.Session) -> None:
    response = get(stripe_http, sandbox, "/v1/balance_transactions")
    error = assert_error(response, 404, None, None)
    assert error["message"].startswith("Unrecognized request URL (GET: /v1/balance_transactions)")


def test_events_filter_by_type_with_wildcard_and_types_array(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    events = sandbox.account.objects("events")
    charge_events = walk(stripe_http, sandbox, "/v1/events", type="charge.*")
    assert [e["id"] for e in charge_events] == [
        e["id"] for e in events if e["type"].startswith("charge.")
    ]
    assert {"charge.succeeded", "charge.failed", "charge.refunded"} <= {
        e["type"] for e in charge_events
    }
    exact = walk(stripe_http, sandbox, "/v1/events", type="payout.paid")
    assert exact and {e["type"] for e in exact} == {"payout.paid"}
    wanted = ["refund.created", "customer.created"]
    both = walk(stripe_http, sandbox, "/v1/events", limit=25, **{"types[]": wanted})
    assert [e["id"] for e in both] == [e["id"] for e in events if e["type"] in wanted]
    response = get(stripe_http, sandbox, "/v1/events", type="charge.*", **{"types[]": wanted})
    assert response.status_code == 400


def test_charges_filter_by_customer(sandbox: SandboxServer, stripe_http: requests.Session) -> None:
    charges = sandbox.account.objects("charges")
    customer = Counter(c["customer"] for c in charges if c["customer"]).most_common(1)[0][0]
    got = walk(stripe_http, sandbox, "/v1/charges", limit=2, customer=customer)
    assert [c["id"] for c in got] == [c["id"] for c in charges if c["customer"] == customer]


def test_expand_replaces_ids_by_objects(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    body = get(
        stripe_http, sandbox, "/v1/charges", limit=3, **{"expand[]": ["data.payment_intent"]}
    ).json()
    for charge in body["data"]:
        assert charge["payment_intent"]["object"] == "payment_intent"
        assert charge["payment_intent"]["latest_charge"] == charge["id"]
    response = get(stripe_http, sandbox, "/v1/charges", **{"expand[]": "data.application"})
    assert_error(response, 400, "expand", None)


def test_charges_carry_refunds_only_when_expanded(
    sandbox: SandboxServer, stripe_http: requests.Session
) -> None:
    """API 2022-11-15 stopped rendering `charge.refunds` unless asked: loaders and the SDK get
    the shape real Stripe sends at the pinned version."""
    by_charge: dict[str, list[str]] = {}
    for refund in sandbox.account.objects("refunds"):  # newest first
        by_charge.setdefault(refund["charge"], []).append(refund["id"])
    charge_id, refund_ids = max(by_charge.items(), key=lambda kv: len(kv[1]))

    plain = walk(stripe_http, sandbox, "/v1/charges")
    assert plain and not any("refunds" in c for c in plain)
    retrieved = get(stripe_http, sandbox, f"/v1/charges/{charge_id}").json()
    assert "refunds" not in retrieved

    expanded = get(
        stripe_http, sandbox, f"/v1/charges/{charge_id}", **{"expand[]": "refunds"}
    ).json()["refunds"]
    assert [r["id"] for r in expanded["data"]] == refund_ids
    assert expanded["object"] == "list" and expanded["has_more"] is False
    assert expanded["url"] == f"/v1/charges/{charge_id}/refunds"

    listed = walk(stripe_http, sandbox, "/v1/charges", 100, **{"expand[]": "data.refunds"})
    by_id = {c["id"]: c for c in listed}
    assert [r["id"] for r in by_id[charge_id]["refunds"]["data"]] == refund_ids
    assert all(c["refunds"]["data"] == [] for c in listed if c["id"] not in by_charge)
