"""`stripe-assets dev` without a key: dagster dev against the bundled sandbox."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dagster as dg

from stripe_assets import cli, local_sandbox


def test_dev_without_a_key_serves_the_sandbox_with_partitions_from_its_first_day(
    monkeypatch, tmp_path, capsys
):
    launched: dict = {}

    @contextmanager
    def fake_sandbox(args=None, **kwargs):
        launched.update(sandbox_args=args)
        yield "http://127.0.0.1:1"

    def fake_call(command, env=None):
        launched.update(command=command, env=env)
        return 0

    for name in ("STRIPE_API_KEY", "STRIPE_START_DATE", "STRIPE_API_BASE",
                 "STRIPE_SANDBOX_ACTIVITY_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setattr(local_sandbox, "running_sandbox", fake_sandbox)
    monkeypatch.setattr(subprocess, "call", fake_call)

    assert cli.main(["dev"]) == 0
    env = launched["env"]
    assert env["STRIPE_API_BASE"] == "http://127.0.0.1:1"
    assert env["STRIPE_API_KEY"].startswith("sk_test_")
    # The sandbox's default history: 365 days up to yesterday.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert env["STRIPE_START_DATE"] == (yesterday - timedelta(days=364)).isoformat()
    assert launched["command"][-4:] == ["dagster", "dev", "-w", "workspace.yaml"]
    # Not "Use 'dg dev' instead": users of stripe-assets dev run stripe-assets dev.
    assert "ignore:Function `dev_command` is superseded" in launched["command"]
    # Its account changes every two minutes, for the events sensor to show.
    assert launched["sandbox_args"] == ["--activity", "120.0"]

    monkeypatch.setenv("STRIPE_SANDBOX_ACTIVITY_SECONDS", "0")
    assert cli.main(["dev"]) == 0
    assert launched["sandbox_args"] == ["--activity", "0.0"]
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
