"""Every environment variable the project reads, with its default, in one place."""

import math
import os
import re
from datetime import date, datetime
from pathlib import Path

STRIPE_API_BASE_DEFAULT = "https://api.stripe.com"
DB_PATH_DEFAULT = "data/stripe.duckdb"
START_DATE_DEFAULT = "2020-01-01"
# Pinned so that every row has the same shape whatever the account's default version is.
STRIPE_VERSION_DEFAULT = "2024-06-20"
# A change every two minutes shows the events sensor (30 s ticks) at work within minutes,
# without a run every minute on a laptop.
SANDBOX_ACTIVITY_SECONDS_DEFAULT = 120.0


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message says how to fix it."""


def read_dotenv() -> None:
    """Read ./.env as `dagster dev` does, so that `stripe-assets`, `dagster dev` and
    `open_database()` see the same settings. python-dotenv comes with dagster; variables
    already set in the environment win."""
    from dotenv import load_dotenv

    load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)


# A date, and since 2024-09-30 a release name too (2025-03-31.basil).
API_VERSION_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")


def stripe_version() -> str:
    """STRIPE_VERSION: the Stripe-Version every request pins (the shape of the objects)."""
    raw = os.environ.get("STRIPE_VERSION") or STRIPE_VERSION_DEFAULT
    if not API_VERSION_FORMAT.fullmatch(raw.strip()):
        raise SettingsError(
            f"STRIPE_VERSION={raw!r} is not a Stripe API version, which is a date such as"
            f" {STRIPE_VERSION_DEFAULT} (newer ones add a name: 2025-03-31.basil). Pick one"
            f" from https://docs.stripe.com/upgrades, or unset it to use {STRIPE_VERSION_DEFAULT},"
            " the version this project's tables are built for."
        )
    return raw.strip()


def stripe_account() -> str | None:
    """STRIPE_ACCOUNT (acct_...): read a Connect account through the platform's key."""
    return os.environ.get("STRIPE_ACCOUNT") or None


def requests_per_second() -> float | None:
    """STRIPE_REQUESTS_PER_SECOND overrides the client's rate limit (25/s test, 100/s live)."""
    return _positive_rate("STRIPE_REQUESTS_PER_SECOND")


def endpoint_requests_per_second() -> float | None:
    """STRIPE_ENDPOINT_REQUESTS_PER_SECOND paces each endpoint from the first request (else
    an endpoint is paced at 25/s once Stripe answers it with an endpoint 429)."""
    return _positive_rate("STRIPE_ENDPOINT_REQUESTS_PER_SECOND")


def _positive_rate(name: str) -> float | None:
    raw = os.environ.get(name)
    if not raw:
        return None
    value = _number(raw)
    if value is None or value <= 0:
        raise SettingsError(f"{name}={raw!r} must be a positive number, e.g. 25.")
    return value


def sandbox_activity_seconds() -> float:
    """STRIPE_SANDBOX_ACTIVITY_SECONDS: `stripe-assets dev`'s sandbox makes a change (a refund,
    a customer update, ...) this often on average, for the events sensor to show; 0: none."""
    raw = os.environ.get("STRIPE_SANDBOX_ACTIVITY_SECONDS")
    if not raw:
        return SANDBOX_ACTIVITY_SECONDS_DEFAULT
    value = _number(raw)
    if value is None or value < 0:
        raise SettingsError(
            f"STRIPE_SANDBOX_ACTIVITY_SECONDS={raw!r} must be a number of seconds, e.g. 60, or "
            "0 for an account that does not change."
        )
    return value


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def db_path() -> Path:
    return Path(os.environ.get("STRIPE_ASSETS_DB") or DB_PATH_DEFAULT)


def api_base() -> str:
    return os.environ.get("STRIPE_API_BASE") or STRIPE_API_BASE_DEFAULT


def start_date() -> date:
    """First daily partition: STRIPE_START_DATE, as YYYY-MM-DD."""
    raw = os.environ.get("STRIPE_START_DATE") or START_DATE_DEFAULT
    return parse_day(raw, "STRIPE_START_DATE")


def parse_day(raw: str, what: str) -> date:
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise SettingsError(
            f"{what}={raw!r} is not a date: use the form YYYY-MM-DD, e.g. 2023-01-31."
        ) from None
