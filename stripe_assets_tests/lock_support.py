"""A worker process holding the DuckDB file's write lock (importable, for `spawn`)."""

from __future__ import annotations

import time
from typing import Any

import duckdb


def hold_write_lock(db: str, seconds: float, ready: Any, release: Any = None) -> None:
    """Hold it for `seconds`, or, given a `release` event, until it is set (at most that)."""
    connection = duckdb.connect(db)  # read-write: the exclusive file lock
    ready.set()
    if release is None:
        time.sleep(seconds)
    else:
        release.wait(seconds)
    connection.close()
