"""Stripe event envelopes, kept as byte fragments around the object's own JSON.

An event's `data.object` is the object's JSON at event time. Keeping the envelope as
(prefix, object bytes, suffix) lets an event share the object's bytes instead of copying them:
a million events then cost their envelopes only, and a later change to the object (which gets
new bytes) leaves the event's snapshot as it was, as Stripe's events do.
"""

from __future__ import annotations

import json
from typing import Any

from stripe_assets.sandbox.shapes import ACCOUNT_API_VERSION

EventParts = tuple[bytes, bytes, bytes]


def _str_or_null(value: str | None) -> str:
    return "null" if value is None else json.dumps(value)


def event_parts(
    event_id: str,
    created: int,
    event_type: str,
    object_json: bytes,
    *,
    request_id: str | None = None,
    idempotency_key: str | None = None,
    previous_attributes: dict[str, Any] | None = None,
    api_version: str = ACCOUNT_API_VERSION,
) -> EventParts:
    """The three fragments whose concatenation is the event's JSON."""
    prefix = (
        f'{{"id":"{event_id}","object":"event","api_version":"{api_version}",'
        f'"created":{created},"data":{{"object":'
    ).encode()
    previous = ""
    if previous_attributes is not None:
        previous = ',"previous_attributes":' + json.dumps(
            previous_attributes, separators=(",", ":"), ensure_ascii=False
        )
    suffix = (
        f'{previous}}},"livemode":false,"pending_webhooks":0,'
        f'"request":{{"id":{_str_or_null(request_id)},'
        f'"idempotency_key":{_str_or_null(idempotency_key)}}},"type":"{event_type}"}}'
    ).encode()
    return (prefix, object_json, suffix)
