"""The project as a user sees it: `dagster dev` in a child process, driven over GraphQL.

`running_dagster_dev` starts the webserver and the daemon on a free loopback port, against a
temporary DAGSTER_HOME and DuckDB file and a sandbox Stripe API, and always stops them.
`launch_backfill_of_everything` does what the UI's "Materialize all" does for this graph.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from stripe_assets.sandbox import SandboxConfig, SandboxServer, generate
from stripe_assets_tests.pipeline import sandbox_days

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "stripe_assets"
TEST_KEY = "sk_test_51UiKeyNeverShownInTheBrowser4Zq"
STARTUP_SECONDS = 120
STOP_SECONDS = 15
LOAD_SECONDS = 300
# A small account over 45 days: a backfill writes one planned event per asset and day to the
# instance's SQLite, so a year of days would cost more time than every API call of the load.
UI_ACCOUNT = SandboxConfig(seed=7, customers=60, charges=400, days=45, end=date(2025, 6, 30))


class DagsterUIError(AssertionError):
    """The server did not do what the UI would expect; the message has the server's log tail."""


@dataclass
class DagsterUI:
    url: str
    home: Path
    db: Path
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
            timeout=120,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise DagsterUIError(f"GraphQL errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def dagster_env(stripe_url: str, home: Path, db: Path, start: date) -> dict[str, str]:
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "STRIPE_API_BASE": stripe_url,
        "STRIPE_API_KEY": TEST_KEY,
        "STRIPE_START_DATE": start.isoformat(),
        "STRIPE_ASSETS_DB": str(db),
        # The sandbox has no rate limit of its own; don't pace it like real Stripe.
        "STRIPE_REQUESTS_PER_SECOND": "1000",
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def running_dagster_dev(
    stripe_url: str, workdir: Path, start: date, command: tuple[str, ...] | None = None,
    keyless: bool = False,
) -> Iterator[DagsterUI]:
    """`dagster dev` (or `command`, e.g. `dg dev`) serving this project; stopped on exit.
    `keyless`: no STRIPE_API_KEY, STRIPE_API_BASE or STRIPE_START_DATE, as a newcomer has."""
    home, db, log = workdir / "dagster_home", workdir / "stripe.duckdb", workdir / "dagster.log"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = command or (sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml")
    ui = DagsterUI(f"http://127.0.0.1:{port}", home, db, log)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*base, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=_without_key(dagster_env(stripe_url, home, db, start), keyless),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: everything it starts is stopped
            preexec_fn=_default_sigint,
        )
        try:
            _wait_until_loaded(ui, proc)
            yield ui
        finally:
            _stop(proc)


def _without_key(env: dict[str, str], keyless: bool) -> dict[str, str]:
    if not keyless:
        return env
    gone = ("STRIPE_API_KEY", "STRIPE_API_BASE", "STRIPE_START_DATE",
            "STRIPE_REQUESTS_PER_SECOND")
    return {name: value for name, value in env.items() if name not in gone}


def _wait_until_loaded(ui: DagsterUI, proc: subprocess.Popen[bytes]) -> None:
    """Until the webserver answers and the code location has loaded (as the UI waits)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus " \
            "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DagsterUIError(f"dagster dev exited ({proc.returncode}):\n{ui.log_tail()}")
        try:
            entries = ui.graphql(query)["workspaceOrError"]["locationEntries"]
        except (requests.RequestException, DagsterUIError, KeyError):
            time.sleep(0.5)
            continue
        entry = next((e for e in entries if e["name"] == LOCATION), None)
        if entry and entry["loadStatus"] == "LOADED":
            error = entry["locationOrLoadError"]
            if error["__typename"] == "PythonError":
                raise DagsterUIError(f"The code location failed to load: {error['message']}")
            return
        time.sleep(0.5)
    raise DagsterUIError(f"dagster dev did not serve the project in {STARTUP_SECONDS}s:\n"
                         f"{ui.log_tail()}")


def _default_sigint() -> None:
    """A shell's background jobs inherit SIGINT ignored; dagster dev must hear Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C as a person would (dagster dev then stops its children), then kill what's left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # code servers and run workers, if still there
    proc.wait()


# ---- what the UI sends --------------------------------------------------------------------

ASSET_KEYS_QUERY = "{ assetNodes { assetKey { path } isPartitioned } }"

LAUNCH_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""

BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      runs { runId status jobName tags { key value } }
      error { message }
    }
    ... on PythonError { message }
  }
}
"""

DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def days(first: date, last: date) -> list[str]:
    return [(first + timedelta(n)).isoformat() for n in range((last - first).days + 1)]


def launch_backfill_of_everything(ui: DagsterUI, first: date, last: date) -> str:
    """What "Materialize all" then "Launch backfill" sends for a range of days: every asset
    key, the chosen partition names, tags as the UI adds them. Returns the backfill id."""
    keys = [{"path": n["assetKey"]["path"]} for n in ui.graphql(ASSET_KEYS_QUERY)["assetNodes"]]
    result = ui.graphql(LAUNCH_BACKFILL, {"backfillParams": {
        "assetSelection": keys,
        "partitionNames": days(first, last),
        "fromFailure": False,
        "tags": [{"key": "dagster/from_ui", "value": "true"}],
        # As saved in the launch dialog's config: one process per run instead of one per step
        # (21 check steps would each import the project), to keep the test short.
        "runConfigData": {"execution": {"config": {"in_process": {}}}},
    }})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise DagsterUIError(f"launchPartitionBackfill: {result}")
    backfill_id: str = result["backfillId"]
    return backfill_id


MATERIALIZED_QUERY = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId } } }
"""


def wait_for_backfill(ui: DagsterUI, backfill_id: str, timeout: float) -> dict[str, Any]:
    """Until the backfill is done, or every asset is materialized and every run of the
    backfill succeeded (the daemon marks it done only on its next 30 s tick)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        backfill = ui.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill.get("status") in DONE:
            return backfill
        runs = backfill.get("runs") or []
        if runs and all(r["status"] == "SUCCESS" for r in runs):
            nodes = ui.graphql(MATERIALIZED_QUERY)["assetNodes"]
            if all(n["assetMaterializations"] for n in nodes):
                return backfill
        if any(r["status"] in ("FAILURE", "CANCELED") for r in runs):
            return backfill
        time.sleep(1)
    raise DagsterUIError(f"Backfill {backfill_id} not done in {timeout:.0f}s:\n{ui.log_tail()}")


@dataclass
class LoadedUI:
    """A `dagster dev` in which a person has just materialized everything, and how it went."""

    ui: DagsterUI
    backfill: dict[str, Any]
    first: date
    last: date
    load_seconds: float


@pytest.fixture(scope="session")
def loaded_dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedUI]:
    with SandboxServer(generate(UI_ACCOUNT)) as server:
        first, last = sandbox_days(server)
        workdir = tmp_path_factory.mktemp("dagster-ui")
        with running_dagster_dev(server.url, workdir, first) as ui:
            began = time.monotonic()
            backfill = wait_for_backfill(
                ui, launch_backfill_of_everything(ui, first, last), LOAD_SECONDS
            )
            yield LoadedUI(ui, backfill, first, last, time.monotonic() - began)
