"""The local path alone: Stripe list responses already received -> committed DuckDB rows.

Fetches every charge page from a sandbox once (not timed), then times what our loader does
with each HTTP response body after it arrives, twice over the same bodies:

1. client: the client's page summary (`summarize_list`, simdjson) + validation
   (`_as_page`) + appending the raw body to the asset's spool (`ObjectSpool.add_page_body`),
   page by page as the fetch threads do;
2. write: the IO manager's `handle_output` for `stripe/charges` over the partition range of
   the data (one transaction: delete the slice, discover, type, insert, verify, commit), with the
   connection_config `stripe-assets load` gives it (resources.py: DuckDB's memory limit).

`--floor` also times the two costs no design can avoid once the bodies are spooled, to show how
far any JSON -> DuckDB write could get on this machine: one DuckDB pass that parses every body
(and nothing else), and storing the rows the run wrote, already typed, into a new database file
(same row-group size, one transaction). Client + parse + store is that floor. It also times
the write's typed INSERT alone with the column types known in advance ("known schema"): what a
write would cost if discovering the fields and their number ranges were free.

Run with the project's venv (it imports stripe_assets):

    .venv/bin/python benchmarks/bench_write.py                 # starts a 50,000-charge sandbox
    .venv/bin/python benchmarks/bench_write.py --base-url URL  # a running sandbox
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402
import duckdb  # noqa: E402
from benchlib import TEST_KEY, Machine, Sandbox  # noqa: E402

from stripe_assets.database import WRITE_ROW_GROUP_SIZE, open_database  # noqa: E402
from stripe_assets.io_manager import ObjectSpool, StripeDuckDBIOManager, StripeObjects  # noqa: E402
from stripe_assets.io_manager.sql import quote_ident, quote_literal  # noqa: E402
from stripe_assets.io_manager.type_mapping import json_transform_type  # noqa: E402
from stripe_assets.settings import STRIPE_VERSION_DEFAULT  # noqa: E402
from stripe_assets.stripe_client.page import summarize_list  # noqa: E402
from stripe_assets.stripe_client.resource import _as_page  # noqa: E402

PATH = "/v1/charges"


class StatementTimes:
    """--profile: wraps duckdb.connect so that every statement the IO manager runs is timed
    (execute plus fetch), to show where the write spends its time."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.rss_after: dict[str, int] = {}  # the process's RSS (MB) after the statement, max
        self._connect = duckdb.connect

    def install(self) -> None:
        times = self

        class Result:
            def __init__(self, result: Any, sql: str):
                self._result, self._sql = result, sql

            def __getattr__(self, name: str) -> Any:
                attr = getattr(self._result, name)
                if not name.startswith("fetch"):
                    return attr

                def fetch(*a: Any, **k: Any) -> Any:
                    began = time.perf_counter()
                    try:
                        return attr(*a, **k)
                    finally:
                        times.times[self._sql][-1] += time.perf_counter() - began
                        times.note_rss(self._sql)

                return fetch

        class Connection:
            def __init__(self, connection: Any):
                self._connection = connection

            def __getattr__(self, name: str) -> Any:
                return getattr(self._connection, name)

            def __enter__(self) -> Connection:
                return self

            def __exit__(self, *exc: object) -> None:
                self._connection.__exit__(*exc)

            def execute(self, sql: str, *a: Any, **k: Any) -> Any:
                key = " ".join(sql.split())
                key = re.sub(r"'[^']*\.json'", "'<spool>'", key)[:110]
                began = time.perf_counter()
                result = self._connection.execute(sql, *a, **k)
                times.times.setdefault(key, []).append(time.perf_counter() - began)
                times.note_rss(key)
                return Result(result, key)

        def connect(*a: Any, **k: Any) -> Any:
            return Connection(self._connect(*a, **k))

        duckdb.connect = connect  # type: ignore[assignment]

    def note_rss(self, key: str) -> None:
        self.rss_after[key] = max(self.rss_after.get(key, 0), current_rss_mb())

    def report(self, runs: int, top: int = 12) -> list[str]:
        rows = sorted(self.times.items(), key=lambda kv: -sum(kv[1]))
        total = sum(sum(v) for v in self.times.values()) / runs
        lines = [f"  {total:6.3f} s per write in {sum(len(v) for v in self.times.values()) // runs}"
                 " statements; the slowest (seconds per write, process RSS MB after it, SQL):"]
        lines += [f"  {sum(v) / runs:6.3f} {self.rss_after.get(k, 0):6,}  {k}"
                  for k, v in rows[:top]]
        return lines


def current_rss_mb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def fetch_bodies(base_url: str, key: str) -> list[bytes]:
    """Every page of /v1/charges, newest first, as the raw bytes the server sent."""
    bodies: list[bytes] = []
    cursor: str | None = None
    while True:
        query = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        request = urllib.request.Request(
            f"{base_url}{PATH}?{urllib.parse.urlencode(query)}",
            headers={"Authorization": f"Bearer {key}", "Stripe-Version": STRIPE_VERSION_DEFAULT},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        bodies.append(body)
        payload = json.loads(body)
        if not payload["has_more"]:
            return bodies
        cursor = payload["data"][-1]["id"]


def client_side(bodies: list[bytes], directory: Path) -> tuple[ObjectSpool, float]:
    """What the client and the asset do per response: parse, validate, spool the raw body."""
    spool = ObjectSpool(directory=directory, prefix="charges")
    began = time.perf_counter()
    for body in bodies:
        page = _as_page(PATH, body, summarize_list(body), None)
        spool.add_page_body(page.body, page.count)
    spool.finish()
    return spool, time.perf_counter() - began


def io_manager_write(spool: ObjectSpool, db_path: Path, first_day: str, last_day: str,
                     config: dict[str, str] | None = None) -> float:
    """The IO manager's handle_output of `stripe/charges` for the days [first_day, last_day]."""
    partitions = dg.DailyPartitionsDefinition(start_date=first_day, timezone="UTC", end_offset=1)
    context = dg.build_output_context(
        asset_key=dg.AssetKey(["stripe", "charges"]),
        definition_metadata={"partition_expr": "created"},
        asset_partitions_def=partitions,
        asset_partition_key_range=dg.PartitionKeyRange(first_day, last_day),
    )
    io_manager = project_io_manager(db_path, config or {}).create_io_manager(None)
    began = time.perf_counter()
    objects = StripeObjects(spool=spool, api_version=STRIPE_VERSION_DEFAULT)
    io_manager.handle_output(context, objects)
    return time.perf_counter() - began


def project_io_manager(db_path: Path, overrides: dict[str, str]) -> StripeDuckDBIOManager:
    """The IO manager as `stripe-assets load` configures it (resources.py), for `db_path`;
    `overrides` (--duckdb-config) are merged into its connection_config."""
    base = project_connection_config(db_path)
    return StripeDuckDBIOManager(database=str(db_path), connection_config={**base, **overrides})


def project_connection_config(db_path: Path) -> dict[str, Any]:
    """The DuckDB settings `stripe-assets load` gives the IO manager for `db_path`
    (resources.py: its memory limit and spill directory)."""
    os.environ["STRIPE_ASSETS_DB"] = str(db_path)
    try:
        from stripe_assets.resources import duckdb_io_manager
    except ImportError:
        return {}
    return dict(duckdb_io_manager().connection_config or {})


def parse_only(bodies: list[bytes], directory: Path) -> float:
    """One DuckDB pass that parses every spooled body and keeps nothing (both cores)."""
    spool, _ = client_side(bodies, directory)
    try:
        connection = duckdb.connect()
        began = time.perf_counter()
        connection.execute(
            "SELECT sum(json_array_length(json, '$.data')) FROM read_json_objects("
            f"'{spool.path}', format='newline_delimited')"
        ).fetchall()
        return time.perf_counter() - began
    finally:
        spool.discard()


def store_only(written: Path, directory: Path) -> float:
    """Storing the typed rows of `written` into a new file, as the write's INSERT must."""
    target = directory / "bench_write_store_only.duckdb"
    connection = duckdb.connect()
    try:
        connection.execute(f"ATTACH '{written}' AS written (READ_ONLY)")
        connection.execute(f"ATTACH '{target}' AS target (ROW_GROUP_SIZE {WRITE_ROW_GROUP_SIZE})")
        connection.execute("CREATE TABLE memory.rows AS SELECT * FROM written.stripe.charges")
        connection.execute("SET preserve_insertion_order = false")  # as the write's INSERT
        began = time.perf_counter()
        connection.execute("BEGIN")
        connection.execute("CREATE TABLE target.charges AS SELECT * FROM memory.rows")
        connection.execute("COMMIT")
        return time.perf_counter() - began
    finally:
        connection.close()
        target.unlink(missing_ok=True)


def known_schema_insert(bodies: list[bytes], written: Path, directory: Path) -> float:
    """The write's typed INSERT alone, as if every column type were known in advance: the
    same `json_transform` of each spooled page into the types `written` ended up with, into a
    new file, one transaction, as the IO manager configures DuckDB. What a write would cost if
    discovering the fields and their number ranges were free."""
    spool, _ = client_side(bodies, directory)
    target = directory / "bench_write_known_schema.duckdb"
    try:
        with open_database(written) as source:
            types = source.execute(
                "SELECT column_name, data_type FROM duckdb_columns()"
                " WHERE schema_name = 'stripe' AND table_name = 'charges'"
            ).fetchall()
        fields = [(n, t) for n, t in types if not n.startswith("_")]
        structure = {n: json_transform_type(t)[0] for n, t in fields}
        selects = ", ".join(
            json_transform_type(t)[1].format(f"x.{quote_ident(n)}") for n, t in fields
        )
        pages = f"read_json_objects({quote_literal(str(spool.path))}, format='newline_delimited')"
        structure_sql = quote_literal(json.dumps({"data": [structure]}))
        connection = duckdb.connect(config=project_connection_config(target))
        connection.execute(f"ATTACH '{target}' AS target (ROW_GROUP_SIZE {WRITE_ROW_GROUP_SIZE})")
        columns = ", ".join(f"{quote_ident(n)} {t}" for n, t in fields)
        connection.execute(f"CREATE TABLE target.charges ({columns})")
        connection.execute("SET preserve_insertion_order = false")  # as the write's INSERT
        began = time.perf_counter()
        connection.execute("BEGIN")
        connection.execute(
            f"INSERT INTO target.charges SELECT {selects} FROM"
            f" (SELECT unnest(json_transform(json, {structure_sql}).data) AS x FROM {pages})"
        )
        connection.execute("COMMIT")
        seconds = time.perf_counter() - began
        connection.close()
        return seconds
    finally:
        spool.discard()
        target.unlink(missing_ok=True)


def created_days(bodies: list[bytes]) -> tuple[str, str]:
    newest = json.loads(bodies[0])["data"][0]["created"]
    oldest = json.loads(bodies[-1])["data"][-1]["created"]

    def day(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).date().isoformat()

    return day(oldest), day(newest)


def measure(base_url: str, key: str, repeat: int, workdir: Path,
            profile: StatementTimes | None = None,
            config: dict[str, str] | None = None, floor: bool = False) -> dict[str, Any]:
    bodies = fetch_bodies(base_url, key)
    objects = sum(len(json.loads(b)["data"]) for b in bodies)
    first_day, last_day = created_days(bodies)
    runs: list[dict[str, float]] = []
    for i in range(repeat):
        db_path = workdir / f"bench_write_{i}.duckdb"
        spool, client_s = client_side(bodies, workdir)
        before_write_mb = current_rss_mb()
        if profile is not None:
            profile.install()
        write_s = io_manager_write(spool, db_path, first_day, last_day, config)
        if profile is not None:
            duckdb.connect = profile._connect  # type: ignore[assignment]
        with open_database(db_path) as connection:
            row = connection.execute("SELECT count(*), count(DISTINCT id) FROM stripe.charges")
            rows, distinct = row.fetchone() or (0, 0)
        if rows != objects or distinct != objects:
            raise SystemExit(f"wrote {rows} rows ({distinct} distinct ids), expected {objects}")
        run = {"client_s": client_s, "write_s": write_s, "total_s": client_s + write_s,
               "rss_before_write_mb": before_write_mb}
        if floor:
            run["parse_s"] = parse_only(bodies, workdir)
            run["store_s"] = store_only(db_path, workdir)
            run["floor_s"] = client_s + run["parse_s"] + run["store_s"]
            run["known_schema_s"] = client_s + known_schema_insert(bodies, db_path, workdir)
        runs.append(run)
        db_path.unlink(missing_ok=True)
    timed = ["client_s", "write_s", "total_s",
             *(["parse_s", "store_s", "floor_s", "known_schema_s"] * floor)]
    median = {k: statistics.median(r[k] for r in runs) for k in timed}
    return {
        "objects": objects,
        "pages": len(bodies),
        "bytes": sum(len(b) for b in bodies),
        "repeat": repeat,
        **{k: round(v, 3) for k, v in median.items()},
        "client_objects_per_s": round(objects / median["client_s"]),
        "write_objects_per_s": round(objects / median["write_s"]),
        "local_objects_per_s": round(objects / median["total_s"]),
        **({"floor_objects_per_s": round(objects / median["floor_s"]),
            "known_schema_objects_per_s": round(objects / median["known_schema_s"])}
           if floor else {}),
        "runs": [{k: round(v, 3) for k, v in r.items()} for r in runs],
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="a running sandbox; default: start one")
    parser.add_argument("--key", default=os.environ.get("STRIPE_API_KEY", TEST_KEY))
    parser.add_argument("--charges", type=int, default=50_000, help="when starting a sandbox")
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    parser.add_argument("--duckdb-config", action="append", default=[], metavar="KEY=VALUE",
                        help="connection_config of the IO manager, e.g. memory_limit=500MB")
    parser.add_argument("--profile", action="store_true",
                        help="also time each SQL statement of the IO manager write")
    parser.add_argument("--floor", action="store_true",
                        help="also time one bare JSON parse and storing the typed rows (see doc)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stripe-bench-write-") as tmp:
        workdir = Path(tmp)
        sandbox = None
        base_url = args.base_url
        if not base_url:
            sandbox = Sandbox(args.charges, args.customers, workdir / "sandbox.log")
            base_url = sandbox.url
        try:
            profile = StatementTimes() if args.profile else None
            config = dict(item.split("=", 1) for item in args.duckdb_config)
            result = measure(base_url, args.key, args.repeat, workdir, profile, config,
                             args.floor)
        finally:
            if sandbox is not None:
                sandbox.stop()
    if args.json:
        print(json.dumps(result))
        return 0
    print(Machine.describe().line())
    print(f"{result['objects']:,} charges in {result['pages']} pages "
          f"({result['bytes'] / 1e6:.0f} MB of JSON), median of {result['repeat']} runs:")
    for label, key in [("client: parse + validate + spool", "client"),
                       ("IO manager write (one transaction)", "write"),
                       ("local path, response -> committed rows", "local")]:
        seconds = result[f"{key}_s" if key != "local" else "total_s"]
        print(f"  {label:<40} {seconds:7.2f} s  {result[f'{key}_objects_per_s']:>9,} objects/s")
    if args.floor:
        print(f"  floor: client {result['client_s']:.2f} s + one bare JSON parse "
              f"{result['parse_s']:.2f} s + storing the typed rows {result['store_s']:.2f} s"
              f" = {result['floor_s']:.2f} s, {result['floor_objects_per_s']:,} objects/s")
        print(f"  known schema: client + the typed INSERT alone (no field discovery, no number"
              f" ranges) = {result['known_schema_s']:.2f} s,"
              f" {result['known_schema_objects_per_s']:,} objects/s")
    if profile is not None:
        before = result["runs"][0]["rss_before_write_mb"]
        print(f"  process RSS before the first write: {before:,} MB (holds the fetched bodies)")
        print("\n".join(profile.report(args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
