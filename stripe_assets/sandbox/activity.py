"""A merchant's day, simulated: the sandbox account keeps changing while it is served.

A real account's event log never stops: refunds of old charges, customers editing their
details, cards removed, accounts closed. With `--activity SECONDS` the sandbox makes one such
change every SECONDS on average (exponential gaps, as independent customers would) through the
same code as its API's writes, so each change moves the lists and appends the events Stripe
would. That is what lets `stripe-assets dev` show the events sensor at work with no Stripe key:
it sees the new events and re-loads the days of the objects they touch.

No new charges are made: the generated history ends yesterday, and changes to it are what the
sensor exists for.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from stripe_assets.sandbox.errors import StripeError
from stripe_assets.sandbox.generator import Rng
from stripe_assets.sandbox.mutations import Mutations
from stripe_assets.sandbox.store import Item, Store

# What a merchant's account sees most, by share of changes.
CHANGES = (("refund", 55), ("update_customer", 30), ("detach_card", 10), ("delete_customer", 5))
_REASONS = (None, "requested_by_customer", "duplicate", "fraudulent")
_SEGMENTS = ("retail", "wholesale", "vip", "trial")


class Activity:
    """Changes the account behind `mutations`; `step()` makes one change, `run()` keeps on."""

    def __init__(self, store: Store, mutations: Mutations, every_seconds: float, seed: int):
        if every_seconds <= 0:
            raise ValueError("activity needs a positive number of seconds between changes")
        self.store = store
        self.mutations = mutations
        self.every_seconds = every_seconds
        self.rng = Rng(seed, "activity")

    def step(self) -> str:
        """Make one change: the first kind drawn that has something to change. Returns what
        it did, e.g. "refund ch_... 1200"."""
        kinds = [kind for kind, _ in CHANGES]
        first = self.rng.choices(kinds, weights=[w for _, w in CHANGES])[0]
        for kind in [first, *(k for k in kinds if k != first)]:
            made: str = getattr(self, f"_{kind}")()
            if made:
                return made
        return "nothing left to change"

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.rng.expovariate(1 / self.every_seconds)):
            try:
                self.step()
            except Exception:  # a bug in one change must not end the account's activity
                traceback.print_exc(file=sys.stderr)

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="sandbox-activity",
                                  daemon=True)
        thread.start()
        return thread

    # -- the changes: each returns what it did, or "" when nothing of its kind is left

    def _refund(self) -> str:
        charge = self._pick("charges", lambda c: c["status"] == "succeeded" and c["captured"]
                            and c["amount_refunded"] < c["amount_captured"])
        if charge is None:
            return ""
        params: dict[str, Any] = {"charge": charge["id"]}
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining > 1 and self.rng.random() < 0.4:  # partial: part of an order returned
            params["amount"] = str(max(1, remaining // 2))
        reason = self.rng.choice(_REASONS)
        if reason:
            params["reason"] = reason
        refund = self._write(lambda r: self.mutations.create_refund(params, r))
        return f"refund {charge['id']} {refund['amount']}" if refund else ""

    def _update_customer(self) -> str:
        customer = self._pick("customers", lambda c: True)
        if customer is None:
            return ""
        params: dict[str, Any] = {"metadata": {"segment": self.rng.choice(_SEGMENTS)}}
        if self.rng.random() < 0.5:
            params["email"] = f"{self.rng.token(8).lower()}@example.com"
        done = self._write(lambda r: self.mutations.update("customers", customer["id"], params, r))
        return f"update {customer['id']}" if done else ""

    def _detach_card(self) -> str:
        card = self._pick("payment_methods", lambda p: p["customer"] is not None)
        if card is None:
            return ""
        done = self._write(lambda r: self.mutations.detach_payment_method(card["id"], {}, r))
        return f"detach {card['id']}" if done else ""

    def _delete_customer(self) -> str:
        customer = self._pick("customers", lambda c: True)
        if customer is None:
            return ""
        done = self._write(lambda r: self.mutations.delete_customer(customer["id"], {}, r))
        return f"delete {customer['id']}" if done else ""

    def _pick(self, kind: str, wanted: Callable[[dict[str, Any]], bool],
              tries: int = 50) -> dict[str, Any] | None:
        """A random live object of `kind` that is `wanted` (decoding only the ones tried)."""
        with self.store.lock:
            items: list[Item] = [i for i in self.store.collections[kind].items if not i.deleted]
        for _ in range(min(tries, len(items))):
            obj = self.rng.choice(items).to_dict()
            if wanted(obj):
                return obj
        return None

    def _write(self, write: Callable[[str], bytes]) -> dict[str, Any] | None:
        """Run a write as the API would for a request; None if the sandbox refused it (a race
        with an API client changing the same object)."""
        try:
            body = write(f"req_{self.rng.token(14)}")
        except StripeError:
            return None
        answer: dict[str, Any] = json.loads(body)
        return answer
