"""Every environment variable the project reads, with its default, in one place."""

import os
from datetime import date, datetime
from pathlib import Path

STRIPE_API_BASE_DEFAULT = "https://api.stripe.com"
DB_PATH_DEFAULT = "data/stripe.duckdb"
START_DATE_DEFAULT = "2020-01-01"
# Pinned so that every row has the same shape whatever the account's default version is.
STRIPE_VERSION_DEFAULT = "2024-06-20"


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message says how to fix it."""


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
