"""The code location `dagster dev` loads (see workspace.yaml)."""

import dagster as dg

from stripe_assets.assets import all_assets
from stripe_assets.jobs import all_jobs
from stripe_assets.resources import build_resources

defs = dg.Definitions(assets=all_assets, jobs=all_jobs, resources=build_resources())
