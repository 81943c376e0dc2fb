"""A deterministic Stripe test-mode account, built from a seed.

The generator decides the facts: who signs up when, who pays what with which card, which
payments fail, which get refunded and when, when money is paid out. `shapes` lays the facts out
as Stripe objects, which are serialised once here; the server then only joins bytes.

Same config (seed included) -> byte-identical objects. Each kind of object draws from its own
random stream, so changing, say, the number of payouts leaves the charges as they were.
"""

from __future__ import annotations

import gc
import json
import random
import time
from binascii import b2a_base64
from bisect import bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any, NamedTuple

from stripe_assets.sandbox import shapes
from stripe_assets.sandbox.events import EventParts, event_parts
from stripe_assets.sandbox.shapes import Card, Json
from stripe_assets.sandbox.store import Store

DAY = 86400


@dataclass(frozen=True)
class SandboxConfig:
    """What account to build. Counts left as None are derived from the others."""

    seed: int = 42
    customers: int = 300
    charges: int = 2000
    days: int = 365  # length of history
    # Last day of history (inclusive). None: yesterday (UTC), the last whole day: real Stripe
    # never lists an object created later than now, and a history through the end of today
    # would (while a whole day keeps the account the same all day).
    end: date | None = None
    payment_intents: int | None = None  # >= charges; default: charges + 6% never charged
    setup_intents: int | None = None  # default: customers // 3 + charges // 100
    refund_rate: float = 0.08  # share of captured charges that get refunds
    guest_rate: float = 0.12  # share of charges paid without a customer
    new_card_rate: float = 0.08  # share of customers' charges paid with a new card, then saved
    payouts: int | None = None  # default: one per two days
    payment_links: int = 25
    deleted_customer_rate: float = 0.02  # share of customers deleted after their last activity
    detached_card_rate: float = 0.3  # share of replaced saved cards detached afterwards
    event_retention_days: int | None = None  # Stripe keeps 30; None keeps every event

    def end_date(self) -> date:
        return self.end if self.end is not None else datetime.now(UTC).date() - timedelta(days=1)

    def clock(self) -> int:
        """The moment the account is at, for what Stripe decides by "now" (which events it
        still serves): now, or the end of a history that was given an earlier end."""
        now = int(time.time())
        return now if self.end is None else min(now, self.span()[1])

    def span(self) -> tuple[int, int]:
        """[start, end) in Unix seconds: `days` whole UTC days, the last one being `end`."""
        end_day = self.end_date() + timedelta(days=1)
        end_ts = int(datetime(end_day.year, end_day.month, end_day.day, tzinfo=UTC).timestamp())
        return end_ts - self.days * DAY, end_ts

    def counts(self) -> dict[str, int]:
        """Every object count, derived ones resolved."""
        pis = self.payment_intents
        return {
            "customers": self.customers,
            "charges": self.charges,
            "payment_intents": pis if pis is not None else self.charges + self.charges * 6 // 100,
            "setup_intents": (
                self.setup_intents
                if self.setup_intents is not None
                else self.customers // 3 + self.charges // 100
            ),
            "payouts": self.payouts if self.payouts is not None else self.days // 2,
            "payment_links": self.payment_links,
        }

    def validate(self) -> None:
        counts = self.counts()
        for name, n in counts.items():
            if n < 0:
                raise ValueError(f"{name} must be >= 0, got {n}")
        if counts["payment_intents"] < self.charges:
            raise ValueError("payment_intents must be >= charges: every charge has one")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        for name in ("refund_rate", "guest_rate", "new_card_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


def generate(config: SandboxConfig) -> Store:
    """Build the account described by `config` into a new Store."""
    config.validate()
    # Millions of small, acyclic objects: the cyclic GC would rescan them over and over
    # (a quarter of the time at 500k charges) and find nothing to free.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Generator(config).run()
    finally:
        # They also live as long as the server: out of the collector's sight, so that a full
        # collection while serving does not stall every request for as long as it takes to scan
        # them (the request-rate statistics would see that stall as a burst after it).
        gc.freeze()
        if was_enabled:
            gc.enable()


# --- facts about the world -------------------------------------------------------------------


class Currency(NamedTuple):
    code: str
    exponent: int  # digits after the decimal point: jpy 0, usd 2, kwd 3
    per_usd: float  # rough exchange rate, for amounts of a similar value everywhere
    step: int  # amounts are multiples of this (Stripe wants 3-decimal amounts to end in 0)


CURRENCIES = {
    c.code: c
    for c in [
        Currency("usd", 2, 1.0, 1),
        Currency("eur", 2, 0.92, 1),
        Currency("gbp", 2, 0.79, 1),
        Currency("cad", 2, 1.36, 1),
        Currency("aud", 2, 1.52, 1),
        Currency("jpy", 0, 150.0, 10),
        Currency("kwd", 3, 0.307, 10),
        Currency("bhd", 3, 0.376, 10),
    ]
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class Country(NamedTuple):
    code: str
    currency: str
    weight: float
    locale: str
    phone_prefix: str
    cities: tuple[tuple[str, str | None, str], ...]  # city, state, postal code


COUNTRIES = [
    Country("US", "usd", 48, "en-US", "+1", (
        ("San Francisco", "CA", "94103"), ("New York", "NY", "10001"), ("Austin", "TX", "78701"),
        ("Chicago", "IL", "60601"), ("Seattle", "WA", "98101"), ("Miami", "FL", "33101"),
    )),
    Country("GB", "gbp", 11, "en-GB", "+44", (
        ("London", None, "EC1A 1BB"), ("Manchester", None, "M1 1AE"), ("Leeds", None, "LS1 4AP"),
    )),
    Country("DE", "eur", 7, "de-DE", "+49", (
        ("Berlin", None, "10115"), ("München", None, "80331"),
    )),
    Country("FR", "eur", 5, "fr-FR", "+33", (("Paris", None, "75001"), ("Lyon", None, "69001"))),
    Country("NL", "eur", 3, "nl-NL", "+31", (("Amsterdam", None, "1012 JS"),)),
    Country("IE", "eur", 2, "en-IE", "+353", (("Dublin", None, "D02 X285"),)),
    Country("CA", "cad", 5, "en-CA", "+1", (
        ("Toronto", "ON", "M5V 2T6"), ("Vancouver", "BC", "V6B 1A1"),
    )),
    Country("AU", "aud", 4, "en-AU", "+61", (
        ("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"),
    )),
    Country("JP", "jpy", 8, "ja-JP", "+81", (
        ("Tokyo", "Tokyo", "100-0001"), ("Osaka", "Osaka", "530-0001"),
    )),
    Country("KW", "kwd", 4, "ar-KW", "+965", (("Kuwait City", None, "13001"),)),
    Country("BH", "bhd", 3, "ar-BH", "+973", (("Manama", None, "317"),)),
]  # fmt: skip
_COUNTRY_CUM = list(accumulate(c.weight for c in COUNTRIES))

# Non-ASCII names on purpose: a loader must keep UTF-8 intact.
FIRST_NAMES = _words(
    "Jenny Olivia Liam Noah Emma Ava Sophia Lucas Mia Ethan Amelia Mateo Chloé José Zoë Søren "
    "Aoife Hiroshi Yuki Haruto Fatima Omar Layla Priya Arjun Wei Mei Lars Ingrid Björn Élodie "
    "Camille Marta Nikos Chidi Amara Diego Lucía Sam Alex"
)
LAST_NAMES = _words(
    "Rosen Smith Johnson Williams Brown García Müller Schmidt Dubois Martin Jansen Murphy Kelly "
    "Tanaka Suzuki Sato Al-Sabah Haddad Patel Singh Chen Wang Nielsen Andersson O'Brien Rossi "
    "Nowak Kowalski Okafor Silva Santos Kim Lee Nguyen Cohen"
)
STREETS = ("Market Street", "Main Street", "High Street", "Station Road", "Park Avenue", "Elm Way")

# Some of the catalogue (repeat prices), the rest free-form amounts (orders of many items).
PRODUCTS = (
    ("Starter plan", 9), ("Pro plan", 29), ("Team plan", 99), ("Annual Pro plan", 290),
    ("T-shirt", 25), ("Hoodie", 59), ("Sticker pack", 5), ("Gift card", 50),
    ("Workshop ticket", 149),
)  # fmt: skip

CARD_BRANDS = (("visa", 52), ("mastercard", 30), ("amex", 10), ("discover", 4), ("unionpay", 2))
_BRAND_NAMES = [b for b, _ in CARD_BRANDS]
_BRAND_CUM = list(accumulate(w for _, w in CARD_BRANDS))


class Decline(NamedTuple):
    reason: str  # outcome.reason and decline_code
    failure_code: str
    message: str
    network_decline_code: str | None
    advice_code: str | None
    weight: int


DECLINES = (
    Decline("generic_decline", "card_declined", "Your card was declined.", "05",
            "try_again_later", 45),
    Decline("insufficient_funds", "card_declined", "Your card has insufficient funds.", "51",
            "try_again_later", 28),
    Decline("lost_card", "card_declined", "Your card was declined.", "41", "do_not_try_again", 4),
    Decline("stolen_card", "card_declined", "Your card was declined.", "43", "do_not_try_again", 3),
    Decline("expired_card", "expired_card", "Your card has expired.", "54",
            "confirm_card_data", 7),
    Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "N7",
            "confirm_card_data", 6),
    # Blocked by Radar before reaching the card network.
    Decline("highest_risk_level", "card_declined", "Your card was declined.", None, None, 7),
)  # fmt: skip
_DECLINE_CUM = list(accumulate(d.weight for d in DECLINES))

# Hour-of-day weights (UTC) for a shop selling to Europe and the Americas.
HOUR_WEIGHTS = (
    3, 2, 1.5, 1, 1, 1.5, 2, 3, 4, 5, 6, 6,
    6, 6.5, 7, 7.5, 8, 8, 7.5, 7, 6, 5, 4.5, 3.5,
)  # fmt: skip
_HOUR_CUM = list(accumulate(HOUR_WEIGHTS))

# Same-second tie order of events: the cause before its consequences.
_EVENT_RANK = {
    "customer": 0, "payment_method": 1, "setup_intent": 2, "payment_intent": 3, "charge": 4,
    "refund": 5, "charge.refunded": 6, "payout": 7, "payment_link": 8,
}  # fmt: skip

_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def to_json(obj: Json) -> bytes:
    return _DUMPS(obj).encode()


_BASE62 = bytes.maketrans(b"+/", b"Az")


class Rng(random.Random):
    """random.Random plus Stripe-style ids. Seeded by (seed, stream) strings: stable everywhere."""

    def __init__(self, seed: int, stream: str):
        super().__init__(f"{seed}:{stream}")
        # Millions of ids: cut them from a pool of random characters made 16k at a time
        # (a slice) rather than encoding a few random bytes per id (~5 s at 500k charges).
        self._chars = ""
        self._chars_at = 0
        self._hex = ""
        self._hex_at = 0

    def token(self, n: int = 24) -> str:
        """n random base62 characters (base64 with its two symbols mapped to letters)."""
        at, end = self._chars_at, self._chars_at + n
        if end > len(self._chars):
            raw = b2a_base64(self.randbytes(max(12288, n)), newline=False)
            self._chars = raw.translate(_BASE62).decode()
            at, end = 0, n
        self._chars_at = end
        return self._chars[at:end]

    def id(self, prefix: str) -> str:
        return f"{prefix}_{self.token(24)}"

    def uuid4(self) -> str:
        """A random version-4 UUID string, like the keys the Stripe SDKs send."""
        at = self._hex_at
        if at + 32 > len(self._hex):
            self._hex, at = self.randbytes(8192).hex(), 0
        self._hex_at = at + 32
        h = self._hex[at : at + 32]
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


class TimeModel:
    """When things happen: growth over the span, quieter weekends, a busy November/December,
    a few campaign days, a daily rhythm; some bursts of several objects in one second."""

    def __init__(self, start_ts: int, days: int, rng: Rng):
        self.start_ts = start_ts
        self.days = days
        weights = []
        campaign_days = set(rng.sample(range(days), k=min(days, max(1, days // 90))))
        for d in range(days):
            day = datetime.fromtimestamp(start_ts + d * DAY, UTC)
            w = 0.5 + d / days  # the business grows: ~3x from first to last day
            w *= (1.0, 1.0, 1.0, 1.0, 1.05, 0.7, 0.6)[day.weekday()]
            if (day.month == 11 and day.day >= 20) or (day.month == 12 and day.day <= 24):
                w *= 1.5
            if d in campaign_days:
                w *= 3.0
            weights.append(w)
        self._day_cum = list(accumulate(weights))

    def sample(self, rng: Rng, n: int, burst_rate: float = 0.03) -> list[int]:
        """n sorted timestamps."""
        days = rng.choices(range(self.days), cum_weights=self._day_cum, k=n)
        hours = rng.choices(range(24), cum_weights=_HOUR_CUM, k=n)
        rand = rng.random
        start = self.start_ts
        times = sorted(
            start + d * DAY + h * 3600 + int(rand() * 3600)
            for d, h in zip(days, hours, strict=True)
        )
        for i in range(1, n):  # bursts: several objects created in the same second
            if rand() < burst_rate:
                times[i] = times[i - 1]
        return times

    def uniform(self, rng: Rng, n: int) -> list[int]:
        span = self.days * DAY
        return sorted(self.start_ts + int(rng.random() * span) for _ in range(n))


# --- generation ------------------------------------------------------------------------------


class _Pm(NamedTuple):
    id: str
    created: int
    card: Card
    billing: Json
    obj: Json


@dataclass
class _Customer:
    id: str
    created: int
    email: str
    currency: str
    country: Country
    name: str
    pms: list[_Pm] = field(default_factory=list)
    default_pm: str | None = None  # invoice_settings.default_payment_method


# One stored object before loading: (created, order, id, body, attrs)
_Record = tuple[int, int, str, bytes, tuple[Any, ...]]
# One event before loading: (created, rank, order, type, object bytes, request, previous)
_EventRecord = tuple[
    int, int, int, str, bytes, tuple[str | None, str | None], dict[str, Any] | None
]


class _Generator:
    def __init__(self, config: SandboxConfig):
        self.config = config
        self.counts = config.counts()
        self.start_ts, self.end_ts = config.span()
        self.end_year = config.end_date().year
        self.time = TimeModel(self.start_ts, config.days, Rng(config.seed, "time"))
        self.records: dict[str, list[_Record]] = {
            name: []
            for name in (
                "customers", "charges", "payment_intents", "payment_methods",
                "setup_intents", "refunds", "payment_links", "payouts",
            )
        }  # fmt: skip
        self.events: list[_EventRecord] = []
        self.customers: list[_Customer] = []
        self.customer_times: list[int] = []
        self.deleted_customers: set[str] = set()
        self.flows: list[tuple[int, str, int]] = []  # (when, currency, +captured/-refunded)
        self._order = 0

    def run(self) -> Store:
        self._customers()
        self._setup_intents()
        self._charges()
        self._abandoned_payment_intents()
        self._payouts()
        self._payment_links()
        self._deleted_customers()
        self._detached_cards()
        return self._load()

    # -- bookkeeping

    def _next(self) -> int:
        self._order += 1
        return self._order

    def _record(
        self, kind: str, created: int, id: str, body: bytes, attrs: tuple[Any, ...]
    ) -> None:
        self.records[kind].append((created, self._next(), id, body, attrs))

    def _event(
        self,
        created: int,
        event_type: str,
        body: bytes,
        rng: Rng,
        from_api: bool = True,
        rank: str | None = None,
        previous: dict[str, Any] | None = None,
    ) -> None:
        request = (f"req_{rng.token(14)}", rng.uuid4()) if from_api else (None, None)
        r = _EVENT_RANK[rank or event_type.split(".")[0]]
        self.events.append((created, r, self._next(), event_type, body, request, previous))

    # -- people and cards

    def _person(self, rng: Rng) -> tuple[str, str, Country, Json, str]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        email = f"{local}{rng.randrange(1000)}@example.com"
        country = rng.choices(COUNTRIES, cum_weights=_COUNTRY_CUM)[0]
        city, state, postal = rng.choice(country.cities)
        line1 = f"{rng.randrange(1, 400)} {rng.choice(STREETS)}"
        addr = shapes.address(city, country.code, line1, postal, state)
        phone = f"{country.phone_prefix}{rng.randrange(10**9, 10**10)}"
        return name, email, country, addr, phone

    def _card(self, rng: Rng, country: str) -> Card:
        brand = _BRAND_NAMES[bisect_right(_BRAND_CUM, rng.random() * _BRAND_CUM[-1])]
        if country == "JP" and rng.random() < 0.3:
            brand = "jcb"
        r = rng.random()
        funding = "credit" if r < 0.65 else "debit" if r < 0.97 else "prepaid"
        w = rng.random()
        wallet = "apple_pay" if w < 0.08 else "google_pay" if w < 0.13 else None
        return Card(
            brand=brand,
            last4=f"{rng.randrange(10000):04d}",
            exp_month=rng.randint(1, 12),
            exp_year=self.end_year + rng.randint(1, 6),
            fingerprint=rng.token(16),
            funding=funding,
            country=country if rng.random() < 0.92 else "US",
            wallet=wallet,
        )

    def _payment_method(
        self,
        rng: Rng,
        created: int,
        customer: str | None,
        country: str,
        billing: Json,
    ) -> _Pm:
        """A card payment method; attached to `customer`, or a guest's (customer null)."""
        pm_id = rng.id("pm")
        card = self._card(rng, country)
        obj = shapes.card_payment_method(
            pm_id,
            created,
            customer=customer,
            card=card,
            billing=billing,
            allow_redisplay="always" if customer and rng.random() < 0.5 else "unspecified",
            metadata={},
        )
        self._record("payment_methods", created, pm_id, to_json(obj), (customer, "card"))
        return _Pm(pm_id, created, card, billing, obj)

    def _guest_billing(self, rng: Rng) -> tuple[Json, Country, str]:
        name, email, country, addr, _phone = self._person(rng)
        # Checkout collects a postal code and an email from guests, not a full address.
        billing_addr = shapes.address(None, country.code, None, addr["postal_code"], None)
        return shapes.billing_details(billing_addr, email, name, None), country, email

    # -- customers and their first card

    def _customers(self) -> None:
        rng = Rng(self.config.seed, "customers")
        for t in self.time.sample(rng, self.counts["customers"]):
            name, email, country, addr, phone = self._person(rng)
            cus_id = rng.id("cus")
            billing = shapes.billing_details(addr, email, name, phone)
            pm = self._payment_method(rng, t, cus_id, country.code, billing)
            obj = shapes.customer(
                cus_id,
                t,
                name=name,
                email=email,
                phone=phone if rng.random() < 0.6 else None,
                addr=addr,
                currency=country.currency,
                description=None if rng.random() < 0.8 else "Wholesale account",
                metadata=(
                    {"crm_id": f"crm_{rng.randrange(10**6):06d}"} if rng.random() < 0.4 else {}
                ),
                default_payment_method=pm.id if rng.random() < 0.6 else None,
                invoice_prefix=rng.token(8).upper(),
                preferred_locales=[country.locale] if rng.random() < 0.7 else [],
            )
            body = to_json(obj)
            self._record("customers", t, cus_id, body, (email,))
            self._event(t, "customer.created", body, rng)
            self._event(t, "payment_method.attached", to_json(pm.obj), rng)
            customer = _Customer(cus_id, t, email, country.currency, country, name, [pm],
                                 default_pm=obj["invoice_settings"]["default_payment_method"])
            self.customers.append(customer)
            self.customer_times.append(t)

    def _pick_customer(self, rng: Rng, t: int) -> _Customer | None:
        """A customer who existed at t: often a recent sign-up, otherwise anyone."""
        available = bisect_right(self.customer_times, t)
        if available == 0:
            return None
        if rng.random() < 0.3:
            recent = max(1, available // 20)
            return self.customers[available - 1 - int(rng.random() * recent)]
        return self.customers[int(rng.random() * available)]

    @staticmethod
    def _card_at(customer: _Customer, t: int) -> _Pm:
        """The customer's newest card saved at or before t."""
        for pm in reversed(customer.pms):
            if pm.created <= t:
                return pm
        return customer.pms[0]

    # -- setup intents (cards saved for later, sometimes by guests)

    def _if_canceled(self, rng: Rng, created: int, status: str) -> tuple[str, int | None]:
        """The status and `canceled_at` of an intent drawn with `status`: a canceled one is
        canceled a day later on average; if that is after the end of history, it has not
        happened yet, and the intent is still open (requires_payment_method)."""
        if status != "canceled":
            return status, None
        when = created + int(rng.expovariate(1 / DAY))
        return (status, when) if when < self.end_ts else ("requires_payment_method", None)

    def _setup_intents(self) -> None:
        rng = Rng(self.config.seed, "setup_intents")
        statuses = (
            ("succeeded", 80), ("requires_payment_method", 8), ("canceled", 7),
            ("requires_action", 3), ("processing", 2),
        )  # fmt: skip
        status_names = [s for s, _ in statuses]
        status_cum = list(accumulate(w for _, w in statuses))
        for t in self.time.sample(rng, self.counts["setup_intents"], burst_rate=0.0):
            customer = None if rng.random() < 0.12 else self._pick_customer(rng, t)
            status = rng.choices(status_names, cum_weights=status_cum)[0]
            seti_id = rng.id("seti")
            status, canceled_at = self._if_canceled(rng, t, status)
            pm: _Pm | None = None
            attach_to = None
            if status in ("succeeded", "requires_action", "processing"):
                if customer is not None:
                    billing = customer.pms[0].billing
                    country = customer.country.code
                else:
                    billing, c, _ = self._guest_billing(rng)
                    country = c.code
                # Attached only once the setup succeeded, and only if there is a customer.
                attach_to = customer.id if customer is not None and status == "succeeded" else None
                pm = self._payment_method(rng, t, attach_to, country, billing)
                if attach_to is not None and customer is not None:
                    insort(customer.pms, pm, key=_created_of)
            next_action = None
            if status == "requires_action":
                next_action = {
                    "type": "use_stripe_sdk",
                    "use_stripe_sdk": {"type": "three_d_secure_redirect", "source": rng.id("src")},
                }
            obj = shapes.setup_intent(
                seti_id,
                t,
                customer=customer.id if customer else None,
                payment_method=pm.id if pm else None,
                status=status,
                client_secret=f"{seti_id}_secret_{rng.token(25)}",
                latest_attempt=rng.id("setatt") if pm else None,
                cancellation_reason="abandoned" if status == "canceled" else None,
                last_setup_error=None,
                next_action=next_action,
                metadata={},
            )
            body = to_json(obj)
            self._record(
                "setup_intents", t, seti_id, body, (obj["customer"], obj["payment_method"])
            )
            # As Stripe: created (no method yet), then each change at its own time. Ranked as
            # the intent, the method's attachment stays between the two at the same second.
            self._event(t, "setup_intent.created", to_json(_opened_setup(obj)), rng)
            if pm is not None and attach_to is not None:
                self._event(t, "payment_method.attached", to_json(pm.obj), rng,
                            rank="setup_intent")
            if canceled_at is not None:
                self._event(canceled_at, "setup_intent.canceled", body, rng)
            elif status in ("succeeded", "requires_action"):
                self._event(t, f"setup_intent.{status}", body, rng)

    # -- money

    def _amount(self, rng: Rng, currency: str) -> tuple[int, str | None]:
        """(amount in minor units, product description or None)."""
        c = CURRENCIES[currency]
        description = None
        value: float
        if rng.random() < 0.5:
            product, usd = rng.choice(PRODUCTS)
            quantity = 1 if rng.random() < 0.8 else rng.randint(2, 4)
            value = usd * quantity
            description = product if quantity == 1 else f"{quantity} x {product}"
        else:
            value = min(5000.0, max(1.0, rng.lognormvariate(3.8, 0.9)))
        minor = value * c.per_usd * 10**c.exponent
        if c.exponent == 2 and description is None and rng.random() < 0.5:
            minor = round(minor / 100) * 100 - 1  # prices ending .99
        return _to_step(minor, c), description

    def _charges(self) -> None:
        rng = Rng(self.config.seed, "charges")
        rand = rng.random
        guest_rate = self.config.guest_rate
        new_card_rate = self.config.new_card_rate
        refund_rate = self.config.refund_rate
        currency_codes = list(CURRENCIES)
        for t in self.time.sample(rng, self.counts["charges"]):
            customer = None if rand() < guest_rate else self._pick_customer(rng, t)
            saves_card = False
            if customer is not None:
                pm = self._card_at(customer, t)
                currency = customer.currency if rand() < 0.95 else rng.choice(currency_codes)
                receipt_email: str | None = customer.email if rand() < 0.7 else None
                pi_created = max(t - int(rand() * 180), customer.created, pm.created)
                customer_id: str | None = customer.id
                if rand() < new_card_rate:
                    # A new card typed in at checkout and saved for next time
                    # (setup_future_usage): attached to the customer from then on.
                    saves_card = True
                    pm_created = pi_created + int(rand() * (t - pi_created + 1))
                    pm = self._payment_method(
                        rng, pm_created, customer.id, customer.country.code, pm.billing
                    )
                    insort(customer.pms, pm, key=_created_of)
                    self._event(pm_created, "payment_method.attached", to_json(pm.obj), rng)
            else:
                # A guest: the card is entered after the PaymentIntent exists, just before paying.
                billing, country, email = self._guest_billing(rng)
                currency = country.currency
                receipt_email = email
                pi_created = max(self.start_ts, t - int(rand() * 180))
                pm_created = pi_created + int(rand() * (t - pi_created + 1))
                pm = self._payment_method(rng, pm_created, None, country.code, billing)
                customer_id = None
            amount, description = self._amount(rng, currency)
            self._charge(rng, t, pi_created, customer_id, pm, currency, amount, description,
                         receipt_email, refund_rate, saves_card)  # fmt: skip

    def _charge(
        self,
        rng: Rng,
        t: int,
        pi_created: int,
        customer_id: str | None,
        pm: _Pm,
        currency: str,
        amount: int,
        description: str | None,
        receipt_email: str | None,
        refund_rate: float,
        saves_card: bool,
    ) -> None:
        rand = rng.random
        ch_id, pi_id = rng.id("ch"), rng.id("pi")
        r = rand()
        status = "succeeded" if r < 0.88 else "failed" if r < 0.97 else "pending"
        uncaptured = status == "succeeded" and rand() < 0.012
        decline = None
        if status == "failed":
            decline = DECLINES[bisect_right(_DECLINE_CUM, rand() * _DECLINE_CUM[-1])]
            blocked = decline.reason == "highest_risk_level"
            risk_score = rng.randint(85, 99) if blocked else rng.randint(5, 60)
        else:
            risk_score = rng.randint(0, 64) if rand() < 0.95 else rng.randint(65, 74)
        outcome = _outcome(decline, risk_score)
        captured = status != "failed" and not uncaptured
        amount_captured = amount if captured else 0
        metadata = {"order_id": f"ord_{rng.token(10)}"} if rand() < 0.6 else {}

        # Refunds happen later; their effect on the charge is part of its current state.
        refunds: list[Json] = []
        refund_bodies: list[bytes] = []
        if status == "succeeded" and captured and rand() < refund_rate and t < self.end_ts - 60:
            refunds = self._refunds(rng, t, ch_id, pi_id, customer_id, pm.id, currency, amount)
            refund_bodies = [to_json(obj) for obj in refunds]

        ch = shapes.charge(
            ch_id,
            t,
            amount=amount,
            amount_captured=amount_captured,
            amount_refunded=0,
            captured=captured,
            currency=currency,
            customer=customer_id,
            description=description,
            status=status,
            paid=status == "succeeded",
            failure_code=decline.failure_code if decline else None,
            failure_message=decline.message if decline else None,
            outcome=outcome,
            payment_intent=pi_id,
            payment_method=pm.id,
            card=pm.card,
            billing=pm.billing,
            balance_transaction=rng.id("txn") if captured else None,
            receipt_email=receipt_email,
            authorization_code=f"{rng.randrange(10**6):06d}" if not decline else None,
            network_transaction_id=f"{rng.randrange(10**15):015d}" if not decline else None,
            metadata=metadata,
        )
        first_body = to_json(ch)
        body = first_body
        # Each refund's charge.refunded event carries the charge as it was right after it.
        refunded_so_far = 0
        for refund, refund_body in zip(refunds, refund_bodies, strict=True):
            if refund["status"] != "failed":
                refunded_so_far += refund["amount"]
            ch["amount_refunded"] = refunded_so_far
            ch["refunded"] = refunded_so_far == amount_captured
            body = to_json(ch)
            rt = refund["created"]
            self._record("refunds", rt, refund["id"], refund_body, (ch_id, pi_id))
            self._event(rt, "refund.created", refund_body, rng)
            if refund["status"] == "failed":
                self._event(rt, "charge.refund.updated", refund_body, rng, rank="charge.refunded")
            else:
                self._event(rt, "charge.refunded", body, rng, from_api=False,
                            rank="charge.refunded")  # fmt: skip
                self.flows.append((rt, currency, -refund["amount"]))
        self._record("charges", t, ch_id, body, (customer_id, pi_id))
        charge_event = {"succeeded": "charge.succeeded", "failed": "charge.failed"}.get(
            status, "charge.pending"
        )
        self._event(t, charge_event, first_body, rng)
        if captured and status == "succeeded":
            self.flows.append((t, currency, amount))

        pi_status = {
            "succeeded": "requires_capture" if uncaptured else "succeeded",
            "failed": "requires_payment_method",
            "pending": "processing",
        }[status]
        last_error = None
        if decline is not None:
            last_error = {
                "charge": ch_id,
                "code": decline.failure_code,
                "decline_code": decline.reason if decline.failure_code == "card_declined" else None,
                "doc_url": "https://stripe.com/docs/error-codes/"
                + decline.failure_code.replace("_", "-"),
                "message": decline.message,
                "payment_method": pm.obj,
                "type": "card_error",
            }  # fmt: skip
        pi = shapes.payment_intent(
            pi_id,
            pi_created,
            amount=amount,
            amount_received=amount_captured if status == "succeeded" else 0,
            amount_capturable=amount if uncaptured else 0,
            currency=currency,
            customer=customer_id,
            description=description,
            status=pi_status,
            capture_method="manual" if uncaptured else "automatic_async",
            client_secret=f"{pi_id}_secret_{rng.token(25)}",
            latest_charge=ch_id,
            # After a failed attempt Stripe detaches the method from the intent.
            payment_method=None if decline else pm.id,
            last_payment_error=last_error,
            next_action=None,
            canceled_at=None,
            cancellation_reason=None,
            receipt_email=receipt_email,
            setup_future_usage="off_session" if saves_card else None,
            metadata=metadata,
        )
        pi_body = to_json(pi)
        self._record("payment_intents", pi_created, pi_id, pi_body, (customer_id,))
        pi_event = {
            "succeeded": "payment_intent.succeeded",
            "requires_capture": "payment_intent.amount_capturable_updated",
            "requires_payment_method": "payment_intent.payment_failed",
            "processing": "payment_intent.processing",
        }[pi_status]
        # As Stripe: created (checkout opened), then the outcome when the charge is made.
        self._event(pi_created, "payment_intent.created", to_json(_opened(pi)), rng)
        self._event(t, pi_event, pi_body, rng)

    def _refunds(
        self,
        rng: Rng,
        t: int,
        ch_id: str,
        pi_id: str,
        customer_id: str | None,
        pm_id: str,
        currency: str,
        amount: int,
    ) -> list[Json]:
        """One or two refunds of a charge, oldest first: full, partial, or two partials."""
        c = CURRENCIES[currency]
        two = rng.random() < 0.2 and amount >= 4 * c.step
        if two:
            first = _to_step(amount * rng.uniform(0.2, 0.5), c)
            second = amount - first if rng.random() < 0.5 else _to_step((amount - first) / 2, c)
            amounts = [first, second]
        elif rng.random() < 0.6 or amount < 2 * c.step:
            amounts = [amount]
        else:
            amounts = [min(amount - c.step, _to_step(amount * rng.uniform(0.1, 0.9), c))]
        refunds = []
        when = t
        for refund_amount in amounts:
            # Days to weeks later. One that falls after the end of history has not happened
            # yet: drawn, but not kept (clamping it to the last second piled such refunds up
            # at 23:59:59 of the last day).
            when = when + 60 + int(rng.expovariate(1 / (5 * DAY)))
            r = rng.random()
            status = "succeeded" if r < 0.92 else "pending" if r < 0.97 else "failed"
            re_id = rng.id("re")
            refunds.append(
                shapes.refund(
                    re_id,
                    when,
                    amount=refund_amount,
                    currency=currency,
                    charge=ch_id,
                    payment_intent=pi_id,
                    customer=customer_id,
                    payment_method=pm_id,
                    status=status,
                    reason=rng.choice(("requested_by_customer", "duplicate", "fraudulent", None)),
                    balance_transaction=rng.id("txn"),
                    acquirer_reference=(
                        f"{rng.randrange(10**23):023d}" if status == "succeeded" else None
                    ),
                    metadata={},
                )
            )
        return [refund for refund in refunds if refund["created"] < self.end_ts]

    def _abandoned_payment_intents(self) -> None:
        """PaymentIntents that never produced a charge: abandoned checkouts, 3DS left pending."""
        rng = Rng(self.config.seed, "abandoned_payment_intents")
        n = self.counts["payment_intents"] - self.counts["charges"]
        for t in self.time.sample(rng, n, burst_rate=0.0):
            customer = None if rng.random() < 0.3 else self._pick_customer(rng, t)
            currency = customer.currency if customer else rng.choice(list(CURRENCIES))
            amount, description = self._amount(rng, currency)
            r = rng.random()
            if r < 0.45:
                status = "canceled"
            elif r < 0.85:
                status = "requires_payment_method"
            else:
                status = "requires_action"
            pi_id = rng.id("pi")
            pm_id = None
            next_action = None
            if status == "requires_action":
                if customer is not None:
                    pm_id = self._card_at(customer, t).id
                else:
                    billing, country, _ = self._guest_billing(rng)
                    pm_id = self._payment_method(rng, t, None, country.code, billing).id
                next_action = {
                    "type": "use_stripe_sdk",
                    "use_stripe_sdk": {"type": "three_d_secure_redirect", "source": rng.id("src")},
                }
            status, canceled_at = self._if_canceled(rng, t, status)
            pi = shapes.payment_intent(
                pi_id,
                t,
                amount=amount,
                amount_received=0,
                amount_capturable=0,
                currency=currency,
                customer=customer.id if customer else None,
                description=description,
                status=status,
                capture_method="automatic_async",
                client_secret=f"{pi_id}_secret_{rng.token(25)}",
                latest_charge=None,
                payment_method=pm_id,
                last_payment_error=None,
                next_action=next_action,
                canceled_at=canceled_at,
                cancellation_reason="abandoned" if status == "canceled" else None,
                receipt_email=None,
                setup_future_usage=None,
                metadata={},
            )
            body = to_json(pi)
            self._record("payment_intents", t, pi_id, body, (pi["customer"],))
            # Created, then (maybe) changed: each event at its own time, with the intent as
            # it was then.
            self._event(t, "payment_intent.created", to_json(_opened(pi)), rng)
            if canceled_at is not None:
                self._event(canceled_at, "payment_intent.canceled", body, rng)
            elif status == "requires_action":
                self._event(t, "payment_intent.requires_action", body, rng)

    # -- payouts: the balance goes to the bank every other day

    def _payouts(self) -> None:
        rng = Rng(self.config.seed, "payouts")
        n = self.counts["payouts"]
        if n == 0:
            return
        days = self.config.days
        self.flows.sort()
        balance = dict.fromkeys(CURRENCIES, 0)
        next_flow = 0
        banks = {code: rng.id("ba") for code in CURRENCIES}
        payout_currencies = ("usd", "eur", "gbp", "jpy", "cad", "aud", "kwd")
        currency_cum = list(accumulate((55, 15, 12, 8, 4, 3, 3)))
        for k in range(n):
            # Evenly spaced, the last one on the last day (still pending at the end).
            day = days - 1 - ((n - 1 - k) * days) // n
            instant = rng.random() < 0.05
            offset = int(rng.random() * DAY) if instant else 2 * 3600 + int(rng.random() * 3 * 3600)
            t = self.start_ts + day * DAY + offset
            while next_flow < len(self.flows) and self.flows[next_flow][0] <= t:
                _, cur, delta = self.flows[next_flow]
                balance[cur] += delta
                next_flow += 1
            currency = rng.choices(payout_currencies, cum_weights=currency_cum)[0]
            c = CURRENCIES[currency]
            amount = _to_step(balance[currency] * 0.97, c)  # fees stay with Stripe
            if amount < 100 * c.step:  # nothing to pay out: a small top-up-sized payout
                amount = _to_step(rng.uniform(50, 500) * c.per_usd * 10**c.exponent, c)
            balance[currency] = 0
            if instant:
                arrival = t + 1800
            else:
                arrival_day = t - t % DAY + 2 * DAY
                while datetime.fromtimestamp(arrival_day, UTC).weekday() >= 5:
                    arrival_day += DAY
                arrival = arrival_day
            r = rng.random()
            failure = None
            if r < 0.02:
                status = "failed"
                failure = rng.choice((
                    ("account_closed", "The bank account has been closed."),
                    ("insufficient_funds", "Your Stripe account has insufficient funds to cover "
                     "the payout."),
                    ("no_account", "The bank account details on file are probably incorrect."),
                ))  # fmt: skip
            elif r < 0.03:
                status = "canceled"
            elif arrival > self.end_ts:  # not arrived by the end of history
                status = "pending" if t >= self.end_ts - DAY and not instant else "in_transit"
            else:
                status = "paid"
            po_id = rng.id("po")
            trace: Json = {"status": "pending", "value": None}
            if status == "paid":
                trace = {"status": "supported", "value": f"{rng.randrange(10**15):015d}"}
            elif status in ("failed", "canceled"):
                trace = {"status": "unsupported", "value": None}
            obj = shapes.payout(
                po_id,
                t,
                amount=amount,
                arrival_date=arrival,
                currency=currency,
                destination=rng.id("card") if instant else banks[currency],
                method="instant" if instant else "standard",
                type="card" if instant else "bank_account",
                status=status,
                balance_transaction=rng.id("txn"),
                failure_balance_transaction=rng.id("txn") if failure else None,
                failure_code=failure[0] if failure else None,
                failure_message=failure[1] if failure else None,
                trace_id=trace,
            )
            body = to_json(obj)
            self._record("payouts", t, po_id, body, (status,))
            event_type = {
                "paid": "payout.paid",
                "failed": "payout.failed",
                "canceled": "payout.canceled",
            }.get(status, "payout.created")
            self._event(t, event_type, body, rng, from_api=False)

    def _payment_links(self) -> None:
        rng = Rng(self.config.seed, "payment_links")
        for t in self.time.uniform(rng, self.counts["payment_links"]):
            link_id = rng.id("plink")
            active = rng.random() < 0.85
            obj = shapes.payment_link(
                link_id,
                active=active,
                currency=rng.choices(("usd", "eur", "gbp", "jpy"), weights=(6, 2, 1, 1))[0],
                url=f"https://buy.stripe.com/test_{rng.token(14)}",
                allow_promotion_codes=rng.random() < 0.3,
                billing_address_collection=rng.choice(("auto", "required")),
                customer_creation=rng.choice(("if_required", "always")),
                submit_type=rng.choice(("auto", "pay", "book", "donate")),
                shipping_countries=["US", "CA", "GB"] if rng.random() < 0.3 else None,
                metadata={"campaign": f"spring-{rng.randrange(100)}"} if rng.random() < 0.3 else {},
            )
            body = to_json(obj)
            # Stripe hides a link's creation time, but lists and events still follow it.
            self._record("payment_links", t, link_id, body, ("true" if active else "false",))
            self._event(t, "payment_link.created", body, rng)

    # -- deletions

    def _deleted_customers(self) -> None:
        """A few customers are deleted some time after their last charge, intent or card: lists
        then hide them, a customer.deleted event says so, and their charges stay."""
        rng = Rng(self.config.seed, "deletions")
        last = {customer.id: customer.created for customer in self.customers}
        for kind in ("charges", "payment_intents", "setup_intents", "payment_methods"):
            for created, _order, _id, _body, attrs in self.records[kind]:
                customer_id = attrs[0]  # FILTER_FIELDS: the customer comes first for these
                if customer_id in last and created > last[customer_id]:
                    last[customer_id] = created
        bodies = {id: body for _created, _order, id, body, _attrs in self.records["customers"]}
        for customer in self.customers:
            if rng.random() >= self.config.deleted_customer_rate:
                continue
            begin = last[customer.id] + 1
            if begin >= self.end_ts:
                continue
            deleted_at = begin + int(rng.random() * (self.end_ts - begin))
            self.deleted_customers.add(customer.id)
            # The event carries the customer as it was when deleted.
            self._event(deleted_at, "customer.deleted", bodies[customer.id], rng)

    def _detached_cards(self) -> None:
        """Some saved cards are detached a while after a newer card replaced them (never the
        customer's default): a payment_method.detached event says whose they were, and the
        card stays retrievable with `customer` null (charges still name it)."""
        rng = Rng(self.config.seed, "detached_cards")
        records = self.records["payment_methods"]
        index = {record[2]: i for i, record in enumerate(records)}
        for customer in self.customers:
            if customer.id in self.deleted_customers:
                continue
            # A card is last used before the next one is saved (+3 minutes, see _charges).
            for card, newer in zip(customer.pms, customer.pms[1:], strict=False):
                begin = newer.created + DAY
                if card.id == customer.default_pm or begin >= self.end_ts:
                    continue
                if rng.random() >= self.config.detached_card_rate:
                    continue
                detached_at = begin + int(rng.random() * (self.end_ts - begin))
                body = to_json({**card.obj, "customer": None})
                created, order, id, _body, _attrs = records[index[card.id]]
                records[index[card.id]] = (created, order, id, body, (None, "card"))
                self._event(detached_at, "payment_method.detached", body, rng,
                            previous={"customer": customer.id})  # fmt: skip

    # -- into the store, in Stripe's order

    def _load(self) -> Store:
        store = Store(self.config)
        for kind, records in self.records.items():
            records.sort(key=_by_time_then_order)
            store.load(kind, ((c, i, b, a) for c, _order, i, b, a in records))
        for customer_id in self.deleted_customers:
            item = store.get(customer_id, "customers")
            assert item is not None
            store.mark_deleted(item)
        self.events.sort(key=_event_order)
        keep_from = 0
        if self.config.event_retention_days is not None:
            # As Stripe: from 30 days before now (mid-day), not from a day's start.
            keep_from = self.config.clock() - self.config.event_retention_days * DAY
        rng = Rng(self.config.seed, "events")
        token = rng.token

        def events() -> Iterator[tuple[int, str, EventParts, tuple[str]]]:
            for created, _rank, _order, event_type, body, (req_id, idem), previous in self.events:
                evt_id = f"evt_{token(24)}"  # drawn even for dropped events: stable ids
                if created < keep_from:
                    continue
                parts = event_parts(evt_id, created, event_type, body, request_id=req_id,
                                    idempotency_key=idem, previous_attributes=previous)  # fmt: skip
                yield created, evt_id, parts, (event_type,)

        store.load("events", events())
        self.events.clear()
        return store


def _opened(pi: Json) -> Json:
    """A payment intent as it was when created: no payment method, attempt or outcome yet."""
    return {**pi, "status": "requires_payment_method", "amount_received": 0,
            "amount_capturable": 0, "latest_charge": None, "payment_method": None,
            "last_payment_error": None, "next_action": None, "canceled_at": None,
            "cancellation_reason": None}  # fmt: skip


def _opened_setup(seti: Json) -> Json:
    """A setup intent as it was when created: no payment method, attempt or outcome yet."""
    return {**seti, "status": "requires_payment_method", "payment_method": None,
            "latest_attempt": None, "next_action": None, "cancellation_reason": None}


def _created_of(pm: _Pm) -> int:
    return pm.created


def _by_time_then_order(record: _Record) -> tuple[int, int]:
    return record[0], record[1]


def _event_order(event: _EventRecord) -> tuple[int, int, int]:
    return event[0], event[1], event[2]


def _to_step(minor: float, c: Currency) -> int:
    """Round an amount in minor units to the currency's step, at least one step."""
    return max(c.step, round(minor / c.step) * c.step)


def _outcome(decline: Decline | None, risk_score: int) -> Json:
    if decline is None:
        return shapes.outcome(
            network_status="approved_by_network",
            type="authorized",
            reason=None,
            risk_level="normal" if risk_score < 65 else "elevated",
            risk_score=risk_score,
            seller_message="Payment complete.",
        )
    if decline.reason == "highest_risk_level":
        return shapes.outcome(
            network_status="not_sent_to_network",
            type="blocked",
            reason="highest_risk_level",
            risk_level="highest",
            risk_score=risk_score,
            seller_message="Stripe blocked this payment as too risky.",
        )
    return shapes.outcome(
        network_status="declined_by_network",
        type="issuer_declined",
        reason=decline.reason,
        risk_level="normal",
        risk_score=risk_score,
        seller_message=(
            "The bank did not return any further details with this decline."
            if decline.reason == "generic_decline"
            else f"The bank returned the decline code `{decline.reason}`."
        ),
        advice_code=decline.advice_code,
        network_decline_code=decline.network_decline_code,
    )
