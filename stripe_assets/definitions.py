"""The code location `dagster dev` loads (see workspace.yaml)."""

import dagster as dg

from stripe_assets.assets import all_assets
from stripe_assets.automation.conditions import automation_sensor
from stripe_assets.automation.events_sensor import stripe_events_sensor
from stripe_assets.automation.schedules import all_schedules
from stripe_assets.checks import all_checks
from stripe_assets.jobs import all_jobs
from stripe_assets.resources import build_resources, with_warehouse

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=all_jobs,
    schedules=all_schedules,
    sensors=[stripe_events_sensor, automation_sensor],
    resources=with_warehouse(build_resources()),
)
