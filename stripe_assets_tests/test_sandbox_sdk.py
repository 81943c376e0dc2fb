"""The official `stripe` Python SDK, pointed at the sandbox, works as against Stripe."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import stripe

from stripe_assets.sandbox import SandboxServer

KEY = "sk_test_sdk"


@pytest.fixture
def client(sandbox: SandboxServer) -> stripe.StripeClient:
    return stripe.StripeClient(KEY, base_addresses={"api": sandbox.url}, max_network_retries=0)


@pytest.fixture
def global_sdk(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The module-level style (`stripe.api_key`, `stripe.api_base`), restored afterwards."""
    monkeypatch.setattr(stripe, "api_key", KEY)
    monkeypatch.setattr(stripe, "api_base", sandbox.url)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    yield


def test_auto_paging_iter_returns_every_charge_once_in_order(
    sandbox: SandboxServer, client: stripe.StripeClient
) -> None:
    sandbox.reset_stats()
    ids = [c.id for c in client.v1.charges.list({"limit": 100}).auto_paging_iter()]
    assert ids == sandbox.account.ids("charges")
    assert len(set(ids)) == len(ids) == 800
    assert sandbox.stats.requests_by_path == {"/v1/charges": 8}


@pytest.mark.parametrize(
    "name",
    [
        "customers",
        "payment_intents",
        "setup_intents",
        "refunds",
        "payouts",
        "payment_links",
        "events",
    ],
)
def test_auto_paging_iter_walks_every_list(
    sandbox: SandboxServer, client: stripe.StripeClient, name: str
) -> None:
    service = getattr(client.v1, name)
    ids = [o.id for o in service.list({"limit": 37}).auto_paging_iter()]
    assert ids == sandbox.account.ids(name)


def test_created_filter_through_the_sdk(
    sandbox: SandboxServer, client: stripe.StripeClient
) -> None:
    start, end = sandbox.config.span()
    middle = (start + end) // 2
    got = [
        c.id
        for c in client.v1.charges.list(
            {"limit": 100, "created": {"gte": middle, "lt": middle + 30 * 86400}}
        ).auto_paging_iter()
    ]
    expected = [
        c["id"]
        for c in sandbox.account.objects("charges")
        if middle <= c["created"] < middle + 30 * 86400
    ]
    assert got == expected and got


def test_a_customers_payment_methods_through_the_sdk(
    sandbox: SandboxServer, client: stripe.StripeClient
) -> None:
    pms = sandbox.account.objects("payment_methods")
    customer = Counter(p["customer"] for p in pms if p["customer"]).most_common(1)[0][0]
    expected = [p["id"] for p in pms if p["customer"] == customer]
    nested = client.v1.customers.payment_methods.list(customer, {"limit": 1}).auto_paging_iter()
    assert [p.id for p in nested] == expected
    flat = client.v1.payment_methods.list({"customer": customer}).auto_paging_iter()
    assert [p.id for p in flat] == expected


def test_retrieve_and_nested_objects_through_the_sdk(
    sandbox: SandboxServer, client: stripe.StripeClient
) -> None:
    refund = sandbox.account.objects("refunds")[0]
    raw = next(c for c in sandbox.account.objects("charges") if c["id"] == refund["charge"])
    charge = client.v1.charges.retrieve(raw["id"], {"expand": ["refunds"]})
    assert charge.amount == raw["amount"] and charge.currency == raw["currency"]
    card = charge.payment_method_details.card  # type: ignore[union-attr]
    assert card.last4 == raw["payment_method_details"]["card"]["last4"]  # type: ignore[union-attr]
    assert refund["id"] in [r.id for r in charge.refunds.data]  # type: ignore[union-attr]
    pi = client.v1.payment_intents.retrieve(raw["payment_intent"])
    assert pi.latest_charge == raw["id"]


def test_module_level_sdk_pages_through_charges(sandbox: SandboxServer, global_sdk: None) -> None:
    ids = [c.id for c in stripe.Charge.list(limit=100).auto_paging_iter()]
    assert ids == sandbox.account.ids("charges")


def test_sdk_raises_its_error_classes_with_stripes_details(
    sandbox: SandboxServer, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.charges.retrieve("ch_nope")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    assert missing.value.request_id and missing.value.request_id.startswith("req_")
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.charges.list({"limit": 500})
    assert bad.value.param == "limit"
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient(
            "sk_live_nope0000", base_addresses={"api": sandbox.url}
        ).v1.charges.list()


def test_sdk_sees_permission_and_rate_limit_errors(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory(restricted_keys={"rk_test_reader": {"charges"}}, rate_limit=2)
    reader = stripe.StripeClient(
        "rk_test_reader", base_addresses={"api": server.url}, max_network_retries=0
    )
    reader.v1.charges.list()
    with pytest.raises(stripe.PermissionError):
        reader.v1.payouts.list()
    with pytest.raises(stripe.RateLimitError):
        reader.v1.charges.list()


def test_sdk_retries_a_503_and_a_reset_on_its_own(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory()
    client = stripe.StripeClient(KEY, base_addresses={"api": server.url}, max_network_retries=2)
    server.inject("503_html", path_prefix="/v1/payouts")
    server.inject("reset", path_prefix="/v1/payouts")
    payouts = client.v1.payouts.list({"limit": 3})
    assert len(payouts.data) == 3
    assert server.stats.faults_injected == {"503_html": 1, "reset": 1}


def test_sdk_writes_refunds_and_sees_deleted_customers(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory()
    client = stripe.StripeClient(KEY, base_addresses={"api": server.url}, max_network_retries=2)
    charge = next(
        c
        for c in server.account.objects("charges")
        if c["status"] == "succeeded" and c["captured"] and c["amount_refunded"] == 0
    )
    refund = client.v1.refunds.create({"charge": charge["id"], "amount": 1})
    assert refund.amount == 1 and refund.charge == charge["id"]
    assert client.v1.charges.retrieve(charge["id"]).amount_refunded == 1
    customer_id = server.account.ids("customers")[0]
    client.v1.customers.delete(customer_id)
    deleted = client.v1.customers.retrieve(customer_id)
    assert deleted.to_dict() == {"id": customer_id, "object": "customer", "deleted": True}
