"""Fetching a `created` range with many requests in flight, under the shared rate limit.

A sequential paginator waits one round trip per page and so uses a fraction of Stripe's rate
limit. Here the range is cut into windows fetched concurrently; a window that turns out dense
is split again while workers are idle:

    window [a, b), after a page whose oldest object has created = t (t >= a):
      the rest of the window is [a, t] after the cursor. With mid in (a, t]:
        [a, mid)            from the start, no cursor (all of it is after the cursor)
        [mid, b) + cursor   continues where the page ended
    These two are disjoint and cover the rest exactly, so no object is missed or repeated.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
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
    initial = _even_windows(start, end, workers)
    queue: deque[_Window] = deque(initial)
    lock = threading.Lock()
    active = 0
    done = threading.Event()
    failed = threading.Event()  # one window failed: the others stop after their current page
    futures: list[Future[None]] = []

    def run(window: _Window) -> None:
        nonlocal active
        try:
            current: _Window | None = window
            while current is not None and not failed.is_set():
                current = _fetch_one_page(current)
        except BaseException:
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
            idle = workers - active - len(queue)
            if idle > 0 and t > window.start and _worth_splitting(page, window, t):
                mid = window.start + (t - window.start + 1) // 2  # a < mid <= t
                queue.append(_Window(window.start, mid))
                _dispatch()
                return _Window(mid, window.end, cursor)
        return _Window(window.start, window.end, cursor)

    def _dispatch() -> None:
        # Called with `lock` held: start queued windows while workers are free.
        nonlocal active
        while queue and active < workers:
            active += 1
            futures.append(pool.submit(run, queue.popleft()))
        if not queue and active == 0:
            done.set()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"stripe-{endpoint.name}") \
            as pool:
        with lock:
            _dispatch()
        while not done.is_set():
            with lock:
                pending = list(futures)
            finished, _ = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            error = next((f.exception() for f in finished if f.exception() is not None), None)
            if error is not None:
                with lock:
                    queue.clear()
                raise error


# Each window ends on a partial page, so a split costs about one request: split only a rest
# expected to hold several pages.
SPLIT_MIN_OBJECTS = 300


def _worth_splitting(page: Page, window: _Window, t: int) -> bool:
    """Judge the rest [window.start, t] by the density of the page just read."""
    newest = page.summary.newest_created if page.summary.newest_created is not None else t
    density = page.count / max(1, newest - t)
    return (t - window.start) * density >= SPLIT_MIN_OBJECTS


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
