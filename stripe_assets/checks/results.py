"""Small helpers shared by the checks: results with useful metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg

EXAMPLES = 10  # offending ids shown on a failed check


def missing_table(table: str, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False, severity=severity,
        description=f"{table} does not exist yet: materialize it first.",
        metadata={"table": table},
    )


def examples(values: Sequence[Any]) -> dg.MetadataValue:
    return dg.MetadataValue.json([str(v) if not isinstance(v, int | str) else v
                                  for v in values[:EXAMPLES]])
