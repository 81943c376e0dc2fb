"""Stripe objects on their way to DuckDB.

Pages are appended to a file on disk as they arrive, so a load's memory is bounded by a page,
not by the table, and the DuckDB file lock is taken only for the short final write (not for the
whole time the API is being read). DuckDB itself parses the file: no per-row Python work.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

# One pass over a page body: its line breaks (whitespace only, in JSON) become spaces.
_LINE_BREAKS_TO_SPACES = bytes.maketrans(b"\r\n", b"  ")

# (connection, qualified table name) -> extra metadata for the write.
TableSummary = Callable[["duckdb.DuckDBPyConnection", str], Mapping[str, Any]]


class ObjectSpool:
    """An append-only file of Stripe list envelopes: JSON values of the form {"data": [...]},
    one per line.

    Raw page bodies are written as they came from the API (no re-serialising), but on one line:
    a raw newline can only be whitespace in JSON, and one envelope per line lets DuckDB split
    the file without scanning for where each value ends (a third faster to stage). Objects
    fetched one by one are wrapped in an envelope. Thread safe: concurrent fetchers share one.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, prefix: str = "spool"):
        fd, name = tempfile.mkstemp(prefix=f"stripe-{prefix}-", suffix=".json", dir=directory)
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._lock = threading.Lock()
        self.object_count = 0
        self.page_count = 0

    def add_page_body(self, body: bytes, object_count: int) -> None:
        """Append one raw list response body (already validated by the caller)."""
        line = body.translate(_LINE_BREAKS_TO_SPACES)  # Stripe pretty-prints
        with self._lock:
            self._file.write(line)
            self._file.write(b"\n")
            self.object_count += object_count
            self.page_count += 1

    def add_objects(self, objects: list[dict[str, Any]]) -> None:
        if not objects:
            return
        self.add_page_body(json.dumps({"data": objects}).encode(), len(objects))

    def finish(self) -> Path:
        """Flush and close for writing; returns the path for DuckDB to read."""
        with self._lock:
            if not self._file.closed:
                self._file.close()
        return self.path

    def discard(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> ObjectSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


@dataclass
class StripeObjects:
    """What a Stripe asset returns: the spooled objects of one table or one slice of it.

    The IO manager turns the spool into typed DuckDB rows and deletes the spool afterwards.
    """

    spool: ObjectSpool
    api_version: str  # the Stripe-Version the objects were rendered in: `_stripe_api_version`
    extra_columns: dict[str, Any] = field(default_factory=dict)  # constant columns to add
    # name -> DuckDB type: columns the table always has, even when no object carries them yet
    # (an empty first load, or a field Stripe omits), so downstream SQL can rely on them.
    core_columns: dict[str, str] = field(default_factory=dict)
    # Whose data these are (StripeClient.data_source): a file holds one source's tables only.
    source: str | None = None


@dataclass(frozen=True)
class SqlTable:
    """What a derived asset returns: a SELECT that DuckDB runs to build the table in place.

    ``summarize``, if given, reads the built table (same connection and transaction) and
    returns extra metadata for the materialization, e.g. a chart of the result.
    """

    sql: str
    summarize: TableSummary | None = None
