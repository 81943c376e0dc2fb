"""The API cost of one materialization, as the metadata shown on it in the UI."""

from datetime import UTC, datetime
from typing import Any

import dagster as dg


def api_cost_metadata(cost: dict[str, float], api_version: str) -> dict[str, Any]:
    return {
        "stripe_requests": int(cost["requests"]),
        "stripe_pages": int(cost["pages"]),
        "stripe_objects_fetched": int(cost["objects"]),
        "stripe_retries": int(cost["retries"]),
        "stripe_429s": int(cost["rate_limited"]),
        "stripe_seconds_waited": round(float(cost["seconds_waited"]), 3),
        "stripe_api_version": api_version,
    }


def window_metadata(start: int, end: int) -> dict[str, Any]:
    def iso(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).isoformat()

    return {"created_window": dg.MetadataValue.text(f"[{iso(start)}, {iso(end)})")}


def full_refresh_metadata() -> dict[str, Any]:
    """The window of a table re-read whole: every object Stripe lists, whenever created."""
    return {"created_window": dg.MetadataValue.text("all (full refresh)")}
