"""Daily partitions on each object's `created` day, in UTC, up to and including today."""

import warnings

import dagster as dg

from stripe_assets import settings

# The day assets take `backfill_policy` (one run per range), which Dagster marks beta and warns
# about once per asset in every process that loads the definitions: `dagster dev`, its code
# server, each run. The choice is made here, on purpose; the warning is nothing a user can act on.
warnings.filterwarnings(
    "ignore", message="Parameter `backfill_policy` of function", category=dg.BetaWarning
)

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.start_date().isoformat(),
    timezone="UTC",
    # Include today's partition: Stripe data for today is already there to load.
    end_offset=1,
)
