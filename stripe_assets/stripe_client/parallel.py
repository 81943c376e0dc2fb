"""Fetching a `created` range with many requests in flight, under the shared rate limit.

A sequential paginator waits one round trip per page and so uses a fraction of Stripe's rate
limit. Here the range is cut into windows fetched concurrently; a window that turns out dense
is split again while workers are idle and the rate limit has room to spare:

    window [a, b), after a page whose oldest object has created = t (t >= a):
      the rest of the window is [a, t] after the cursor. With a < m1 < ... < mk <= t:
        [a, m1), ... [m(k-1), mk)  from their start, no cursor (all after the cursor)
        [mk, b) + cursor           continues where the page ended
    These are disjoint and cover the rest exactly, so no object is missed or repeated.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeVar

from stripe_assets.endpoints import Endpoint
from stripe_assets.stripe_client.errors import StripeResponseError
from stripe_assets.stripe_client.page import Page
from stripe_assets.stripe_client.resource import StripeClient

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class _Window:
    start: int  # created >= start
    end: int  # created < end
    cursor: str | None = None


def fetch_created_range(
    client: StripeClient,
    endpoint: Endpoint,
    start: int,
    end: int,
    on_page: Callable[[Page], None],
    workers: int | None = None,
) -> None:
    """Call `on_page` (from worker threads) for every page of objects created in [start, end)."""
    workers = workers or client.effective_max_workers()
    limiter = client.rate_limiter()
    endpoint_paces = client.endpoint_paces()

    def wanted() -> int:
        # Little's law: the limit is used up with rate x round trip requests in flight. Every
        # window ends on a partial page (a request for less than 100 objects), so open no
        # more windows than that, with a margin for jitter. The endpoint's own limit, once
        # it has one, is the one to fill.
        rate = min(limiter.limit, endpoint_paces.rate(endpoint.path) or limiter.limit)
        round_trip = client.round_trip_seconds or ASSUMED_ROUND_TRIP_SECONDS
        return max(2, min(workers, math.ceil(rate * round_trip * IN_FLIGHT_MARGIN)))

    initial = _even_windows(start, end, wanted())
    queue: deque[_Window] = deque(initial)
    lock = threading.Lock()
    active = 0
    done = threading.Event()
    failed = threading.Event()  # one window failed: the others stop after their current page
    # Every window's failure, recorded by the window itself: windows split off during the
    # fetch start on threads of their own, and must fail the range as the first ones do.
    errors: list[BaseException] = []

    def run(window: _Window) -> None:
        nonlocal active
        try:
            current: _Window | None = window
            while current is not None and not failed.is_set():
                current = _fetch_one_page(current)
        except BaseException as error:
            with lock:
                errors.append(error)
                queue.clear()
            failed.set()
            raise
        finally:
            with lock:
                active -= 1
                _dispatch()

    def _fetch_one_page(window: _Window) -> _Window | None:
        params = {"starting_after": window.cursor} if window.cursor else None
        pages = client.list_pages(endpoint, created_gte=window.start, created_lt=window.end,
                                  params=params)
        page = next(iter(pages))
        pages.close()  # one page at a time: the next request depends on what we decide now
        on_page(page)
        if not page.has_more:
            return None
        t, cursor = page.summary.oldest_created, page.summary.last_id
        if t is None or cursor is None:
            raise StripeResponseError(
                f"GET {endpoint.path} returned a page whose last object has no integer `created`"
                f" (Request-Id {page.request_id}); a `created` range cannot be paged through"
                " without it. Check STRIPE_API_BASE."
            )
        with lock:
            room = wanted() - active - len(queue)
            parts = _split_parts(page, window, t, room + 1) if room > 0 else 1
            if parts > 1:
                # [a, b1) ... [b(k-2), b(k-1)) from their start; [b(k-1), end) after the cursor
                a = window.start
                bounds = [a + (t - a + 1) * i // parts for i in range(parts)]
                queue.extend(_Window(lo, hi) for lo, hi in pairwise(bounds))
                _dispatch()
                return _Window(bounds[-1], window.end, cursor)
        return _Window(window.start, window.end, cursor)

    def _dispatch() -> None:
        # Called with `lock` held: start queued windows while workers are free.
        nonlocal active
        while queue and active < workers:
            active += 1
            pool.submit(run, queue.popleft())
        if not queue and active == 0:
            done.set()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"stripe-{endpoint.name}") \
            as pool:
        with lock:
            _dispatch()
        while not done.wait(timeout=0.5):  # a timeout, so that Ctrl-C is not held up
            pass
    if errors:
        raise errors[0]


# A split costs about one request (each window ends on a partial page): only into parts
# expected to hold a page or more.
SPLIT_PART_OBJECTS = 100
# Before the first answer; slower servers get more windows by splitting once it is known.
ASSUMED_ROUND_TRIP_SECONDS = 0.2
IN_FLIGHT_MARGIN = 1.2


def _split_parts(page: Page, window: _Window, t: int, most: int) -> int:
    """Into how many windows to cut the rest [window.start, t], judged by the density of the
    page just read: up to `most`, each expected to hold SPLIT_PART_OBJECTS or more."""
    if t <= window.start:
        return 1
    newest = page.summary.newest_created if page.summary.newest_created is not None else t
    density = page.count / max(1, newest - t)
    expected = (t - window.start) * density
    return max(1, min(most, int(expected // SPLIT_PART_OBJECTS), t - window.start + 1))


def fan_out(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """Run `fn` over items concurrently (the client's limiter paces the requests)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(fn, items))


def _even_windows(start: int, end: int, count: int) -> list[_Window]:
    if end <= start:
        return []
    count = max(1, min(count, end - start))
    step = (end - start) / count
    bounds = [start + round(i * step) for i in range(count)] + [end]
    # Newest first: recent windows are usually the densest, start them first.
    return [_Window(a, b) for a, b in reversed(list(pairwise(bounds))) if b > a]
