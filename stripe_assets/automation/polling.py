"""Reading the event log for a tick: bounded in pages and time, newest first like every list.

Stripe lists newest first and has no ascending order, so a window cut short by the page budget
has been read from its newest end: what is left is [window start, oldest event read], which
the cursor keeps as backlog for the next ticks. Routing an event twice is harmless (it asks for
the same re-list), so de-duplication only saves runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stripe_assets.automation.cursor import EventsCursor
from stripe_assets.stripe_client import StripeClient

OVERLAP_SECONDS = 5 * 60  # events may show up in the list a little after their `created`
MAX_PAGES_PER_TICK = 20  # 2,000 events; a tick must end well inside Dagster's 60 s limit
TICK_SECONDS_BUDGET = 15.0  # no new page after this; a page in flight may add ~30 s
MAX_SEEN_IDS = 500  # de-duplication is an optimisation (re-routing is harmless): keep it small

Event = Mapping[str, Any]


@dataclass
class WindowRead:
    events: list[Event]
    pages: int
    complete: bool  # the whole window was read
    oldest: int | None = None  # `created` of the oldest event read, when not complete


Fetch = Callable[[int, int, int], WindowRead]  # (lo, hi, max pages) -> what was read


def fetch_window(
    client: StripeClient, lo: int, hi: int, max_pages: int, deadline: float
) -> WindowRead:
    """GET /v1/events?created[gte]=lo&created[lt]=hi, page by page, within the budgets."""
    read = WindowRead(events=[], pages=0, complete=False)
    pages = client.list_pages("events", created_gte=lo, created_lt=hi)
    try:  # a generator: closing it stops the pagination
        for page in pages:
            read.pages += 1
            read.events.extend(page.objects)
            if not page.has_more:
                read.complete = True
                break
            if read.pages >= max_pages or time.monotonic() >= deadline:
                break
    finally:
        pages.close()
    if not read.complete:
        read.oldest = min(int(e["created"]) for e in read.events)
    return read


@dataclass
class Poll:
    new_events: list[Event]  # not routed by an earlier tick
    pages: int
    backlog: list[tuple[int, int]] = field(default_factory=list)
    # (created, id) of events the next tick reads again: the overlap, a backlog's edge second.
    recent: list[tuple[int, str]] = field(default_factory=list)


def poll(cursor: EventsCursor, now: int, fetch: Fetch, max_pages: int) -> Poll:
    """Read the unread parts of the log within the page budget: the backlog first (oldest
    first: it is nearest to Stripe's 30-day horizon), then the new part, [through - overlap,
    now). In a burst new events wait a tick or two; what the budget does not reach stays in
    the backlog."""
    seen = set(cursor.seen)
    result = Poll(new_events=[], pages=0)
    head = (cursor.through - OVERLAP_SECONDS, now)
    windows = [(lo, hi, False) for lo, hi in cursor.backlog] + [(*head, True)]
    for lo, hi, is_head in windows:
        if lo >= hi:
            continue
        budget = max_pages - result.pages
        if budget <= 0:
            result.backlog.append((lo, hi))
            if is_head:  # still unread: keep knowing which of its events were routed
                result.recent.extend((cursor.through, i) for i in cursor.seen)
            continue
        read = fetch(lo, hi, budget)
        result.pages += read.pages
        for event in read.events:
            event_id = str(event["id"])
            if is_head and int(event["created"]) >= now - OVERLAP_SECONDS:
                # The next tick's overlap reads it again: remember it, routed now or before.
                result.recent.append((int(event["created"]), event_id))
            if event_id in seen:
                continue
            seen.add(event_id)
            result.new_events.append(event)
        if not read.complete and read.oldest is not None:
            # Events at the oldest second may be half read: that second is read again, and
            # the ones already routed are remembered.
            result.backlog.append((lo, read.oldest + 1))
            result.recent.extend(
                (read.oldest, str(e["id"])) for e in read.events
                if int(e["created"]) == read.oldest
            )
    result.backlog = merge_windows(result.backlog)
    return result


def merge_windows(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching [lo, hi) windows as one: the backlog stays a window or two."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def next_cursor(result: Poll, now: int, keep_unseen: set[str]) -> EventsCursor:
    """The cursor after a tick; `keep_unseen` are events to route again next time."""
    recent = sorted({(c, i) for c, i in result.recent if i not in keep_unseen}, reverse=True)
    seen = tuple(dict.fromkeys(i for _, i in recent))[:MAX_SEEN_IDS]
    return EventsCursor(through=now, seen=seen, backlog=tuple(result.backlog))
