"""Which tables an event makes stale: a pure function of the events, no I/O.

An event is routed by the object it carries (`data.object.object`), never by its name: a
`charge.refund.updated` event carries a refund, so it makes `refunds` stale, not `charges`.
A day-partitioned table is stale on the UTC day of the object's own `created` (the partition the
object lives in), not on the day of the event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from stripe_assets.endpoints import ENDPOINTS, FULL_REFRESH, PARTITIONED

EVENTS = "events"
# Stripe's `object` value -> the table holding such objects.
PARTITIONED_BY_OBJECT: dict[str, str] = {ENDPOINTS[n].object_type: n for n in PARTITIONED}
FULL_REFRESH_BY_OBJECT: dict[str, str] = {ENDPOINTS[n].object_type: n for n in FULL_REFRESH}
# stripe.payment_methods holds the saved methods of the customers in stripe.customers: when a
# customer is deleted, its methods leave that table on the next refresh.
ALSO_REFRESH_ON_EVENT: dict[str, str] = {"customer.deleted": "payment_methods"}


def utc_day(ts: int | float) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


@dataclass(frozen=True)
class Skipped:
    """An event that asks for a partition this project cannot or need not load."""

    event_id: str
    table: str
    object_id: str
    day: date | None  # None: the object has no usable `created`


@dataclass
class Routing:
    """What a batch of events makes stale, and what was left out (for the log)."""

    days: dict[str, set[date]] = field(default_factory=dict)  # table -> object days
    full_refresh: set[str] = field(default_factory=set)  # unpartitioned tables
    ignored_types: Counter[str] = field(default_factory=Counter)  # objects we do not load
    before_first_day: list[Skipped] = field(default_factory=list)
    no_created: list[Skipped] = field(default_factory=list)
    # Objects dated after the last partition (another clock ahead of ours): routed next tick.
    deferred_event_ids: set[str] = field(default_factory=set)

    def add_day(self, table: str, day: date) -> None:
        self.days.setdefault(table, set()).add(day)

    @property
    def is_empty(self) -> bool:
        return not self.days and not self.full_refresh


def route_events(
    events: Iterable[Mapping[str, Any]], *, first_day: date, last_day: date
) -> Routing:
    """Route events to (table, day) partitions and full refreshes.

    `first_day`/`last_day`: the partitions that exist. The `events` table itself is stale on the
    event's own day.
    """
    routing = Routing()
    for event in events:
        event_id = str(event.get("id"))
        obj = (event.get("data") or {}).get("object") or {}
        kind = obj.get("object")
        object_id = str(obj.get("id"))
        event_day = utc_day(int(event["created"]))
        if event_day > last_day:
            routing.deferred_event_ids.add(event_id)
            continue
        if kind in PARTITIONED_BY_OBJECT:
            table = PARTITIONED_BY_OBJECT[kind]
            created = obj.get("created")
            if not isinstance(created, int | float) or isinstance(created, bool):
                routing.no_created.append(Skipped(event_id, table, object_id, None))
            elif (day := utc_day(created)) < first_day:
                routing.before_first_day.append(Skipped(event_id, table, object_id, day))
            elif day > last_day:
                routing.deferred_event_ids.add(event_id)
                continue
            else:
                routing.add_day(table, day)
        elif kind in FULL_REFRESH_BY_OBJECT:
            routing.full_refresh.add(FULL_REFRESH_BY_OBJECT[kind])
        else:
            routing.ignored_types[str(kind)] += 1
        if (extra := ALSO_REFRESH_ON_EVENT.get(str(event.get("type")))) is not None:
            routing.full_refresh.add(extra)
        if event_day >= first_day:
            routing.add_day(EVENTS, event_day)
    return routing
