"""The events sensor's pure parts: routing, day ranges, the cursor, paging and the 30-day guard."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import pytest

from stripe_assets.automation.cursor import CursorError, EventsCursor
from stripe_assets.automation.polling import (
    MAX_SEEN_IDS,
    OVERLAP_SECONDS,
    WindowRead,
    merge_windows,
    next_cursor,
    poll,
)
from stripe_assets.automation.ranges import contiguous_ranges
from stripe_assets.automation.retention import (
    RETENTION_SECONDS,
    beyond_retention,
    first_fetchable_day,
    served_beyond_retention,
)
from stripe_assets.automation.routing import route_events
from stripe_assets.automation.waiting_runs import ALL, Relied

FIRST, LAST = date(2024, 1, 1), date(2025, 7, 11)


def ts(day: str, hour: int = 12) -> int:
    return int(datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC).timestamp())


def event(
    kind: str, created: int, object_created: int | None = None, *, type_: str | None = None,
    event_id: str = "evt_1", object_id: str = "obj_1",
) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": object_id, "object": kind}
    if object_created is not None:
        obj["created"] = object_created
    return {"id": event_id, "object": "event", "created": created,
            "type": type_ or f"{kind}.updated", "data": {"object": obj}}


def route(*events: dict[str, Any]):
    return route_events(events, first_day=FIRST, last_day=LAST)


def test_an_event_is_routed_by_the_object_it_carries_not_by_its_name():
    # charge.refund.updated carries a refund: refunds is stale, charges is not.
    routing = route(event("refund", ts("2025-07-11"), ts("2025-07-11"),
                          type_="charge.refund.updated"))
    assert routing.days == {"refunds": {date(2025, 7, 11)}, "events": {date(2025, 7, 11)}}


def test_the_partition_is_the_day_of_the_objects_own_created_in_utc():
    refund_of_old_charge = event("charge", ts("2025-07-11"), ts("2025-02-03", hour=23),
                                 type_="charge.refunded")
    routing = route(refund_of_old_charge)
    assert routing.days["charges"] == {date(2025, 2, 3)}
    assert routing.days["events"] == {date(2025, 7, 11)}


def test_unpartitioned_tables_get_a_full_refresh():
    routing = route(event("payment_link", ts("2025-07-11")),
                    event("payment_method", ts("2025-07-11"), ts("2024-05-01"),
                          type_="payment_method.detached", event_id="evt_2"))
    assert routing.full_refresh == {"payment_links", "payment_methods"}
    assert set(routing.days) == {"events"}


def test_a_deleted_customer_also_refreshes_payment_methods_built_from_customers():
    routing = route(event("customer", ts("2025-07-11"), ts("2024-09-09"),
                          type_="customer.deleted"))
    assert routing.days["customers"] == {date(2024, 9, 9)}
    assert routing.full_refresh == {"payment_methods"}


def test_objects_the_project_does_not_load_are_ignored_and_counted():
    routing = route(event("invoice", ts("2025-07-11"), ts("2025-07-01")),
                    event("invoice", ts("2025-07-11"), ts("2025-07-01"), event_id="evt_2"),
                    event("balance_transaction", ts("2025-07-11"), ts("2025-07-01")))
    assert routing.ignored_types == {"invoice": 2, "balance_transaction": 1}
    assert set(routing.days) == {"events"}  # the events themselves are still stored


def test_objects_created_before_the_first_partition_are_skipped_and_reported():
    routing = route(event("charge", ts("2025-07-11"), ts("2023-06-30"), object_id="ch_old"))
    assert "charges" not in routing.days
    assert [(s.table, s.object_id, s.day) for s in routing.before_first_day] == [
        ("charges", "ch_old", date(2023, 6, 30))]


def test_an_object_without_created_is_reported_not_guessed():
    routing = route(event("charge", ts("2025-07-11"), None, object_id="ch_x"))
    assert "charges" not in routing.days
    assert [s.object_id for s in routing.no_created] == ["ch_x"]


def test_events_of_a_day_that_has_no_partition_yet_are_deferred():
    tomorrow = ts("2025-07-12", hour=0)
    routing = route(event("charge", tomorrow, tomorrow, event_id="evt_future"))
    assert routing.is_empty and routing.deferred_event_ids == {"evt_future"}


def test_contiguous_days_merge_into_one_range_and_gaps_stay_apart():
    days = [date(2025, 1, 3), date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 2),
            date(2025, 3, 1)]
    assert contiguous_ranges(days) == [(date(2025, 1, 1), date(2025, 1, 3)),
                                       (date(2025, 3, 1), date(2025, 3, 1))]
    assert contiguous_ranges([]) == []


def test_the_cursor_is_small_json_that_round_trips():
    cursor = EventsCursor(through=1_752_235_200, seen=("evt_a", "evt_b"),
                          backlog=((1_752_000_000, 1_752_100_000),),
                          relied=(Relied("run-1", dg.AssetKey(["stripe", "charges"]),
                                         ("2025-07-01", "2025-07-03")),
                                  Relied("run-2", dg.AssetKey(["stripe", "payment_links"]), ALL)))
    raw = cursor.to_json()
    assert EventsCursor.from_json(raw) == cursor
    assert EventsCursor.from_json(EventsCursor(through=5).to_json()) == EventsCursor(through=5)
    assert EventsCursor.from_json(None) is None and EventsCursor.from_json("") is None
    assert len(EventsCursor(through=1, seen=tuple(f"evt_{i:024d}" for i in range(MAX_SEEN_IDS))
                            ).to_json()) < 20_000


@pytest.mark.parametrize("raw", ["not json", '{"v": 99, "through": 1}', '{"v": 1}', "[1]"])
def test_an_unreadable_cursor_fails_loudly_with_how_to_reset_it(raw):
    with pytest.raises(CursorError, match="edit the cursor"):
        EventsCursor.from_json(raw)


class FakeLog:
    """Events newest first, read through the fetch protocol the sensor uses."""

    def __init__(self, events: list[dict[str, Any]], page_size: int = 2):
        newest_first = sorted(events, key=lambda e: e["created"], reverse=True)
        self.events: list[Mapping[str, Any]] = list(newest_first)
        self.page_size = page_size
        self.calls: list[tuple[int, int]] = []

    def fetch(self, lo: int, hi: int, max_pages: int) -> WindowRead:
        self.calls.append((lo, hi))
        window = [e for e in self.events if lo <= e["created"] < hi]
        limit = max_pages * self.page_size
        if len(window) <= limit:
            return WindowRead(window, max(1, -(-len(window) // self.page_size)), True)
        read = window[:limit]
        return WindowRead(read, max_pages, False, oldest=min(e["created"] for e in read))


def test_a_quiet_account_costs_one_request_and_moves_the_cursor_forward():
    log = FakeLog([])
    now = 10_000_000
    result = poll(EventsCursor(through=now - 30), now, log.fetch, max_pages=20)
    assert log.calls == [(now - 30 - OVERLAP_SECONDS, now)] and result.new_events == []
    assert next_cursor(result, now, set()) == EventsCursor(through=now)


def test_events_seen_in_the_overlap_are_not_routed_twice():
    now = 10_000_000
    log = FakeLog([event("charge", now - 100, now - 100, event_id="evt_old"),
                   event("charge", now - 10, now - 10, event_id="evt_new")])
    first = poll(EventsCursor(through=now - 60), now - 60, log.fetch, 20)
    assert [e["id"] for e in first.new_events] == ["evt_old"]
    cursor = next_cursor(first, now - 60, set())
    assert cursor.seen == ("evt_old",)
    second = poll(cursor, now, log.fetch, 20)
    assert [e["id"] for e in second.new_events] == ["evt_new"]
    assert set(next_cursor(second, now, set()).seen) == {"evt_old", "evt_new"}


def test_ids_older_than_the_overlap_leave_the_cursor():
    now = 10_000_000
    log = FakeLog([event("charge", now - OVERLAP_SECONDS - 50, 1, event_id="evt_gone")])
    result = poll(EventsCursor(through=now - 100, seen=("evt_gone",)), now, log.fetch, 20)
    assert next_cursor(result, now, set()).seen == ()


def test_deferred_events_are_not_marked_seen_so_a_later_tick_routes_them():
    now = 10_000_000
    log = FakeLog([event("charge", now - 5, now - 5, event_id="evt_d")])
    result = poll(EventsCursor(through=now - 30), now, log.fetch, 20)
    assert next_cursor(result, now, keep_unseen={"evt_d"}).seen == ()


def test_a_tick_cut_short_by_its_page_budget_keeps_the_rest_as_backlog_and_reads_it_next():
    now = 10_000_000
    events = [event("charge", now - 1000 + i * 100, 1, event_id=f"evt_{i}") for i in range(8)]
    log = FakeLog(events, page_size=2)
    cursor = EventsCursor(through=now - 1000 + OVERLAP_SECONDS)  # head starts at now - 1000
    first = poll(cursor, now, log.fetch, max_pages=2)
    assert [e["id"] for e in first.new_events] == ["evt_7", "evt_6", "evt_5", "evt_4"]
    assert first.backlog == [(now - 1000, now - 600 + 1)]
    cursor = next_cursor(first, now, set())
    second = poll(cursor, now + 30, log.fetch, max_pages=4)
    assert sorted(e["id"] for e in second.new_events) == ["evt_0", "evt_1", "evt_2", "evt_3"]
    assert second.backlog == []
    assert cursor.oldest_unread(OVERLAP_SECONDS) == now - 1000


def test_the_guard_tracks_the_time_polled_through_not_the_newest_event():
    now = 10_000_000_0
    # A quiet account: the newest event is 45 days old but the sensor polled a minute ago.
    quiet = EventsCursor(through=now - 60)
    assert not beyond_retention(quiet.oldest_unread(OVERLAP_SECONDS), now)
    switched_off = EventsCursor(through=now - RETENTION_SECONDS - 1)
    assert beyond_retention(switched_off.oldest_unread(OVERLAP_SECONDS), now)
    behind_in_backlog = EventsCursor(through=now - 60, backlog=((now - RETENTION_SECONDS, now),))
    assert beyond_retention(behind_in_backlog.oldest_unread(OVERLAP_SECONDS), now)


def test_only_whole_days_inside_the_retention_window_count_as_fetchable():
    now = ts("2025-07-31", hour=12)
    assert first_fetchable_day(now) == date(2025, 7, 2)


def test_events_from_the_partial_boundary_day_are_what_stripe_serves_not_a_longer_retention():
    now = ts("2025-07-31", hour=12)
    # Stripe serves 2025-07-01 from 12:00 on: a day before the first fetchable one, but no sign
    # that the server keeps more than 30 days.
    assert not served_beyond_retention(now - RETENTION_SECONDS + 60, now)
    assert not served_beyond_retention(ts("2025-07-01", hour=13), now)
    # From 2025-07-01 03:00: older than Stripe keeps, so this server keeps more (the sandbox).
    assert served_beyond_retention(ts("2025-07-01", hour=3), now)
    assert served_beyond_retention(ts("2025-06-01"), now)


def test_the_backlog_is_read_before_new_events_and_an_unread_head_joins_it():
    now = 10_000_000
    old = [event("charge", now - 900 + i, 1, event_id=f"evt_old{i}") for i in range(4)]
    new = event("charge", now - 10, 1, event_id="evt_new")
    log = FakeLog([*old, new], page_size=2)
    cursor = EventsCursor(through=now - 60, seen=("evt_seen",), backlog=((now - 900, now - 800),))
    result = poll(cursor, now, log.fetch, max_pages=2)
    assert [e["id"] for e in result.new_events] == ["evt_old3", "evt_old2", "evt_old1",
                                                    "evt_old0"]
    assert result.backlog == [(now - 60 - OVERLAP_SECONDS, now)]  # the head, for next tick
    assert next_cursor(result, now, set()).seen == ("evt_seen",)  # its routed ids kept


def test_overlapping_backlog_windows_merge():
    assert merge_windows([(50, 60), (1, 10), (10, 20), (15, 30)]) == [(1, 30), (50, 60)]
