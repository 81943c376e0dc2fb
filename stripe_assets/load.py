"""`stripe-assets load`: materialize every asset, one run per asset, in dependency order.

One run per asset gives a progress line per asset, lets the other assets load when one fails
(e.g. a restricted key without one permission), and records each run in DAGSTER_HOME when set.
Each run also runs the asset's blocking checks, as a run from the UI does: a table that fails
one (duplicated ids, say) fails its line, and what is built from it is skipped.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from stripe_assets.checks import all_checks
from stripe_assets.jobs import load_everything
from stripe_assets.resources import with_warehouse

# Dagster's console logger would print each failure with its stack trace (at ERROR): the CLI
# prints one line per asset instead, and the assets' own warnings under it (see `warnings`).
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class AssetOutcome:
    key: dg.AssetKey
    ok: bool
    seconds: float
    rows: int | None = None  # rows written by this load
    requests: int = 0
    retries: int = 0
    error: str | None = None
    skipped: bool = False
    warnings: list[str] = field(default_factory=list)  # what the asset logged at WARNING+

    @property
    def name(self) -> str:
        return "/".join(self.key.path)


def load_assets(
    assets: Sequence[dg.AssetsDefinition],
    resources: dict[str, object],
    instance: dg.DagsterInstance,
    start: date,
    end: date,
    report: Callable[[AssetOutcome], None],
    graph: Sequence[dg.AssetsDefinition] | None = None,
) -> list[AssetOutcome]:
    """Assets must be given in dependency order (upstream first). `graph`: every asset (default
    `assets`), so that a selection can read upstream tables an earlier load wrote."""
    graph = graph if graph is not None else assets
    resources = with_warehouse(resources)  # for the blocking checks
    # The code location's load_everything job, so that the runs show under its name in the UI
    # (dg.materialize would name them __ephemeral_asset_job__).
    job = dg.Definitions(assets=list(graph), asset_checks=blocking_checks(), jobs=[load_everything],
                         resources=resources).resolve_job_def(load_everything.name)
    outcomes: list[AssetOutcome] = []
    failed: set[dg.AssetKey] = set()
    for asset_def in assets:
        key = asset_def.key
        upstream_failed = sorted(
            "/".join(k.path) for k in asset_def.asset_deps.get(key, set()) if k in failed
        )
        if upstream_failed:
            outcome = AssetOutcome(key, ok=False, seconds=0.0, skipped=True,
                                   error=f"skipped: upstream {', '.join(upstream_failed)} failed")
        else:
            outcome = _materialize_one(asset_def, job, instance, start, end)
        if not outcome.ok:
            failed.add(key)
        outcomes.append(outcome)
        report(outcome)
    return outcomes


def blocking_checks() -> list[dg.AssetChecksDefinition]:
    """The checks whose failure must stop what is built from their table (the others are WARN
    or watch the sensor: the UI shows them)."""
    return [c for c in all_checks if all(spec.blocking for spec in c.check_specs)]


def _materialize_one(
    asset_def: dg.AssetsDefinition,
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    start: date,
    end: date,
) -> AssetOutcome:
    tags = {}
    if asset_def.partitions_def is not None:
        tags = {
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        }
    began = time.monotonic()
    result = job.execute_in_process(
        asset_selection=[asset_def.key], instance=instance,
        tags={**tags, "stripe_assets/launched_by": "cli"}, run_config=QUIET_LOGS,
        raise_on_error=False,
    )
    seconds = time.monotonic() - began
    warnings = _user_warnings(instance, result.run_id)
    if not result.success:
        return AssetOutcome(asset_def.key, ok=False, seconds=seconds, error=_failure(result),
                            warnings=warnings)
    outcome = AssetOutcome(asset_def.key, ok=True, seconds=seconds, warnings=warnings)
    for mat in result.asset_materializations_for_node(asset_def.op.name):
        # A run over many days puts its own facts on the newest day only: take them there.
        meta = mat.metadata
        if "rows_written" in meta:
            outcome.rows = _int(meta["rows_written"])  # this load's rows, not the table's
        if "stripe_requests" in meta:
            outcome.requests = _int(meta["stripe_requests"]) or 0
            outcome.retries = _int(meta.get("stripe_retries")) or 0
    return outcome


def _int(value: object) -> int | None:
    raw = getattr(value, "value", value)
    return int(raw) if isinstance(raw, int | float) else None


def _user_warnings(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Messages the asset logged at WARNING or above (Dagster's own events excluded)."""
    def level(entry: object) -> int:
        raw = getattr(entry, "level", 0)  # an int, or a level's name
        return raw if isinstance(raw, int) else logging.getLevelNamesMapping().get(raw, 0)

    return [
        entry.user_message for entry in instance.all_logs(run_id)
        if entry.dagster_event is None and level(entry) >= logging.WARNING
    ]


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """The root cause's message: ours are written to be read, so show that, not a traceback.
    A failed blocking check: what it found, rather than Dagster's DagsterAssetCheckFailedError."""
    failed = [e for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    if failed:
        table = ".".join(failed[0].asset_key.path)
        found = "; ".join(_check_finding(e) for e in failed)
        return (f"blocking check {found}. {table} was written; what is built from it was not"
                " (the check's page in the UI lists it, or query the table).")
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            return _without_class_name(error.message.strip(), error.cls_name)
    return "the run failed (see the Dagster event log)"


def _check_finding(evaluation: dg.AssetCheckEvaluation) -> str:
    """`id_is_unique failed: duplicated_ids 1, examples ["ch_1 x2"]`: its description, or the
    numbers and examples in its metadata."""
    if evaluation.description:
        return f"{evaluation.check_name} failed: {evaluation.description}"
    facts = []
    for name, value in evaluation.metadata.items():
        raw: Any = getattr(value, "value", getattr(value, "data", value))
        facts.append(f"{name} {raw}")
    return f"{evaluation.check_name} failed: {', '.join(facts)}"


def _without_class_name(message: str, cls_name: str | None) -> str:
    """`stripe_assets.stripe_client.errors.StripeConfigError: STRIPE_API_KEY is ...` -> the
    sentence. Only for this project's errors: another's class name may be all the context."""
    if not cls_name:
        return message
    match = re.match(rf"((?:\w+\.)*){re.escape(cls_name)}: ", message)
    if match and match.group(1).startswith("stripe_assets."):
        return message[match.end():]
    return message
