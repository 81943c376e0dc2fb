"""A worker process holding the DuckDB file's write lock (importable, for `spawn`)."""

from __future__ import annotations

import time
from typing import Any

import duckdb


def hold_write_lock(db: str, seconds: float, ready: Any) -> None:
    connection = duckdb.connect(db)  # read-write: the exclusive file lock
    ready.set()
    time.sleep(seconds)
    connection.close()
