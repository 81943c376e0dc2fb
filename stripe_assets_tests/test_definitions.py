"""The code location `dagster dev` loads: every asset, its lineage and its settings."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from dagster._core.definitions.freshness import TimeWindowFreshnessPolicy

from stripe_assets.definitions import defs
from stripe_assets_tests.workspace_support import code_location, current_state

RAW = ["customers", "charges", "payment_intents", "setup_intents", "refunds", "payouts",
       "payment_links", "payment_methods", "events"]
PARTITIONED = {"customers", "charges", "payment_intents", "setup_intents", "refunds", "payouts",
               "events"}
ANALYTICS = ["refund_rates", "payout_summary", "deleted_objects"]

EXPECTED_EDGES = {
    ("stripe/customers", "stripe/payment_methods"),
    ("stripe/payment_intents", "stripe/payment_methods"),
    ("stripe/setup_intents", "stripe/payment_methods"),
    ("stripe/charges", "stripe/payment_methods"),
    ("stripe/charges", "analytics/refund_rates"),
    ("stripe/refunds", "analytics/refund_rates"),
    ("stripe/payouts", "analytics/payout_summary"),
    ("stripe/events", "analytics/deleted_objects"),
}


def _graph() -> dict[str, dg.AssetSpec]:
    return {k.to_user_string(): s for k, s in
            ((spec.key, spec) for a in defs.assets or [] for spec in a.specs)}  # type: ignore[union-attr]


def test_definitions_load_as_dagster_dev_would():
    dg.Definitions.validate_loadable(defs)


def test_every_asset_key_is_present_and_nothing_else():
    assert set(_graph()) == {f"stripe/{n}" for n in RAW} | {f"analytics/{n}" for n in ANALYTICS}


def test_lineage_has_exactly_the_expected_edges():
    edges = {(dep.asset_key.to_user_string(), key)
             for key, spec in _graph().items() for dep in spec.deps}
    assert edges == EXPECTED_EDGES


def test_groups_kinds_and_descriptions():
    for key, spec in _graph().items():
        group = key.split("/")[0]
        assert spec.group_name == group
        assert spec.description and len(spec.description) > 40
        assert "duckdb" in spec.kinds
        if group == "stripe":
            assert "stripe" in spec.kinds


def test_created_endpoints_are_daily_utc_partitions_backfilled_in_one_run():
    repo = defs.get_repository_def()
    for name in RAW:
        asset = repo.assets_defs_by_key[dg.AssetKey(["stripe", name])]
        if name in PARTITIONED:
            pdef = asset.partitions_def
            assert isinstance(pdef, dg.DailyPartitionsDefinition)
            assert pdef.timezone == "UTC"
            assert asset.backfill_policy == dg.BackfillPolicy.single_run()
            assert asset.metadata_by_key[asset.key]["partition_expr"] == "created"
        else:
            assert asset.partitions_def is None


def test_todays_partition_exists():
    from datetime import UTC, datetime

    asset = defs.get_repository_def().assets_defs_by_key[dg.AssetKey(["stripe", "charges"])]
    today = datetime.now(UTC).date().isoformat()
    assert asset.partitions_def.get_last_partition_key() == today  # type: ignore[union-attr]


def test_the_api_key_comes_from_the_environment_not_config():
    stripe = defs.resources["stripe"]  # type: ignore[index]
    assert isinstance(stripe.api_key, dg.EnvVar)  # type: ignore[union-attr]
    assert stripe.api_key.env_var_name == "STRIPE_API_KEY"  # type: ignore[union-attr]


# ---- keeping the tables fresh: sensors, schedules, automation, checks ----------------------

SCHEDULE_CRONS = {"refresh_recent_days": "5 * * * *", "refresh_full_tables_daily": "30 3 * * *"}
DEFAULT_STATUS = {
    "stripe_events_sensor": "RUNNING",
    "stripe_automation_sensor": "RUNNING",
    "refresh_recent_days": "STOPPED",
    "refresh_full_tables_daily": "STOPPED",
}
CHECKS = {
    **{f"stripe/{n}": {"id_is_unique", "id_and_created_not_null", "livemode_is_consistent"}
       for n in RAW},
}
CHECKS["stripe/charges"] = CHECKS["stripe/charges"] | {"amount_refunded_within_amount"}
CHECKS["stripe/refunds"] = CHECKS["stripe/refunds"] | {"refund_charges_exist"}
CHECKS["stripe/events"] = CHECKS["stripe/events"] | {"events_sensor_is_polling"}


def test_every_schedule_cron_and_every_default_status_snapshot():
    repo = defs.get_repository_def()
    assert {s.name: (s.cron_schedule, s.execution_timezone) for s in repo.schedule_defs} == {
        name: (cron, "UTC") for name, cron in SCHEDULE_CRONS.items()}
    statuses = {s.name: s.default_status.value for s in repo.schedule_defs}
    statuses |= {s.name: s.default_status.value for s in repo.sensor_defs}
    assert statuses == DEFAULT_STATUS


def test_jobs_the_automation_launches_exist_with_their_selections():
    repo = defs.get_repository_def()
    days = repo.get_job("refresh_stripe_days")
    assert {k.to_user_string() for k in days.asset_layer.executable_asset_keys} == {
        f"stripe/{n}" for n in PARTITIONED}
    full = repo.get_job("refresh_stripe_full_tables")
    assert {k.to_user_string() for k in full.asset_layer.executable_asset_keys} == {
        "stripe/payment_links", "stripe/payment_methods"}
    sensor = repo.get_sensor_def("stripe_events_sensor")
    assert {j.name for j in sensor.jobs} == {"refresh_stripe_days", "refresh_stripe_full_tables"}
    assert sensor.minimum_interval_seconds == 30
    assert "stripe" in sensor.required_resource_keys


def test_every_check_is_present_and_nothing_else():
    found: dict[str, set[str]] = {}
    for checks_def in defs.asset_checks or []:
        for key in checks_def.check_keys:  # type: ignore[union-attr]
            found.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    assert found == CHECKS


def test_analytics_update_themselves_and_raw_tables_have_a_freshness_policy():
    for key, spec in _graph().items():
        if key.startswith("analytics/"):
            assert spec.automation_condition is not None, key
            assert spec.freshness_policy is None, key
        else:
            assert spec.automation_condition is None, key  # loaded by the sensor and schedules
            policy = spec.freshness_policy
            assert isinstance(policy, TimeWindowFreshnessPolicy), key
            assert policy.warn_window and policy.warn_window.to_timedelta() == timedelta(hours=25)
            assert policy.fail_window.to_timedelta() == timedelta(days=3)


def test_checks_read_the_file_the_io_manager_writes():
    resources = defs.resources or {}
    assert resources["warehouse"].database == resources["io_manager"].database  # type: ignore[union-attr]


def test_instigators_run_or_not_by_default_as_the_instance_sees_them(tmp_path):
    """Through a real instance and the loaded code location, as the daemon decides what to
    tick: the events sensor and the automation run with nobody clicking, the schedules wait
    for someone to turn them on, and a person's choice in the UI wins over the default."""
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        with code_location(instance) as repo:
            instigators: list[Any] = [*repo.get_sensors(), *repo.get_schedules()]
            running = {i.name: current_state(instance, i).is_running for i in instigators}
            assert running == {name: status == "RUNNING" for name, status in DEFAULT_STATUS.items()}

            sensor = repo.get_sensor("stripe_events_sensor")
            instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
            schedule = repo.get_schedule("refresh_recent_days")
            instance.start_schedule(schedule)
        # A restart of the code location keeps the choices (they live in the instance).
        with code_location(instance) as repo:
            assert not current_state(instance, repo.get_sensor("stripe_events_sensor")).is_running
            assert current_state(instance, repo.get_schedule("refresh_recent_days")).is_running
            assert current_state(instance, repo.get_sensor("stripe_automation_sensor")).is_running


def test_the_sensor_health_check_runs_hourly_on_its_own_and_nothing_else_runs_idle():
    """Evaluated by the automation sensor, not only after loads: a stopped events sensor
    launches no run, and its health check must still report that."""
    def at(hour: int, minute: int) -> datetime:
        return datetime(2026, 1, 1, hour, minute, tzinfo=UTC)

    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                  evaluation_time=at(10, 0))
        same_hour = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                      cursor=first.cursor,
                                                      evaluation_time=at(10, 10))
        past_quarter = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                         cursor=same_hour.cursor,
                                                         evaluation_time=at(10, 20))
    assert first.total_requested == same_hour.total_requested == 0
    assert [r.key for r in past_quarter.results if r.true_subset.size] == [
        dg.AssetCheckKey(dg.AssetKey(["stripe", "events"]), "events_sensor_is_polling")]


def test_loading_the_definitions_warns_about_nothing_a_user_can_act_on():
    # dagster dev, its code server and every run load them: a beta warning per asset each time
    # (backfill_policy, chosen on purpose) buried what mattered in their output.
    loaded = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import stripe_assets.definitions"],
        capture_output=True, text=True, timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "Warning" not in loaded.stderr, loaded.stderr
