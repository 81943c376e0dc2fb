"""Someone reading the DuckDB file while a load writes it, in a process of their own (DuckDB
opens a file once per process): `python -m stripe_assets_tests.reader_support MODE DB ...`.

    hold DB SECONDS   open read-only, print "ready", keep it open SECONDS, close, print the
                      closing time (Unix seconds) -- a notebook left open for a while
    poll DB STOP      print "ready", then until the file STOP exists: open read-only, count
                      stripe.charges, close, sleep 10 ms; then print {"reads": [when, ...],
                      "refused": n} -- a UI refreshing, a notebook cell run again and again
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

from stripe_assets.database import open_database


def hold(db: str, seconds: float) -> None:
    connection = open_database(db)
    connection.execute("SELECT count(*) FROM stripe.charges").fetchall()
    print("ready", flush=True)
    time.sleep(seconds)
    connection.close()
    print(time.time(), flush=True)


def poll(db: str, stop: Path) -> None:
    reads: list[float] = []
    refused = 0
    print("ready", flush=True)
    while not stop.exists():
        try:
            with open_database(db) as connection:
                connection.execute("SELECT count(*) FROM stripe.charges").fetchall()
            reads.append(time.time())
        except duckdb.Error:  # the writer has the file: a reader's problem, retried next time
            refused += 1
        time.sleep(0.01)
    print(json.dumps({"reads": reads, "refused": refused}), flush=True)


if __name__ == "__main__":
    mode, database, argument = sys.argv[1:4]
    if mode == "hold":
        hold(database, float(argument))
    else:
        poll(database, Path(argument))
