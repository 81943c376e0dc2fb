"""Jobs named for what people do with the data."""

import dagster as dg

load_everything = dg.define_asset_job(
    "load_everything",
    selection=dg.AssetSelection.all(),
    description="Load every Stripe endpoint (all selected days) and rebuild the analytics.",
)

all_jobs = [load_everything]
