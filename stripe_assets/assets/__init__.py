"""Software-defined assets: one per Stripe endpoint (group `stripe`), and the analytics."""

import dagster as dg

from stripe_assets.assets.analytics import payout_summary, refund_rates
from stripe_assets.assets.deleted_objects import deleted_objects
from stripe_assets.assets.events import events
from stripe_assets.assets.freshness import with_raw_freshness
from stripe_assets.assets.payment_links import payment_links
from stripe_assets.assets.payment_methods import payment_methods
from stripe_assets.assets.stripe_lists import created_partitioned_assets
from stripe_assets.automation.conditions import ANALYTICS_CONDITION


def _with_automation(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Analytics rebuild themselves after their upstream changes (see automation/conditions)."""
    return list(dg.map_asset_specs(
        lambda spec: spec.replace_attributes(automation_condition=ANALYTICS_CONDITION), assets
    ))


stripe_assets_defs = [
    *with_raw_freshness([*created_partitioned_assets, payment_links, payment_methods]),
    events,
]
analytics_assets_defs = [*_with_automation([refund_rates, payout_summary]), deleted_objects]
all_assets = [*stripe_assets_defs, *analytics_assets_defs]

__all__ = ["all_assets", "analytics_assets_defs", "stripe_assets_defs"]
