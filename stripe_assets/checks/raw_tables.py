"""Checks every raw Stripe table gets: unique and present ids, and test and live never mixed.

All are ERROR and blocking: a table failing one must not feed the analytics (in the same run,
what is built from it is skipped; the analytics' automation condition waits for them to pass)."""

import dagster as dg

from stripe_assets.checks.results import EXAMPLES, examples, missing_table
from stripe_assets.checks.warehouse import DuckDBReader, table_columns
from stripe_assets.io_manager.sql import quote_ident
from stripe_assets.jobs import DAY_TABLES, FULL_TABLES, stripe_table_key

RAW_TABLES = [*DAY_TABLES, *FULL_TABLES]
ERROR = dg.AssetCheckSeverity.ERROR


def _table(name: str) -> str:
    return f"stripe.{quote_ident(name)}"


def build_id_is_unique(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=stripe_table_key(name), name="id_is_unique", blocking=True,
        description=f"Every Stripe id appears once in stripe.{name} (re-listing a day replaces "
        "it; a duplicate means a day was written twice or windows overlapped).",
    )
    def _check(warehouse: DuckDBReader) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            if "id" not in table_columns(con, "stripe", name):
                return missing_table(f"stripe.{name}", ERROR)
            rows, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT id) FROM {_table(name)}"
            ).fetchall()[0]
            dupes = con.execute(
                f"SELECT id, count(*) AS n FROM {_table(name)} GROUP BY id HAVING n > 1 "
                f"ORDER BY n DESC, id LIMIT {EXAMPLES}"
            ).fetchall()
            duplicated_ids = con.execute(
                f"SELECT count(*) FROM (SELECT id FROM {_table(name)} GROUP BY id "
                "HAVING count(*) > 1)"
            ).fetchall()[0][0]
        return dg.AssetCheckResult(
            passed=duplicated_ids == 0, severity=ERROR,
            metadata={
                "rows": rows, "distinct_ids": distinct, "duplicated_ids": duplicated_ids,
                "examples": examples([f"{i} x{n}" for i, n in dupes]),
            },
        )

    return _check


def build_required_fields_not_null(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=stripe_table_key(name), name="id_and_created_not_null", blocking=True,
        description=f"No row of stripe.{name} lacks its `id`, nor its `created` where Stripe "
        "gives the object one (payment links have none).",
    )
    def _check(warehouse: DuckDBReader) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            columns = table_columns(con, "stripe", name)
            if "id" not in columns:
                return missing_table(f"stripe.{name}", ERROR)
            has_created = "created" in columns
            created_null = "created IS NULL" if has_created else "FALSE"
            rows, null_ids, null_created = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE id IS NULL), "
                f"count(*) FILTER (WHERE {created_null}) FROM {_table(name)}"
            ).fetchall()[0]
            offenders = con.execute(
                f"SELECT coalesce(id, '(null id)') FROM {_table(name)} "
                f"WHERE id IS NULL OR {created_null} LIMIT {EXAMPLES}"
            ).fetchall()
        return dg.AssetCheckResult(
            passed=null_ids == 0 and null_created == 0, severity=ERROR,
            metadata={
                "rows": rows, "null_id": null_ids,
                "null_created": null_created if has_created else "no created field",
                "examples": examples([r[0] for r in offenders]),
            },
        )

    return _check


def build_livemode_is_consistent(name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=stripe_table_key(name), name="livemode_is_consistent", blocking=True,
        description="Test and live data never mix: every row of every raw table in this "
        f"DuckDB file has the same `livemode` as stripe.{name}'s rows. A mix means two keys "
        "(sk_test_ and sk_live_) wrote to one file.",
    )
    def _check(warehouse: DuckDBReader) -> dg.AssetCheckResult:
        counts: dict[str, dict[str, int]] = {}
        with warehouse.connect() as con:
            if "id" not in table_columns(con, "stripe", name):
                return missing_table(f"stripe.{name}", ERROR)
            for table in RAW_TABLES:
                if "livemode" not in table_columns(con, "stripe", table):
                    continue
                rows = con.execute(
                    f"SELECT CAST(livemode AS VARCHAR), count(*) FROM {_table(table)} "
                    "WHERE livemode IS NOT NULL GROUP BY ALL"
                ).fetchall()
                if rows:
                    counts[table] = {"live" if v == "true" else "test": n for v, n in rows}
        modes = {mode for per_table in counts.values() for mode in per_table}
        mixed = [t for t, per_table in counts.items() if len(per_table) > 1]
        passed = len(modes) <= 1
        description = None
        if not passed:
            by_mode = {m: sorted(t for t, c in counts.items() if m in c) for m in sorted(modes)}
            description = (
                "This DuckDB file mixes test and live data: "
                + "; ".join(f"{m} rows in {', '.join(ts)}" for m, ts in by_mode.items())
                + (f" (mixed within {', '.join(mixed)})" if mixed else "")
                + ". Load test and live keys into separate files (STRIPE_ASSETS_DB)."
            )
        return dg.AssetCheckResult(
            passed=passed, severity=ERROR, description=description,
            metadata={"livemode_rows_by_table": dg.MetadataValue.json(counts)},
        )

    return _check


raw_table_checks = [
    build(name)
    for name in RAW_TABLES
    for build in (build_id_is_unique, build_required_fields_not_null, build_livemode_is_consistent)
]
