"""analytics.deleted_objects, materialized by Dagster over a raw event log in a real DuckDB
file: which events are deletions."""

from __future__ import annotations

import json

import dagster as dg
import duckdb

from stripe_assets.assets.deleted_objects import deleted_objects
from stripe_assets.io_manager import StripeDuckDBIOManager
from stripe_assets_tests.io_support import query, ts

# id, type, the event's object, previous_attributes
EVENTS = [
    ("evt_1", "customer.deleted", {"id": "cus_1", "object": "customer"}, None),
    ("evt_2", "customer.subscription.deleted",
     {"id": "sub_1", "object": "subscription", "status": "canceled"}, None),
    ("evt_3", "customer.discount.deleted", {"id": "di_1", "object": "discount"}, None),
    ("evt_4", "payment_method.detached", {"id": "pm_1", "object": "payment_method"},
     {"customer": "cus_2"}),
    ("evt_5", "customer.updated", {"id": "cus_3", "object": "customer"}, None),
]


def test_deletions_and_detachments_are_listed_but_not_an_ended_subscription(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA stripe")
        con.execute("CREATE TABLE stripe.events (id VARCHAR, type VARCHAR, created TIMESTAMPTZ,"
                    " data JSON, livemode BOOLEAN)")
        for i, (event_id, event_type, obj, previous) in enumerate(EVENTS):
            data = {"object": obj, **({"previous_attributes": previous} if previous else {})}
            con.execute("INSERT INTO stripe.events VALUES (?, ?, to_timestamp(?), ?, false)",
                        [event_id, event_type, ts("2025-03-03") + i, json.dumps(data)])
    result = dg.materialize([deleted_objects],
                            resources={"io_manager": StripeDuckDBIOManager(database=str(db))})
    assert result.success
    assert query(db, "SELECT object_type, object_id, change, event_type, detached_from_customer"
                     " FROM analytics.deleted_objects ORDER BY event_id") == [
        ("customer", "cus_1", "deleted", "customer.deleted", None),
        ("discount", "di_1", "deleted", "customer.discount.deleted", None),
        ("payment_method", "pm_1", "detached", "payment_method.detached", "cus_2"),
    ]
