"""Count every charge with the official `stripe` SDK's auto-pagination (the project's venv).

For reference only: the objects are counted, not stored, so this does less work than a loader.
Run by bench_load.py as a subprocess; prints one JSON line with the count.

    STRIPE_API_KEY=sk_test_x python sdk_charges.py --base-url URL
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import stripe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the API base, e.g. the sandbox URL")
    args = parser.parse_args(argv)
    client = stripe.StripeClient(
        os.environ["STRIPE_API_KEY"], base_addresses={"api": args.base_url.rstrip("/")}
    )
    began = time.monotonic()
    count = 0
    ids: set[str] = set()
    for charge in client.v1.charges.list(params={"limit": 100}).auto_paging_iter():
        count += 1
        ids.add(charge.id)
    print(json.dumps({"rows": count, "distinct": len(ids),
                      "seconds": round(time.monotonic() - began, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
