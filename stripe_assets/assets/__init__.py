"""Software-defined assets: one per Stripe endpoint (group `stripe`), and the analytics."""

from stripe_assets.assets.analytics import payout_summary, refund_rates
from stripe_assets.assets.payment_links import payment_links
from stripe_assets.assets.payment_methods import payment_methods
from stripe_assets.assets.stripe_lists import created_partitioned_assets

stripe_assets_defs = [*created_partitioned_assets, payment_links, payment_methods]
analytics_assets_defs = [refund_rates, payout_summary]
all_assets = [*stripe_assets_defs, *analytics_assets_defs]

__all__ = ["all_assets", "analytics_assets_defs", "stripe_assets_defs"]
