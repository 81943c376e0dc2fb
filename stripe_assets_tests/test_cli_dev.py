"""`stripe-assets dev` without a key: dagster dev against the bundled sandbox."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from stripe_assets import cli
from stripe_assets.database import open_database
from stripe_assets_tests.ui_support import LOCATION, running_dagster_dev


@pytest.mark.slow
def test_dev_without_a_key_serves_the_sandbox_with_partitions_from_its_first_day(tmp_path):
    """`stripe-assets dev` as a newcomer runs it: no key, no STRIPE_START_DATE. The UI's
    partitions start at the sandbox's first day, and a materialization reads the sandbox."""
    # The sandbox's default history: 365 days up to yesterday.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    first = yesterday - timedelta(days=364)
    command = (str(Path(sys.executable).with_name("stripe-assets")), "dev", "--")
    with running_dagster_dev("", tmp_path, first, command=command, keyless=True) as ui:
        node = ui.graphql(PARTITIONS, {"path": ["stripe", "customers"]})["assetNodeOrError"]
        keys = node["partitionKeysByDimension"][0]["partitionKeys"]
        assert keys[0] == first.isoformat()
        launched = ui.graphql(LAUNCH_RUN, {"params": {"selector": {
            "repositoryLocationName": LOCATION, "repositoryName": "__repository__",
            "jobName": "refresh_payment_links"},
            # One process for the run, not one per step (the table and its 3 checks), as the
            # launchpad allows: the same run, sooner.
            "runConfigData": {"execution": {"config": {"in_process": {}}}}}})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        deadline = time.monotonic() + 120
        status = "STARTING"
        while time.monotonic() < deadline and status not in ("SUCCESS", "FAILURE", "CANCELED"):
            time.sleep(1)
            status = ui.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        assert status == "SUCCESS", ui.log_tail()
        log = ui.log_tail(400)
    assert "No STRIPE_API_KEY set: assets will read the local sandbox API at" in log
    assert "dev_command" not in log  # "use dg dev" is filtered: its users run stripe-assets dev
    with open_database(ui.db) as connection:
        loaded = connection.execute("SELECT count(*) FROM stripe.payment_links").fetchall()
        source = connection.execute("SELECT source FROM _stripe_assets.data_source").fetchall()
    assert loaded[0][0] > 0
    assert source == [("the local sandbox (test mode)",)]


LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
RUN_STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
PARTITIONS = """
query Partitions($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode { partitionKeysByDimension { partitionKeys } }
  }
}
"""


def test_dev_reads_its_sandbox_activity_setting_and_rejects_one_that_is_not_a_number(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("STRIPE_SANDBOX_ACTIVITY_SECONDS", "soon")
    assert cli.main(["dev"]) == 2
    assert "STRIPE_SANDBOX_ACTIVITY_SECONDS='soon' must be a number of seconds" in \
        capsys.readouterr().err


def test_dev_gives_its_dagster_home_the_stripe_api_pool_limit_but_keeps_a_users_config(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(subprocess, "call", lambda command, env=None: 0)
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_51DevKey0000000000000000aaaa")
    monkeypatch.chdir(tmp_path)

    fresh = tmp_path / "fresh_home"
    monkeypatch.setenv("DAGSTER_HOME", str(fresh))
    assert cli.main(["dev"]) == 0
    with dg.DagsterInstance.from_config(str(fresh)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        # Recorded before the first run, so the UI's Concurrency page lists it.
        limits = {p.name: p.limit for p in instance.event_log_storage.get_pool_limits()}
        assert limits == {"stripe_api": 1}

    mine = tmp_path / "my_home"
    mine.mkdir()
    (mine / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(mine))
    assert cli.main(["dev"]) == 0
    assert (mine / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_dev_passes_options_to_dagster_dev_as_typed(monkeypatch, tmp_path):
    launched: list[list[str]] = []

    def call(command: list[str], env: object = None) -> int:
        launched.append(command)
        return 0

    monkeypatch.setattr(subprocess, "call", call)
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_51DevKey0000000000000000aaaa")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    cli.main(["dev", "--port", "3001"])
    cli.main(["dev", "--", "--port", "3002", "--host", "0.0.0.0"])
    assert [c[c.index("workspace.yaml") + 1:] for c in launched] == [
        ["--port", "3001"], ["--port", "3002", "--host", "0.0.0.0"],
    ]
