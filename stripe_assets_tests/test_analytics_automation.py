"""When the analytics rebuild themselves (ANALYTICS_CONDITION, evaluated as the automation
sensor does), on a real instance with recorded materializations."""

from __future__ import annotations

from typing import Any

import dagster as dg

from stripe_assets.assets.partitions import daily_partitions
from stripe_assets.definitions import defs

REFUND_RATES = dg.AssetKey(["analytics", "refund_rates"])
PAYOUT_SUMMARY = dg.AssetKey(["analytics", "payout_summary"])


def requested(result: Any) -> set[dg.AssetKey]:
    return {r.key for r in result.results
            if r.true_subset.size and isinstance(r.key, dg.AssetKey)}


BLOCKING = ("id_is_unique", "id_and_created_not_null", "livemode_is_consistent")


def loaded(instance: dg.DagsterInstance, table: str, day: str | None = None,
           failed: str | None = None) -> None:
    """A run loaded a day of `table` and ran its blocking checks (`failed` did not pass)."""
    key = dg.AssetKey(["stripe", table])
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=day))
    checks = BLOCKING + (("amount_refunded_within_amount",) if table == "charges" else ())
    for check in checks:
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=key, check_name=check, passed=check != failed, metadata={},
            severity=dg.AssetCheckSeverity.ERROR))


def with_code_version(key: dg.AssetKey, version: str) -> dg.Definitions:
    """The project's definitions after a deploy that changed one asset's code_version."""
    assets = [dg.map_asset_specs(
        lambda spec: spec.replace_attributes(code_version=version) if spec.key == key else spec,
        [a])[0] for a in defs.assets or []]  # type: ignore[list-item]
    return dg.Definitions(assets=assets, asset_checks=defs.asset_checks,
                          resources=defs.resources)


def test_analytics_wait_until_every_upstream_table_was_loaded_once():
    day = daily_partitions.get_last_partition_key()
    with dg.instance_for_test() as instance:
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        loaded(instance, "charges", day)
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=result.cursor)
        # refund_rates reads stripe.refunds too, which no run has written: it would fail.
        assert REFUND_RATES not in requested(result)

        loaded(instance, "refunds", day)
        loaded(instance, "payouts", day)
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=result.cursor)
        assert {REFUND_RATES, PAYOUT_SUMMARY} <= requested(result)


def test_a_new_code_version_rebuilds_the_analytics_asset_without_upstream_changes():
    day = daily_partitions.get_last_partition_key()
    with dg.instance_for_test() as instance:
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        for table in ("charges", "refunds", "payouts"):
            loaded(instance, table, day)
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=result.cursor)
        assert REFUND_RATES in requested(result)
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=REFUND_RATES))
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=result.cursor)
        assert REFUND_RATES not in requested(result)  # handled: nothing changed since

        deployed = with_code_version(REFUND_RATES, "new-sql")
        result = dg.evaluate_automation_conditions(defs=deployed, instance=instance,
                                                   cursor=result.cursor)
        assert requested(result) & {REFUND_RATES, PAYOUT_SUMMARY} == {REFUND_RATES}


def test_analytics_wait_while_an_upstream_blocking_check_fails():
    # A duplicated charge id (id_is_unique failed) must not reach the finance tables.
    day = daily_partitions.get_last_partition_key()
    with dg.instance_for_test() as instance:
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        loaded(instance, "charges", day, failed="id_is_unique")
        loaded(instance, "refunds", day)
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=result.cursor)
        assert REFUND_RATES not in requested(result)

        loaded(instance, "charges", day)  # re-loaded, and the check passes again
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=result.cursor)
        assert REFUND_RATES in requested(result)
