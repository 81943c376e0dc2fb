"""The 30-day guard: Stripe keeps events for 30 days, so a sensor that was off longer than that
cannot know what changed. It then re-loads everything that may be stale, and says so loudly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

RETENTION_DAYS = 30
RETENTION_SECONDS = RETENTION_DAYS * 86400
# Fire a little before the edge: events right at the 30-day boundary may already be gone.
SAFETY_SECONDS = 3600


def retention_horizon(now: int) -> int:
    """The oldest moment whose events Stripe is still sure to serve."""
    return now - RETENTION_SECONDS + SAFETY_SECONDS


def beyond_retention(oldest_unread: int, now: int) -> bool:
    return oldest_unread < retention_horizon(now)


def served_beyond_retention(oldest_served: int, now: int) -> bool:
    """An event older than Stripe keeps came back: the server keeps more than Stripe does (the
    bundled sandbox can). Compared by the instant, not the day: Stripe serves the boundary day
    from `now - 30 days` on, which is part of a day before the first fetchable one."""
    return oldest_served < now - RETENTION_SECONDS - SAFETY_SECONDS


def first_fetchable_day(now: int) -> date:
    """The first UTC day whose events Stripe still serves in full."""
    horizon = datetime.fromtimestamp(retention_horizon(now), UTC)
    day = horizon.date()
    return day if horizon == datetime(day.year, day.month, day.day, tzinfo=UTC) else (
        day + timedelta(days=1)
    )


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def retention_message(oldest_unread: int, now: int, reloads: list[str]) -> str:
    days = (now - oldest_unread) / 86400
    return (
        f"stripe_events_sensor has read Stripe events only up to {iso(oldest_unread)}, "
        f"{days:.1f} days ago (was the sensor off?). Stripe keeps events for "
        f"{RETENTION_DAYS} days, so changes made between {iso(oldest_unread)} and "
        f"{iso(retention_horizon(now))} can no longer be read from events: any table may be "
        f"stale. Requesting a re-load of every partition that may be stale: "
        f"{'; '.join(reloads)}. Deletions in that gap will be missing from "
        "analytics.deleted_objects (their events are gone). Watching events again from "
        f"{iso(now)}."
    )
