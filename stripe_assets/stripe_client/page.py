"""One Stripe list response, read without turning its objects into Python dicts.

A page of 100 charges is ~250 KB of JSON. The loader needs only a few facts from it (how many
objects, has every one an id, the cursor, the `created` span) and stores the raw body, so the
body is parsed with simdjson, whose lazy document answers those questions ~10x faster than
`json.loads` builds dicts it would throw away. `Page.objects` still gives the dicts to the few
callers that want them (events polling, payment_methods), parsed on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import simdjson


@dataclass(frozen=True)
class ListSummary:
    """What the client needs to know about a list body; `data_is_list` False: not a list."""

    data_is_list: bool
    count: int = 0
    without_id: int = 0  # objects that are not JSON objects with a non-empty string `id`
    has_more: bool = False
    last_id: str | None = None
    newest_created: int | None = None  # `created` of the first object (lists are newest first)
    oldest_created: int | None = None  # `created` of the last object


def summarize_list(body: bytes) -> ListSummary:
    """Raises ValueError if the body is not JSON."""
    # A fresh parser per body: a simdjson parser cannot be reused while any proxy into its
    # document is alive, and the cost of one is negligible next to the parse.
    try:
        document = simdjson.Parser().parse(body)
    except RuntimeError:  # simdjson's BIGINT_ERROR: an integer beyond 64 bits (valid JSON)
        document = json.loads(body)
    if not isinstance(document, simdjson.Object | dict):
        return ListSummary(data_is_list=False)
    data = document.get("data")
    if not isinstance(data, simdjson.Array | list):
        return ListSummary(data_is_list=False)
    count = len(data)
    without_id = sum(1 for o in data if not _id_of(o))
    return ListSummary(
        data_is_list=True,
        count=count,
        without_id=without_id,
        has_more=bool(document.get("has_more")),
        last_id=_id_of(data[count - 1]) if count else None,
        newest_created=_created_of(data[0]) if count else None,
        oldest_created=_created_of(data[count - 1]) if count else None,
    )


def _id_of(item: Any) -> str | None:
    """The object's `id` if it is a non-empty string."""
    value = item.get("id") if isinstance(item, simdjson.Object | dict) else None
    return value if isinstance(value, str) and value else None


def _created_of(item: Any) -> int | None:
    value = item.get("created") if isinstance(item, simdjson.Object | dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Page:
    """One list response: the raw body (stored as it came) and what the client read from it."""

    body: bytes
    summary: ListSummary
    request_id: str | None

    @property
    def has_more(self) -> bool:
        return self.summary.has_more

    @property
    def count(self) -> int:
        return self.summary.count

    @cached_property
    def objects(self) -> list[dict[str, Any]]:
        """The objects as dicts, parsed from the body on first use."""
        data: list[dict[str, Any]] = json.loads(self.body)["data"]
        return data
