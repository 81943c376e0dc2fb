"""The generated account: deterministic, Stripe-shaped, and internally consistent."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest

from stripe_assets.endpoints import ENDPOINTS
from stripe_assets.sandbox import SandboxConfig, Store, generate
from stripe_assets_tests.conftest import SANDBOX_CONFIG


def fields(names: str) -> set[str]:
    return set(names.split())


# Top-level fields of each object as Stripe's API reference examples have them (copied facts),
# less what the pinned API version renders only when expanded: a charge's `refunds` (2022-11-15).
STRIPE_FIELDS: dict[str, set[str]] = {
    "customers": fields(
        "address balance created currency default_source delinquent description discount "
        "email id invoice_prefix invoice_settings livemode metadata name "
        "next_invoice_sequence object phone preferred_locales shipping tax_exempt test_clock"
    ),
    "charges": fields(
        "amount amount_captured amount_refunded application application_fee "
        "application_fee_amount balance_transaction billing_details "
        "calculated_statement_descriptor captured created currency customer description "
        "disputed failure_balance_transaction failure_code failure_message fraud_details id "
        "livemode metadata object on_behalf_of outcome paid payment_intent payment_method "
        "payment_method_details receipt_email receipt_number receipt_url refunded "
        "review shipping source_transfer statement_descriptor statement_descriptor_suffix "
        "status transfer_data transfer_group source"
    ),
    "payment_intents": fields(
        "amount amount_capturable amount_details amount_received application "
        "application_fee_amount automatic_payment_methods canceled_at cancellation_reason "
        "capture_method client_secret confirmation_method created currency customer "
        "description id last_payment_error latest_charge livemode metadata next_action object "
        "on_behalf_of payment_method payment_method_configuration_details "
        "payment_method_options payment_method_types processing receipt_email review "
        "setup_future_usage shipping statement_descriptor statement_descriptor_suffix status "
        "transfer_data transfer_group source excluded_payment_method_types customer_account "
        "managed_payments"
    ),
    "payment_methods": fields(
        "allow_redisplay billing_details card created customer id livemode metadata object "
        "type customer_account"
    ),
    "setup_intents": fields(
        "application automatic_payment_methods cancellation_reason client_secret created "
        "customer description flow_directions id last_setup_error latest_attempt livemode "
        "mandate metadata next_action object on_behalf_of payment_method "
        "payment_method_configuration_details payment_method_options payment_method_types "
        "single_use_mandate status usage excluded_payment_method_types"
    ),
    "refunds": fields(
        "amount balance_transaction charge created currency destination_details id metadata "
        "object payment_intent reason receipt_number source_transfer_reversal status "
        "transfer_reversal customer customer_account payment_method"
    ),
    "payment_links": fields(
        "active after_completion allow_promotion_codes application application_fee_amount "
        "application_fee_percent automatic_tax billing_address_collection consent_collection "
        "currency custom_fields custom_text customer_creation id inactive_message "
        "invoice_creation livemode metadata object on_behalf_of payment_intent_data "
        "payment_method_collection payment_method_types phone_number_collection restrictions "
        "shipping_address_collection shipping_options submit_type subscription_data "
        "tax_id_collection transfer_data url managed_payments payment_method_options"
    ),
    "payouts": fields(
        "amount application_fee application_fee_amount arrival_date automatic "
        "balance_transaction created currency description destination "
        "failure_balance_transaction failure_code failure_message id livemode metadata method "
        "object original_payout reconciliation_status reversed_by source_type "
        "statement_descriptor status type trace_id payout_method"
    ),
    "events": fields("api_version created data id livemode object pending_webhooks request type"),
}
ZERO_DECIMAL = {"jpy"}
THREE_DECIMAL = {"kwd", "bhd"}


def all_objects(store: Store, kind: str) -> list[dict[str, Any]]:
    return store.objects(kind, include_deleted=True)


@pytest.fixture(scope="module")
def account(sandbox_account: Store) -> dict[str, list[dict[str, Any]]]:
    return {kind: all_objects(sandbox_account, kind) for kind in ENDPOINTS}


def test_same_seed_gives_byte_identical_objects() -> None:
    config = SandboxConfig(seed=7, customers=40, charges=200, end=date(2025, 1, 31))
    first, second = generate(config), generate(config)
    for kind in ENDPOINTS:
        a = [(i.id, i.key, i.json_bytes()) for i in first.collections[kind].items]
        b = [(i.id, i.key, i.json_bytes()) for i in second.collections[kind].items]
        assert a == b, kind


def test_different_seed_gives_different_objects() -> None:
    a = generate(SandboxConfig(seed=1, customers=20, charges=50, end=date(2025, 1, 31)))
    b = generate(SandboxConfig(seed=2, customers=20, charges=50, end=date(2025, 1, 31)))
    assert set(a.ids("charges")).isdisjoint(b.ids("charges"))
    amounts_a = [c["amount"] for c in a.objects("charges")]
    amounts_b = [c["amount"] for c in b.objects("charges")]
    assert amounts_a != amounts_b


def test_some_customers_are_deleted_after_their_last_activity(sandbox_account: Store) -> None:
    """So that a first load already has deletions to show (analytics.deleted_objects)."""
    events = {e["data"]["object"]["id"]: e for e in sandbox_account.objects("events")
              if e["type"] == "customer.deleted"}  # fmt: skip
    listed = {c["id"] for c in sandbox_account.objects("customers")}
    every = {c["id"] for c in all_objects(sandbox_account, "customers")}
    assert set(events) == every - listed and 0 < len(events) < 0.05 * len(every)
    for customer_id, event in events.items():
        activity = [o["created"] for kind in ("charges", "payment_intents", "setup_intents",
                                              "payment_methods")
                    for o in all_objects(sandbox_account, kind) if o.get("customer") == customer_id]
        assert event["created"] > max(activity, default=0), customer_id
        assert event["data"]["object"]["object"] == "customer"
        assert sandbox_account.get(customer_id, "customers").deleted  # type: ignore[union-attr]


def test_some_replaced_cards_are_detached_after_their_last_use(sandbox_account: Store) -> None:
    events = [e for e in sandbox_account.objects("events")
              if e["type"] == "payment_method.detached"]  # fmt: skip
    assert events
    customers = {c["id"]: c for c in sandbox_account.objects("customers")}
    for event in events:
        card, owner = event["data"]["object"], event["data"]["previous_attributes"]["customer"]
        assert card["customer"] is None and owner in customers
        assert customers[owner]["invoice_settings"]["default_payment_method"] != card["id"]
        stored = sandbox_account.get(card["id"], "payment_methods")
        assert stored is not None and stored.to_dict()["customer"] is None
        uses = [o["created"] for kind in ("charges", "payment_intents", "setup_intents")
                for o in all_objects(sandbox_account, kind)
                if o.get("payment_method") == card["id"]]
        assert event["created"] > max(uses, default=0), card["id"]


def test_counts_follow_the_config(account: dict[str, list[dict[str, Any]]]) -> None:
    counts = SANDBOX_CONFIG.counts()
    assert len(account["customers"]) == SANDBOX_CONFIG.customers
    assert len(account["charges"]) == SANDBOX_CONFIG.charges
    assert len(account["payment_intents"]) == counts["payment_intents"] > SANDBOX_CONFIG.charges
    assert len(account["setup_intents"]) == counts["setup_intents"]
    assert len(account["payouts"]) == counts["payouts"] == 365 // 2
    assert len(account["payment_links"]) == 25
    captured = [c for c in account["charges"] if c["captured"] and c["status"] == "succeeded"]
    refunded_charges = {r["charge"] for r in account["refunds"]}
    assert 0.04 < len(refunded_charges) / len(captured) < 0.13  # ~8%


@pytest.mark.parametrize("kind", sorted(STRIPE_FIELDS))
def test_every_object_has_stripes_top_level_fields(
    account: dict[str, list[dict[str, Any]]], kind: str
) -> None:
    objects = account[kind]
    assert objects
    for obj in objects:
        assert set(obj) == STRIPE_FIELDS[kind], obj["id"]
        assert obj["object"] == ENDPOINTS[kind].object_type
        assert obj.get("livemode", False) is False  # refunds have no livemode field


@pytest.mark.parametrize("kind", sorted(ENDPOINTS))
def test_ids_have_the_stripe_prefix_and_24_base62_chars(
    account: dict[str, list[dict[str, Any]]], kind: str
) -> None:
    pattern = re.compile(rf"^{ENDPOINTS[kind].id_prefix}_[A-Za-z0-9]{{24}}$")
    ids = [obj["id"] for obj in account[kind]]
    assert all(pattern.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_created_is_inside_the_configured_days(account: dict[str, list[dict[str, Any]]]) -> None:
    start, end = SANDBOX_CONFIG.span()
    assert end - start == 365 * 86400
    for kind, objects in account.items():
        for obj in objects:
            if "created" in obj:
                assert start <= obj["created"] < end, (kind, obj["id"])
    # Several objects in one second happen (bursts); lists must still order them totally.
    seconds = Counter(c["created"] for c in account["charges"])
    assert max(seconds.values()) >= 2


def test_currencies_include_zero_and_three_decimal_ones_with_valid_amounts(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    by_currency = Counter(c["currency"] for c in account["charges"])
    assert {"usd", "eur", "gbp"} <= set(by_currency)
    assert by_currency.most_common(1)[0][0] == "usd"
    assert ZERO_DECIMAL & set(by_currency) and THREE_DECIMAL & set(by_currency)
    for charge in account["charges"]:
        amount, currency = charge["amount"], charge["currency"]
        assert isinstance(amount, int) and amount > 0
        if currency in THREE_DECIMAL:
            assert amount % 10 == 0  # Stripe requires the last digit of these to be 0
        if currency == "jpy":
            assert 50 <= amount < 2_000_000  # yen, not "cents of yen"
        if currency == "usd":
            assert 50 <= amount <= 500_000


def test_charges_are_consistent_with_their_refunds_and_links(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    pis = {p["id"]: p for p in account["payment_intents"]}
    pms = {p["id"] for p in account["payment_methods"]}
    customers = {c["id"] for c in account["customers"]}
    refunds_by_charge: dict[str, list[dict[str, Any]]] = {}
    for refund in account["refunds"]:
        refunds_by_charge.setdefault(refund["charge"], []).append(refund)
    statuses = Counter(c["status"] for c in account["charges"])
    assert statuses["succeeded"] > statuses["failed"] > statuses["pending"] > 0
    guests = sum(1 for c in account["charges"] if c["customer"] is None)
    assert 0.05 < guests / len(account["charges"]) < 0.35
    for charge in account["charges"]:
        assert charge["payment_intent"] in pis
        assert charge["payment_method"] in pms
        assert charge["customer"] is None or charge["customer"] in customers
        assert pis[charge["payment_intent"]]["latest_charge"] == charge["id"]
        if charge["captured"]:
            assert charge["amount_captured"] == charge["amount"]
        else:
            assert charge["amount_captured"] == 0
        refunds = refunds_by_charge.get(charge["id"], [])
        counted = sum(r["amount"] for r in refunds if r["status"] != "failed")
        assert charge["amount_refunded"] == counted <= charge["amount_captured"]
        assert charge["refunded"] == (counted > 0 and counted == charge["amount_captured"])
        if charge["status"] == "failed":
            assert charge["failure_code"] and charge["failure_message"]
            assert charge["paid"] is False and charge["outcome"]["type"] in (
                "issuer_declined",
                "blocked",
            )


def test_refunds_follow_their_charge(account: dict[str, list[dict[str, Any]]]) -> None:
    charges = {c["id"]: c for c in account["charges"]}
    statuses = Counter(r["status"] for r in account["refunds"])
    assert statuses["succeeded"] > statuses["pending"] + statuses["failed"]
    partial = 0
    for refund in account["refunds"]:
        charge = charges[refund["charge"]]
        assert refund["payment_intent"] == charge["payment_intent"]
        assert refund["currency"] == charge["currency"]
        assert 0 < refund["amount"] <= charge["amount"]
        assert refund["created"] > charge["created"]
        partial += refund["amount"] < charge["amount"]
    assert partial > 0


def card_owners(account: dict[str, list[dict[str, Any]]]) -> dict[str, str | None]:
    """Each card's customer, also for cards detached since (their event says whose they were)."""
    detached = {e["data"]["object"]["id"]: e["data"]["previous_attributes"]["customer"]
                for e in account["events"] if e["type"] == "payment_method.detached"}
    return {pm["id"]: pm["customer"] or detached.get(pm["id"]) for pm in account["payment_methods"]}


def test_payment_intents_and_setup_intents_link_to_real_objects(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    charges = {c["id"] for c in account["charges"]}
    pms = {p["id"]: p for p in account["payment_methods"]}
    statuses = Counter(p["status"] for p in account["payment_intents"])
    assert {"succeeded", "requires_payment_method", "canceled"} <= set(statuses)
    for pi in account["payment_intents"]:
        assert pi["latest_charge"] is None or pi["latest_charge"] in charges
        assert pi["payment_method"] is None or pi["payment_method"] in pms
        if pi["status"] == "succeeded":
            assert pi["amount_received"] == pi["amount"] and pi["payment_method"]
    owners = card_owners(account)
    for seti in account["setup_intents"]:
        if seti["status"] == "succeeded":
            assert owners[seti["payment_method"]] == seti["customer"]


def test_guest_payment_methods_are_reachable_only_from_intents_and_charges(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    referenced = {c["payment_method"] for c in account["charges"]}
    referenced |= {p["payment_method"] for p in account["payment_intents"]}
    referenced |= {s["payment_method"] for s in account["setup_intents"]}
    owners = card_owners(account)
    guests = [pm for pm in account["payment_methods"] if owners[pm["id"]] is None]
    attached = [pm for pm in account["payment_methods"] if owners[pm["id"]] is not None]
    assert len(attached) > 1.5 * len(guests) > 0  # most cards are saved to a customer
    assert all(pm["id"] in referenced for pm in guests)
    assert all(pm["type"] == "card" and pm["card"]["last4"] for pm in account["payment_methods"])


def test_payouts_arrive_after_creation_in_several_currencies(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    payouts = account["payouts"]
    statuses = Counter(p["status"] for p in payouts)
    assert statuses.most_common(1)[0][0] == "paid"
    assert {"in_transit", "pending"} & set(statuses)
    assert {"usd", "jpy"} <= {p["currency"] for p in payouts}
    assert {"standard", "instant"} == {p["method"] for p in payouts}
    for payout in payouts:
        assert isinstance(payout["arrival_date"], int)
        assert 0 < payout["arrival_date"] - payout["created"] <= 6 * 86400
        assert payout["amount"] > 0
        if payout["status"] == "failed":
            assert payout["failure_code"]


def test_payment_links_have_no_created_field(account: dict[str, list[dict[str, Any]]]) -> None:
    assert all("created" not in link for link in account["payment_links"])
    assert all(
        link["url"].startswith("https://buy.stripe.com/") for link in account["payment_links"]
    )


def test_every_object_has_a_creation_event_dated_like_it(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    events = account["events"]
    by_object: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_object.setdefault(event["data"]["object"]["id"], []).append(event)
        assert event["api_version"] and event["pending_webhooks"] == 0
        assert set(event["request"]) == {"id", "idempotency_key"}
    for kind in ("customers", "charges", "payment_intents", "setup_intents", "refunds", "payouts"):
        for obj in account[kind]:
            created_events = [e for e in by_object[obj["id"]] if e["created"] == obj["created"]]
            assert created_events, (kind, obj["id"])
            prefix = ENDPOINTS[kind].object_type + "."
            assert any(e["type"].startswith(prefix) for e in created_events), (kind, obj["id"])
    types = Counter(e["type"] for e in events)
    for expected in (
        "customer.created", "charge.succeeded", "charge.failed", "payment_intent.succeeded",
        "refund.created", "charge.refunded", "payout.paid", "payment_link.created",
    ):  # fmt: skip
        assert types[expected] > 0, expected


def test_charge_event_snapshot_is_the_charge_before_its_refunds(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    refunded = next(c for c in account["charges"] if c["amount_refunded"] > 0)
    events = [e for e in account["events"] if e["data"]["object"]["id"] == refunded["id"]]
    succeeded = next(e for e in events if e["type"] == "charge.succeeded")
    assert succeeded["data"]["object"]["amount_refunded"] == 0
    last_refund = max(
        (e for e in events if e["type"] == "charge.refunded"), key=lambda e: e["created"]
    )
    assert last_refund["data"]["object"]["amount_refunded"] == refunded["amount_refunded"]


def test_event_retention_keeps_only_recent_events() -> None:
    config = SandboxConfig(
        customers=20, charges=100, end=date(2025, 1, 31), event_retention_days=30
    )
    store = generate(config)
    _, end = config.span()
    created = [e["created"] for e in store.objects("events")]
    assert created and min(created) >= end - 30 * 86400


def test_every_payment_intent_has_its_created_event_and_its_outcome_when_it_happened() -> None:
    store = generate(SandboxConfig(customers=40, charges=400, days=60, end=date(2025, 6, 30)))
    by_intent: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for e in store.objects("events"):
        if e["type"].startswith("payment_intent."):
            obj = e["data"]["object"]
            by_intent.setdefault(obj["id"], []).append((e["type"], e["created"], obj))
    charges = {c["id"]: c for c in store.objects("charges")}
    intents = store.objects("payment_intents")
    assert intents and set(by_intent) == {pi["id"] for pi in intents}
    for pi in intents:
        # Created first, also when the next event is in the same second.
        mine = sorted(by_intent[pi["id"]],
                      key=lambda event: (event[1], event[0] != "payment_intent.created"))
        created = [(at, obj) for kind, at, obj in mine if kind == "payment_intent.created"]
        assert [at for at, _ in created] == [pi["created"]]
        assert created[0][1]["status"] == "requires_payment_method"
        assert created[0][1]["latest_charge"] is None
        assert mine[0][0] == "payment_intent.created"
        if pi["latest_charge"]:
            ((_, at, obj),) = mine[1:]
            assert at == charges[pi["latest_charge"]]["created"] and obj == pi


def skip_if_the_utc_day_changed(day: date) -> None:
    """The default history ends yesterday: generated across midnight UTC, it moved a day."""
    if datetime.now(UTC).date() != day:
        pytest.skip("generated across midnight UTC: the default history moved by a day")


def test_the_default_history_ends_before_now_as_stripe_lists_nothing_created_later() -> None:
    day, before = datetime.now(UTC).date(), time.time()
    store = generate(SandboxConfig(customers=20, charges=100, days=3))
    skip_if_the_utc_day_changed(day)
    created = [
        o["created"]
        for kind in ("customers", "charges", "payment_intents", "refunds", "payouts", "events")
        for o in store.objects(kind, include_deleted=True)
    ]
    assert created and max(created) < before


def test_refunds_and_cancellations_not_due_by_the_end_of_history_have_not_happened_yet() -> None:
    """None is piled up on the last second; their charges are not refunded (yet), their
    payment intents are still open."""
    config = SandboxConfig(customers=60, charges=1000, days=60, end=date(2025, 6, 30))
    store = generate(config)
    _, end = config.span()
    canceled = [pi["canceled_at"] for pi in store.objects("payment_intents") if pi["canceled_at"]]
    assert canceled and max(canceled) < end - 1
    refunds = store.objects("refunds")
    assert refunds and max(r["created"] for r in refunds) < end - 1
    assert max(Counter(r["created"] for r in refunds).values()) <= 2
    refunded = Counter[str]()
    for r in refunds:
        if r["status"] != "failed":
            refunded[r["charge"]] += r["amount"]
    for charge in store.objects("charges"):
        assert charge["amount_refunded"] == refunded[charge["id"]]


def test_an_abandoned_payment_intent_is_created_then_canceled_each_event_at_its_time() -> None:
    store = generate(SandboxConfig(customers=40, charges=400, days=60, end=date(2025, 6, 30)))
    events = [(e["type"], e["created"], e["data"]["object"]) for e in store.objects("events")
              if e["type"].startswith("payment_intent.")]
    canceled = [pi for pi in store.objects("payment_intents") if pi["status"] == "canceled"]
    assert canceled
    for pi in canceled:
        mine = sorted(((kind, at, obj) for kind, at, obj in events if obj["id"] == pi["id"]),
                      key=lambda event: event[1])
        assert [(kind, at) for kind, at, _ in mine] == [
            ("payment_intent.created", pi["created"]),
            ("payment_intent.canceled", pi["canceled_at"]),
        ]
        assert mine[0][2]["status"] == "requires_payment_method"
        assert mine[0][2]["canceled_at"] is None
        assert mine[1][2] == pi


def test_every_setup_intent_is_created_then_changed_each_event_at_its_time() -> None:
    """As Stripe: `setup_intent.created` with the intent as it was then, the card's attachment
    after it, then the outcome; an abandoned intent is canceled later, before the end."""
    config = SandboxConfig(customers=60, charges=200, setup_intents=300, days=60,
                           end=date(2025, 6, 30))
    store = generate(config)
    _, end = config.span()
    intents = store.objects("setup_intents")
    by_method = {si["payment_method"]: si["id"] for si in intents if si["payment_method"]}
    mine: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for e in reversed(store.objects("events")):  # oldest first, as they happened
        obj = e["data"]["object"]
        owner = obj["id"] if obj["object"] == "setup_intent" else None
        if e["type"] == "payment_method.attached":
            owner = by_method.get(obj["id"])
        if owner:
            mine.setdefault(owner, []).append((e["type"], e["created"], obj))
    assert {si["status"] for si in intents} >= {"succeeded", "canceled", "requires_action"}
    for si in intents:
        (first, first_at, opened), *later = mine[si["id"]]
        assert (first, first_at) == ("setup_intent.created", si["created"])
        assert opened["status"] == "requires_payment_method"
        assert opened["payment_method"] is None and opened["latest_attempt"] is None
        kinds = [kind for kind, _, _ in later]
        if si["status"] == "succeeded":
            attached = ["payment_method.attached"] if si["customer"] else []
            assert kinds == [*attached, "setup_intent.succeeded"]
            assert all(at == si["created"] for _, at, _ in later)
        elif si["status"] == "canceled":
            ((_, at, _),) = later
            assert kinds == ["setup_intent.canceled"] and si["created"] < at < end
        elif si["status"] == "requires_action":
            assert kinds == ["setup_intent.requires_action"]
        else:
            assert kinds == []
        if later:
            assert later[-1][2] == si


def test_events_are_kept_from_30_days_before_now_like_stripe_not_from_a_midnight() -> None:
    day = datetime.now(UTC).date()
    every = generate(SandboxConfig(customers=20, charges=300, days=35)).objects("events")
    before = time.time()
    kept = generate(
        SandboxConfig(customers=20, charges=300, days=35, event_retention_days=30)
    ).objects("events")
    after = time.time()
    skip_if_the_utc_day_changed(day)
    kept_ids = {e["id"] for e in kept}
    assert {e["id"] for e in every if e["created"] >= after - 30 * 86400} <= kept_ids
    assert kept_ids <= {e["id"] for e in every if e["created"] >= before - 30 * 86400}


def test_config_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="payment_intents"):
        generate(SandboxConfig(charges=10, payment_intents=5))
    with pytest.raises(ValueError, match="days"):
        generate(SandboxConfig(days=0))


def test_cards_saved_at_checkout_are_attached_before_the_payment(
    account: dict[str, list[dict[str, Any]]],
) -> None:
    pms = {p["id"]: p for p in account["payment_methods"]}
    owners = card_owners(account)
    charges = {c["id"]: c for c in account["charges"]}
    saved = [p for p in account["payment_intents"] if p["setup_future_usage"] == "off_session"]
    assert saved
    for pi in saved:
        charge = charges[pi["latest_charge"]]
        pm = pms[charge["payment_method"]]
        assert owners[pm["id"]] == pi["customer"] is not None
        assert pi["created"] <= pm["created"] <= charge["created"]
