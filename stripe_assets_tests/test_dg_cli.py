"""`dg`, Dagster's project CLI, works on this project as it is laid out (pyproject's [tool.dg])."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stripe_assets.sandbox import SandboxServer
from stripe_assets_tests.pipeline import sandbox_days
from stripe_assets_tests.test_definitions import ANALYTICS, RAW
from stripe_assets_tests.ui_support import ROOT, running_dagster_dev

DG = Path(sys.executable).with_name("dg")  # installed with the project (dagster-dg-cli)


def dg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DG), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_dg_check_defs_loads_the_definitions():
    result = dg("check", "defs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_dg_list_defs_lists_every_asset_check_job_schedule_and_sensor():
    result = dg("list", "defs", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert {a["asset_key"] for a in listed["assets"]} == (
        {f"stripe/{n}" for n in RAW} | {f"analytics/{n}" for n in ANALYTICS})
    assert len(listed["asset_checks"]) >= 3 * len(RAW)
    assert {"load_everything", "refresh_charges"} <= {j["name"] for j in listed["jobs"]}
    assert {s["name"] for s in listed["schedules"]} == {"refresh_recent_days",
                                                       "refresh_full_tables_daily"}
    assert {s["name"] for s in listed["sensors"]} == {"stripe_events_sensor",
                                                     "stripe_automation_sensor"}


@pytest.mark.slow
def test_dg_dev_serves_the_project(sandbox: SandboxServer, tmp_path):
    first_day, _ = sandbox_days(sandbox)
    with running_dagster_dev(sandbox.url, tmp_path, first_day, command=(str(DG), "dev")) as ui:
        nodes = ui.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
    assert len(nodes) == len(RAW) + len(ANALYTICS)
