"""Daily partitions on each object's `created` day, in UTC, up to and including today."""

import dagster as dg

from stripe_assets import settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.start_date().isoformat(),
    timezone="UTC",
    # Include today's partition: Stripe data for today is already there to load.
    end_offset=1,
)
