"""Deletions seen in the event log, as rows: a deleted customer is data, not an absence.

Stripe lists hide deleted objects, so after a re-list a deleted customer simply vanishes from
stripe.customers. This table keeps the fact: which object, when, and the event that said so.
It lives in `analytics` because it is derived (SQL over stripe.events, nothing fetched); the
`stripe` schema mirrors Stripe's endpoints one to one.
"""

import dagster as dg

from stripe_assets.assets.analytics import ANALYTICS_GROUP
from stripe_assets.assets.schemas import schema_metadata
from stripe_assets.automation.conditions import ANALYTICS_CONDITION
from stripe_assets.columns import Column
from stripe_assets.io_manager.spool import SqlTable

DETACHED = "payment_method.detached"
# `*.deleted` events whose object lives on: a subscription that ended is still retrievable,
# with status `canceled`.
NOT_DELETIONS = ("customer.subscription.deleted",)

DELETED_OBJECTS_SQL = f"""
SELECT data->>'$.object.object' AS object_type,
       data->>'$.object.id' AS object_id,
       CASE WHEN type = '{DETACHED}' THEN 'detached' ELSE 'deleted' END AS change,
       created AS deleted_at,
       id AS event_id,
       type AS event_type,
       -- the customer a payment method was detached from (the event's object no longer says)
       CASE WHEN type = '{DETACHED}'
            THEN data->>'$.previous_attributes.customer' END AS detached_from_customer,
       livemode
FROM stripe.events
WHERE (type LIKE '%.deleted' AND type NOT IN ({", ".join(f"'{t}'" for t in NOT_DELETIONS)}))
   OR type = '{DETACHED}'
ORDER BY deleted_at, event_id
"""

DELETED_OBJECTS_COLUMNS = {
    "object_type": Column("VARCHAR", "The deleted object's type: customer, product, ..."),
    "object_id": Column("VARCHAR", "Its Stripe id (cus_..., pm_...)."),
    "change": Column("VARCHAR", "'deleted', or 'detached' for a payment method."),
    "deleted_at": Column("TIMESTAMPTZ", "When it happened: the event's `created` (UTC)."),
    "event_id": Column("VARCHAR", "The event (evt_...) that said so."),
    "event_type": Column("VARCHAR", "customer.deleted, payment_method.detached, ..."),
    "detached_from_customer": Column("VARCHAR", "For a detached payment method: the customer "
                                     "it was detached from."),
    "livemode": Column("BOOLEAN", "True for live data, false for test data."),
}


@dg.asset(
    key=["analytics", "deleted_objects"],
    group_name=ANALYTICS_GROUP,
    description=(
        "Objects deleted in Stripe, as seen in the event log: every `*.deleted` event "
        "(customer.deleted, product.deleted, ...) but customer.subscription.deleted (an ended "
        "subscription is not deleted: it stays, `canceled`), and `payment_method.detached`, with "
        "object_type, object_id, change ('deleted' or 'detached'), deleted_at (the event's "
        "time), event_id and event_type. As complete as stripe.events: deletions older than "
        "the first loaded event (Stripe serves 30 days of events) are not known."
    ),
    kinds={"duckdb", "sql"},
    owners=["team:data-engineering"],
    deps=[dg.AssetKey(["stripe", "events"])],
    metadata=schema_metadata(DELETED_OBJECTS_COLUMNS),
    automation_condition=ANALYTICS_CONDITION,
    code_version="2",
)
def deleted_objects() -> SqlTable:
    return SqlTable(DELETED_OBJECTS_SQL)
