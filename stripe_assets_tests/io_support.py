"""Helpers for the IO manager tests: Stripe-shaped objects, spools, assets, worker processes.

Worker functions live here (not in the test module) so that ``multiprocessing`` can import them
in spawned processes.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from stripe_assets.io_manager import ObjectSpool, StripeDuckDBIOManager, StripeObjects

try:  # dev-only: the stock manager the tests compare against (add it to the dev extras)
    from dagster_duckdb_pandas import DuckDBPandasIOManager
except ImportError:  # pragma: no cover - depends on the environment
    DuckDBPandasIOManager = None  # type: ignore[assignment,misc]

API_VERSION = "2024-06-20"
DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")
REPO_ROOT = Path(__file__).resolve().parent.parent
OURS, STOCK = "ours", "stock"


def ts(day: str, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Unix seconds of a UTC moment: ts("2024-01-02", 1) is 01:00 UTC on Jan 2."""
    moment = datetime.fromisoformat(day).replace(
        hour=hour, minute=minute, second=second, tzinfo=UTC
    )
    return int(moment.timestamp())


def charge(i: int, created: int, **fields: Any) -> dict[str, Any]:
    """A charge as Stripe renders it (API 2024-06-20): ~47 top-level fields, nested JSON."""
    rng = random.Random(i)
    amount = rng.randint(100, 500_000)
    obj: dict[str, Any] = {
        "id": f"ch_{i:024d}",
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": f"txn_{i:024d}",
        "billing_details": {
            "address": {
                "city": "Berlin",
                "country": "DE",
                "line1": "Straße 1",
                "line2": None,
                "postal_code": "10115",
                "state": None,
            },
            "email": f"u{i}@example.com",
            "name": "Jane Doe",
            "phone": None,
        },
        "calculated_statement_descriptor": "EXAMPLE",
        "captured": True,
        "created": created,
        "currency": rng.choice(["usd", "eur", "jpy"]),
        "customer": f"cus_{i % 997:014d}",
        "description": None,
        "destination": None,
        "dispute": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": {"order_id": str(i)},
        "on_behalf_of": None,
        "order": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": rng.randint(0, 99),
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": f"pi_{i:024d}",
        "payment_method": f"pm_{i:024d}",
        "payment_method_details": {
            "card": {
                "amount_authorized": amount,
                "brand": "visa",
                "checks": {
                    "address_line1_check": "pass",
                    "address_postal_code_check": "pass",
                    "cvc_check": "pass",
                },
                "country": "US",
                "exp_month": 12,
                "exp_year": 2030,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": "Xt5EWLLDS7FJjR1c",
                "funding": "credit",
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": "4242",
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": "visa",
                "network_token": {"used": False},
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "radar_options": {},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{i}",
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/charges/ch_{i:024d}/refunds",
        },
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    obj.update(fields)
    return obj


def page_body(objects: Sequence[dict[str, Any]], *, pretty: bool = True) -> bytes:
    """A list response body as Stripe sends it (pretty-printed over many lines)."""
    envelope = {"object": "list", "data": list(objects), "has_more": False, "url": "/v1/charges"}
    return json.dumps(envelope, indent=2 if pretty else None, ensure_ascii=False).encode()


def spool_of(
    objects: Sequence[dict[str, Any]],
    *,
    page_size: int = 100,
    directory: str | os.PathLike[str] | None = None,
) -> ObjectSpool:
    """A spool holding ``objects``: pretty page bodies, plus one add_objects page when possible."""
    spool = ObjectSpool(directory=directory, prefix="test")
    objects = list(objects)
    head, rest = objects[:1], objects[1:]
    spool.add_objects(head)  # the one-by-one path: a compact envelope
    for start in range(0, len(rest), page_size):
        chunk = rest[start : start + page_size]
        spool.add_page_body(page_body(chunk), len(chunk))
    return spool


def stripe_objects(objects: Sequence[dict[str, Any]], **extra: Any) -> StripeObjects:
    return StripeObjects(spool_of(objects), API_VERSION, dict(extra))


def frame(objects: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The same objects as the DataFrame a stock-manager asset would return."""
    df = pd.DataFrame(list(objects))
    if "created" in df:
        df["created"] = pd.to_datetime(df["created"], unit="s", utc=True)
    return df


def query(db: str | Path, sql: str, params: Iterable[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db)) as connection:
        return connection.execute(sql, list(params) if params else None).fetchall()


def column_types(db: str | Path, table: str) -> dict[str, str]:
    schema, name = table.split(".")
    return dict(
        query(
            db,
            "SELECT column_name, data_type FROM duckdb_columns()"
            " WHERE schema_name = $1 AND table_name = $2",
            [schema, name],
        )
    )


def materialize_into(
    db: str, assets: list, partition_key: str | None = None, **options: Any
) -> dg.ExecuteInProcessResult:
    """dg.materialize with the project's IO manager writing the DuckDB file `db`."""
    return dg.materialize(
        assets,
        partition_key=partition_key,
        resources={"io_manager": StripeDuckDBIOManager(database=db)},
        **options,
    )


def charge_ids(db: str, where: str = "TRUE") -> list[str]:
    """The ids in stripe.charges (WHERE `where`), sorted."""
    return [r[0] for r in query(db, f"SELECT id FROM stripe.charges WHERE {where} ORDER BY id")]


def error_text(result: dg.ExecuteInProcessResult) -> str:
    """Every message in the failure's cause chain, for asserting on what a user sees."""
    parts = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            parts.append(error.message)
            error = error.cause
    return "\n".join(parts)


# --- the two IO managers the defect tests compare ------------------------------------------


def io_manager(flavor: str, db: str | Path, **config: Any) -> dg.ConfigurableIOManagerFactory:
    if flavor == OURS:
        return StripeDuckDBIOManager(database=str(db), **config)
    assert DuckDBPandasIOManager is not None, "dagster-duckdb-pandas is not installed"
    return DuckDBPandasIOManager(database=str(db), **config)


def output(flavor: str, objects: Sequence[dict[str, Any]]) -> Any:
    """What an asset returns for each manager: a spool for ours, a DataFrame for the stock one."""
    return stripe_objects(objects) if flavor == OURS else frame(objects)


def charges_asset(
    flavor: str, batches: dict[str, Any], *, name: str = "charges"
) -> dg.AssetsDefinition:
    """A daily ``stripe.<name>`` asset returning ``batches[partition_key]`` (a list of objects,
    or a callable giving the asset's return value, to inject failures)."""

    @dg.asset(
        name=name,
        key_prefix=["stripe"],
        partitions_def=DAILY,
        metadata={"partition_expr": "created"},
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def table(context):
        if context.has_partition_key_range and len(context.partition_keys) > 1:
            window = context.partition_time_window
            start, end = window.start.timestamp(), window.end.timestamp()
            objects = [o for key in context.partition_keys for o in batches.get(key, [])]
            return output(flavor, [o for o in objects if start <= o["created"] < end])
        batch = batches[context.partition_key]
        return batch() if callable(batch) else output(flavor, batch)

    return table


def tz_rerun_worker(db: str, flavor: str) -> None:
    """Run by the TZ test in a process with TZ=America/New_York: materialize one day twice."""
    with duckdb.connect() as connection:  # prove the scenario: DuckDB follows the OS zone
        zone = connection.execute("SELECT current_setting('TimeZone')").fetchall()[0][0]
    assert zone == "America/New_York", zone
    objects = [
        {"id": "ch_early", "created": ts("2024-01-02", 1), "amount": 100, "currency": "usd"},
        {"id": "ch_noon", "created": ts("2024-01-02", 12), "amount": 200, "currency": "usd"},
    ]
    asset = charges_asset(flavor, {"2024-01-02": objects})
    for _ in range(2):
        dg.materialize(
            [asset], partition_key="2024-01-02", resources={"io_manager": io_manager(flavor, db)}
        )


# --- worker processes ---------------------------------------------------------------------


def materialize_charges_worker(db: str, name: str, count: int, barrier: Any, results: Any) -> None:
    """In a spawned process: spool ``count`` charges, wait for the others, write ``stripe.<name>``.

    Puts ``(name, success, waited_for_lock)`` on ``results``.
    """
    spool = spool_of([charge(i, ts("2024-01-02") + i) for i in range(count)])

    @dg.asset(name=name, key_prefix=["stripe"])
    def table() -> StripeObjects:
        return StripeObjects(spool, API_VERSION)

    with dg.DagsterInstance.ephemeral() as instance:
        barrier.wait(timeout=120)
        result = dg.materialize(
            [table],
            instance=instance,
            resources={"io_manager": StripeDuckDBIOManager(database=db, lock_timeout_seconds=60)},
            raise_on_error=False,
        )
        waited = any("is locked by" in e.user_message for e in instance.all_logs(result.run_id))
    results.put((name, result.success, waited))


HOLD_LOCK = """
import duckdb, sys, time
connection = duckdb.connect(sys.argv[1])
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""
