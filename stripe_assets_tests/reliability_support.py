"""Helpers for the reliability tests: small sandboxes, whole-database snapshots, the CLI."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from stripe_assets.database import open_database
from stripe_assets.sandbox import SandboxConfig

# A few days of a small account: every asset has rows, and a load takes seconds.
SMALL = SandboxConfig(seed=5, customers=20, charges=60, days=5, end=date(2025, 6, 30))
SCHEMAS = ("stripe", "analytics")


def days_of(config: SandboxConfig) -> tuple[date, date]:
    """First and last day of a sandbox account's history."""
    last = config.end_date()
    return last - timedelta(days=config.days - 1), last


Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(db: Path, exclude: tuple[str, ...] = ()) -> Snapshot:
    """Every row of every table, all columns but `exclude`, in a stable order."""
    out: Snapshot = {}
    with open_database(db) as con:
        for (table,) in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            f"WHERE table_schema IN {SCHEMAS} ORDER BY 1"
        ).fetchall():
            schema, name = table.split(".")
            columns = [
                f'"{c}"' for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                    "AND table_name = ? ORDER BY ordinal_position", [schema, name]
                ).fetchall() if c not in exclude
            ]
            out[table] = con.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL"
            ).fetchall()
    return out


def column_types(db: Path) -> dict[str, list[tuple[str, str]]]:
    with open_database(db) as con:
        found = con.execute(
            "SELECT table_schema || '.' || table_name, column_name, data_type "
            f"FROM information_schema.columns WHERE table_schema IN {SCHEMAS} "
            "ORDER BY 1, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in found:
        out.setdefault(table, []).append((column, data_type))
    return out


def copy_database(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def retries_per_run(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, int]:
    """`stripe_retries` of each run that materialized `key` (one value per run: a range
    backfill reports it once, on its newest partition)."""
    per_run: dict[str, set[int]] = {}
    for record in instance.fetch_materializations(key, limit=10_000).records:
        materialization = record.asset_materialization
        assert materialization is not None
        per_run.setdefault(record.run_id, set())
        if "stripe_retries" in materialization.metadata:
            value = materialization.metadata["stripe_retries"]
            per_run[record.run_id].add(int(value.value))  # type: ignore[arg-type]
    assert all(len(values) == 1 for values in per_run.values()), per_run
    return {run: values.pop() for run, values in per_run.items()}


def step_windows(records: Sequence[Any], start: str, end: str) -> dict[str, tuple[float, float]]:
    """step key -> (time of its `start` event, time of its `end` event)."""
    begun: dict[str, float] = {}
    windows: dict[str, tuple[float, float]] = {}
    for record in records:
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type_value == start:
            begun.setdefault(record.step_key, record.timestamp)
        elif event.event_type_value == end and record.step_key in begun:
            windows[record.step_key] = (begun[record.step_key], record.timestamp)
    return windows


def most_at_once(windows: dict[str, tuple[float, float]]) -> int:
    edges = sorted([(a, 1) for a, _ in windows.values()] + [(b, -1) for _, b in windows.values()])
    peak = now = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak
