"""The sandbox account in memory, with Stripe's list semantics.

Each object is kept as its JSON bytes (serialised once) plus a sort key. A list keeps its keys
in one ascending Python list, so any page is a bisect plus `limit` steps, whatever the size:
O(log n + limit) for 500k charges as for 50.

Order: Stripe lists newest first. Objects created in the same second are ordered by when they
were added (a sequence number), newest first, so the order is total and stable.
"""

from __future__ import annotations

import heapq
import json
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from stripe_assets.endpoints import ENDPOINTS

Body = bytes | tuple[bytes, ...]

# Per-list fields Stripe lets a caller filter on with `?field=value`; the generator supplies
# an item's values for these, in this order, as `attrs`.
FILTER_FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("email",),
    "charges": ("customer", "payment_intent"),
    "payment_intents": ("customer",),
    "payment_methods": ("customer", "type"),
    "setup_intents": ("customer", "payment_method"),
    "refunds": ("charge", "payment_intent"),
    "payment_links": ("active",),
    "payouts": ("status",),
    "events": ("type",),
}

_SEQ_BITS = 32
_KEY_MAX = 1 << 100  # above any key: "no upper bound"


def make_key(created: int, seq: int) -> int:
    """One int that sorts like (created, seq): cheap to store and to bisect."""
    return (created << _SEQ_BITS) | seq


def key_created(key: int) -> int:
    return key >> _SEQ_BITS


class Item:
    """One stored object: its id, list, sort key, JSON bytes and filterable values."""

    __slots__ = ("attrs", "body", "deleted", "id", "key", "kind")

    def __init__(self, id: str, kind: str, key: int, body: Body, attrs: tuple[Any, ...]):
        self.id = id
        self.kind = kind  # endpoint name: "charges"
        self.key = key
        self.body = body  # bytes, or fragments to concatenate (events)
        self.attrs = attrs
        self.deleted = False

    @property
    def created(self) -> int:
        return key_created(self.key)

    def json_bytes(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else b"".join(self.body)

    def to_dict(self) -> dict[str, Any]:
        obj: dict[str, Any] = json.loads(self.json_bytes())
        return obj

    def attr(self, field: str) -> Any:
        return self.attrs[FILTER_FIELDS[self.kind].index(field)]


class Collection:
    """Items of one list in ascending key order, with lazily built per-field sub-lists."""

    def __init__(self, name: str):
        self.name = name
        self.keys: list[int] = []
        self.items: list[Item] = []
        self._by: dict[str, dict[Any, Collection]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: Item) -> None:
        if not self.keys or item.key > self.keys[-1]:
            self.keys.append(item.key)
            self.items.append(item)
            # Newest of all, so also newest of its sub-lists: extend them rather than
            # rebuilding (a write must not cost a scan of a million events).
            for field, index in self._by.items():
                value = item.attrs[FILTER_FIELDS[self.name].index(field)]
                sub = index.get(value)
                if sub is None:
                    sub = index[value] = Collection(self.name)
                sub.keys.append(item.key)
                sub.items.append(item)
        else:  # an object dated before the newest one (e.g. a clock set in the past): rare
            i = bisect_left(self.keys, item.key)
            self.keys.insert(i, item.key)
            self.items.insert(i, item)
            self._by.clear()

    def invalidate(self) -> None:
        """Drop the sub-lists: an item's filterable values changed."""
        self._by.clear()

    def by(self, field: str) -> dict[Any, Collection]:
        """Sub-lists by the value of `field` (e.g. charges by customer), built on first use."""
        index = self._by.get(field)
        if index is None:
            position = FILTER_FIELDS[self.name].index(field)
            index = {}
            for item in self.items:
                value = item.attrs[position]
                sub = index.get(value)
                if sub is None:
                    sub = index[value] = Collection(self.name)
                sub.keys.append(item.key)
                sub.items.append(item)
            self._by[field] = index
        return index

    def iter_desc(self, lo: int, hi: int) -> Iterator[Item]:
        """Visible items with lo <= key < hi, newest first."""
        keys, items = self.keys, self.items
        j = bisect_left(keys, hi) - 1
        while j >= 0 and keys[j] >= lo:
            item = items[j]
            if not item.deleted:
                yield item
            j -= 1

    def iter_asc(self, lo: int, hi: int) -> Iterator[Item]:
        """Visible items with lo <= key < hi, oldest first."""
        keys, items = self.keys, self.items
        j = bisect_left(keys, lo)
        n = len(keys)
        while j < n and keys[j] < hi:
            item = items[j]
            if not item.deleted:
                yield item
            j += 1


@dataclass(frozen=True)
class PageQuery:
    """A validated list request. created bounds are Unix seconds: lo inclusive, hi exclusive."""

    limit: int = 10
    starting_after: Item | None = None
    ending_before: Item | None = None
    created_lo: int | None = None
    created_hi: int | None = None


def select_page(
    collections: list[Collection],
    query: PageQuery,
    keep: Callable[[Item], bool] | None = None,
) -> tuple[list[Item], bool]:
    """The items of one page, newest first, and Stripe's `has_more`.

    Several collections (events of several types) are merged by key. `starting_after` pages
    towards older objects, `ending_before` towards newer ones; in both cases `has_more` says
    whether more objects lie further in that direction. `keep` filters items on the way
    (a second `?field=value` filter): cheap when it keeps most items.
    """
    lo = 0 if query.created_lo is None else make_key(query.created_lo, 0)
    hi = _KEY_MAX if query.created_hi is None else make_key(query.created_hi, 0)
    take = query.limit + 1  # one extra tells has_more
    if query.ending_before is not None:
        lo = max(lo, query.ending_before.key + 1)
        ascending = _merge([c.iter_asc(lo, hi) for c in collections], reverse=False)
        items = _first(ascending, take, keep)
        has_more = len(items) > query.limit
        return items[: query.limit][::-1], has_more
    if query.starting_after is not None:
        hi = min(hi, query.starting_after.key)
    descending = _merge([c.iter_desc(lo, hi) for c in collections], reverse=True)
    items = _first(descending, take, keep)
    return items[: query.limit], len(items) > query.limit


def _merge(iterators: list[Iterator[Item]], reverse: bool) -> Iterator[Item]:
    if not iterators:
        return iter(())
    if len(iterators) == 1:
        return iterators[0]
    return heapq.merge(*iterators, key=attrgetter("key"), reverse=reverse)


def _first(iterator: Iterator[Item], n: int, keep: Callable[[Item], bool] | None) -> list[Item]:
    out = []
    for item in iterator:
        if keep is not None and not keep(item):
            continue
        out.append(item)
        if len(out) == n:
            break
    return out


def render_list(items: Iterable[Item], has_more: bool, url: str) -> bytes:
    """Stripe's list envelope around already-serialised objects: a join, no re-encoding."""
    parts: list[bytes] = [b'{"object":"list","data":[']
    first = True
    for item in items:
        if not first:
            parts.append(b",")
        first = False
        body = item.body
        if isinstance(body, bytes):
            parts.append(body)
        else:
            parts.extend(body)
    parts.append(b'],"has_more":')
    parts.append(b"true" if has_more else b"false")
    parts.append(b',"url":"' + url.encode() + b'"}')
    return b"".join(parts)


class Store:
    """Every object of the account, by list and by id. Thread safe through `lock`."""

    def __init__(self, config: Any = None) -> None:
        self.config = config  # the SandboxConfig it was generated from, if any
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {name: Collection(name) for name in ENDPOINTS}
        self.by_id: dict[str, Item] = {}
        self._seq = 0

    def add(self, kind: str, created: int, id: str, body: Body, attrs: tuple[Any, ...]) -> Item:
        """Store a new object; among objects of the same second it becomes the newest."""
        if id in self.by_id:
            raise ValueError(f"duplicate id {id}")
        if len(attrs) != len(FILTER_FIELDS[kind]):
            raise ValueError(f"{kind} needs attrs for {FILTER_FIELDS[kind]}")
        with self.lock:
            self._seq += 1
            item = Item(id, kind, make_key(created, self._seq), body, attrs)
            self.collections[kind].add(item)
            self.by_id[id] = item
            return item

    def load(self, kind: str, records: Iterable[tuple[int, str, Body, tuple[Any, ...]]]) -> None:
        """Bulk add (created, id, body, attrs) records already in (created, order) order."""
        collection = self.collections[kind]
        if collection.items:
            raise ValueError(f"{kind} is already loaded")
        by_id, keys, items = self.by_id, collection.keys, collection.items
        width = len(FILTER_FIELDS[kind])
        seq = self._seq
        last = -1
        with self.lock:
            for created, id, body, attrs in records:
                seq += 1
                key = (created << _SEQ_BITS) | seq
                if key <= last or id in by_id or len(attrs) != width:
                    raise ValueError(f"bad record for {kind}: {id} (order, duplicate or attrs)")
                item = Item(id, kind, key, body, attrs)
                keys.append(key)
                items.append(item)
                by_id[id] = item
                last = key
            self._seq = seq

    def get(self, id: str, kind: str | None = None) -> Item | None:
        """The item with this id (deleted ones included), optionally only of one list."""
        item = self.by_id.get(id)
        if item is None or (kind is not None and item.kind != kind):
            return None
        return item

    def replace_body(self, item: Item, body: bytes, attrs: tuple[Any, ...] | None = None) -> None:
        """An object changed: new bytes (earlier events keep the old ones as snapshots)."""
        with self.lock:
            item.body = body
            if attrs is not None and attrs != item.attrs:
                item.attrs = attrs
                self.collections[item.kind].invalidate()

    def mark_deleted(self, item: Item) -> None:
        with self.lock:
            item.deleted = True

    # Conveniences for tests and tools: decoded objects, as a list would return them.
    def count(self, kind: str, include_deleted: bool = False) -> int:
        items = self.collections[kind].items
        if include_deleted:
            return len(items)
        return sum(1 for item in items if not item.deleted)

    def objects(self, kind: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """All objects of a list, newest first, decoded."""
        with self.lock:
            items = list(reversed(self.collections[kind].items))
        return [item.to_dict() for item in items if include_deleted or not item.deleted]

    list_all = objects  # the name some callers use

    def ids(self, kind: str) -> list[str]:
        """Ids of a list's visible objects, newest first: the order a full walk returns."""
        with self.lock:
            items = list(reversed(self.collections[kind].items))
        return [item.id for item in items if not item.deleted]

    def get_object(self, id: str) -> dict[str, Any] | None:
        item = self.by_id.get(id)
        return None if item is None else item.to_dict()
