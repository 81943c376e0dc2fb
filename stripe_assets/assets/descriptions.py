"""What each Stripe table holds and how it is loaded: shown as the asset description in the UI."""

PARTITIONED_HOW = (
    "Loaded by day of `created` (UTC) with `created[gte]`/`created[lt]` windows fetched "
    "concurrently; re-materializing a day replaces exactly that day's rows, which is how changed "
    "objects are refreshed."
)

WHAT = {
    "customers": "Stripe customers (`cus_...`): contact details, currency, balance, delinquency. "
    "Customers deleted in Stripe are not listed by Stripe and so are absent.",
    "charges": "Stripe charges (`ch_...`): every attempt to move money, succeeded, failed or "
    "pending, with `amount`, `amount_captured` and `amount_refunded` in minor units.",
    "payment_intents": "Stripe payment intents (`pi_...`): the lifecycle of each payment, with "
    "its status, `latest_charge` and `payment_method`.",
    "setup_intents": "Stripe setup intents (`seti_...`): payment methods saved for later use.",
    "refunds": "Stripe refunds (`re_...`), each pointing at the `charge` it refunds; `amount` in "
    "minor units, `status` succeeded, pending, failed or canceled.",
    "payouts": "Stripe payouts (`po_...`) to the merchant's bank: `amount`, `arrival_date`, "
    "`status` and `method` (standard or instant).",
    "payment_links": "Stripe payment links (`plink_...`). Stripe has no `created` filter (nor "
    "field) for them, so the whole table is re-read on every run.",
    "payment_methods": "Payment methods (`pm_...`): those saved on customers (listed per "
    "customer, as `GET /v1/payment_methods` does not list them) plus guest-checkout methods "
    "referenced by payment intents, setup intents and charges, retrieved by id. Full refresh.",
}


def describe(name: str, partitioned: bool) -> str:
    how = PARTITIONED_HOW if partitioned else ""
    return f"{WHAT[name]} {how}".strip() + f" Table `stripe.{name}` in DuckDB."
