"""payment_methods costs a request per customer and per guest method: both fan-outs run
concurrently, under the shared limit."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
import pytest

from stripe_assets.assets.payment_methods import payment_methods
from stripe_assets.io_manager import StripeObjects
from stripe_assets.stripe_client import StripeClient

LIMIT = 60  # requests per second, the sandbox's and the client's


def column(server, endpoint: str, field: str, keep: bool) -> pd.DataFrame:
    values = [o.get(field) for o in server.account.objects(endpoint)] if keep else []
    return pd.DataFrame({field: pd.Series(values, dtype=object)})


@pytest.mark.parametrize(("customers", "intents"), [(True, False), (False, True)],
                         ids=["saved methods, per customer", "guest methods, by id"])
def test_payment_methods_fetches_concurrently_and_stays_under_the_limit(
    sandbox_factory, customers: bool, intents: bool
):
    # 100 ms a request: one at a time, the 120 customers (or ~100 guest methods) of the sandbox
    # would never overlap. Each case feeds one fan-out only, so each is proven on its own.
    server = sandbox_factory(latency=0.1, rate_limit=LIMIT)
    stripe = StripeClient(api_key="sk_test_51FanOutKey00000000000000aaaa", api_base=server.url,
                          requests_per_second=LIMIT)
    objects = payment_methods(
        context=dg.build_asset_context(),
        stripe=stripe,
        customers=column(server, "customers", "id", customers),
        payment_intents=column(server, "payment_intents", "payment_method", intents),
        setup_intents=column(server, "setup_intents", "payment_method", intents),
        charges=column(server, "charges", "payment_method", intents),
    )
    assert isinstance(objects, StripeObjects)
    try:
        lines = objects.spool.finish().read_text().splitlines()
    finally:
        objects.spool.discard()
    fetched = [o["id"] for line in lines for o in json.loads(line)["data"]]
    # Exactly the methods of the fed fan-out, each once: a customer's saved ones, or the ones
    # intents and charges name (all guests' here, since no customer was fed).
    account = server.account
    if customers:
        listed = {c["id"] for c in account.objects("customers")}
        expected = {pm["id"] for pm in account.objects("payment_methods")
                    if pm["customer"] in listed}
    else:
        expected = {o["payment_method"] for name in ("payment_intents", "setup_intents",
                                                     "charges")
                    for o in account.objects(name) if o["payment_method"]}
    assert len(expected) > 50
    assert sorted(fetched) == sorted(expected)
    stats = server.stats
    assert stats.max_in_flight >= 4  # Little's law: 60/s x 0.1 s = 6 in flight at full pace
    assert stats.max_requests_in_1s <= LIMIT
    assert stats.rate_limited == 0
