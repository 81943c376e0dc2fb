"""payment_methods costs a request per customer: they run concurrently, under the limit."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from stripe_assets.assets.payment_methods import payment_methods
from stripe_assets.stripe_client import StripeClient

LIMIT = 60  # requests per second, the sandbox's and the client's


def column(server, endpoint: str, field: str) -> pd.DataFrame:
    return pd.DataFrame({field: [o.get(field) for o in server.account.objects(endpoint)]})


def test_payment_methods_fetches_customers_concurrently_and_stays_under_the_limit(
    sandbox_factory,
):
    # 100 ms a request: one at a time, 120 customers would take 12 s and never overlap.
    server = sandbox_factory(latency=0.1, rate_limit=LIMIT)
    stripe = StripeClient(api_key="sk_test_51FanOutKey00000000000000aaaa", api_base=server.url,
                          requests_per_second=LIMIT)
    objects = payment_methods(
        context=dg.build_asset_context(),
        stripe=stripe,
        customers=column(server, "customers", "id"),
        payment_intents=column(server, "payment_intents", "payment_method"),
        setup_intents=column(server, "setup_intents", "payment_method"),
    )
    try:
        assert objects.spool.object_count > 0
    finally:
        objects.spool.discard()
    stats = server.stats
    assert stats.max_in_flight >= 4  # Little's law: 60/s x 0.1 s = 6 in flight at full pace
    assert stats.max_requests_in_1s <= LIMIT
    assert stats.rate_limited == 0
