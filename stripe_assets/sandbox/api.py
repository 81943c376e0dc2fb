"""The Stripe API over the store: authentication, routing, list and retrieve requests.

Pure request -> response (no sockets), so that the HTTP server stays a thin shell and every
answer here can be reasoned about as Stripe's: same statuses, same error bodies, same list
envelopes. Mutations live in `mutations`.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stripe_assets.endpoints import ENDPOINTS
from stripe_assets.sandbox import errors
from stripe_assets.sandbox.errors import StripeError
from stripe_assets.sandbox.mutations import Mutations
from stripe_assets.sandbox.params import Params, parse_params
from stripe_assets.sandbox.shapes import ACCOUNT_ID
from stripe_assets.sandbox.store import (
    FILTER_FIELDS,
    Collection,
    Item,
    PageQuery,
    Store,
    render_list,
    select_page,
)
from stripe_assets.settings import API_VERSION_FORMAT

JSON = "application/json"

# Fields holding the id of another stored object, which `expand` may replace by the object.
EXPANDABLE = {"customer", "payment_intent", "payment_method", "latest_charge", "charge"}
# Sub-lists Stripe renders only when expanded (a charge's `refunds` since API 2022-11-15), by
# object type: the list they come from, its field naming the parent, and the sub-list's URL.
EXPANDABLE_LISTS = {"charge": {"refunds": ("refunds", "charge", "/v1/charges/{id}/refunds")}}
# How many items an expanded sub-list shows before `has_more`, as Stripe does.
SUB_LIST_LIMIT = 10


class Headers(dict[str, str]):
    """HTTP headers: names are case-insensitive."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        super().__init__((name.lower(), value) for name, value in items)

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


@dataclass
class Request:
    method: str
    path: str
    query: str = ""
    body: bytes = b""
    headers: Headers = field(default_factory=Headers)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key, and the endpoints it may read (None: all of them)."""

    key: str
    readable: frozenset[str] | None


_ID = r"([A-Za-z0-9_]+)"
_LIST = re.compile(r"^/v1/([a-z_]+)$")
_RETRIEVE = re.compile(rf"^/v1/([a-z_]+)/{_ID}$")
_CUSTOMER_PMS = re.compile(rf"^/v1/customers/{_ID}/payment_methods$")
_CHARGE_REFUNDS = re.compile(rf"^/v1/charges/{_ID}/refunds$")
_DETACH = re.compile(rf"^/v1/payment_methods/{_ID}/detach$")
_INTEGER = re.compile(r"^-?\d+$")
_CREATED_OPS = ("gt", "gte", "lt", "lte")


class StripeApi:
    """Answers /v1 requests from a Store, as Stripe would."""

    def __init__(
        self,
        store: Store,
        *,
        seed: int = 42,
        clock: Callable[[], float],
        restricted_keys: Mapping[str, set[str]] | None = None,
        revoked_keys: set[str] | frozenset[str] | None = None,
        live_keys: set[str] | frozenset[str] | None = None,
        connected_accounts: set[str] | frozenset[str] | None = None,
    ):
        self.store = store
        self.restricted_keys = {k: frozenset(v) for k, v in (restricted_keys or {}).items()}
        self.revoked_keys = frozenset(revoked_keys or ())
        # Live-mode keys accepted as well (the data stays test data): lets a benchmark check that
        # a client paces itself at live mode's rate limit when it holds a live key.
        self.live_keys = frozenset(live_keys or ())
        # Accounts a `Stripe-Account` header may name (its own as well), as a Connect platform's
        # connected accounts: they are served the same data. Any other is refused, as Stripe does.
        self.connected_accounts = frozenset(connected_accounts or ()) | {ACCOUNT_ID}
        self.mutations = Mutations(store, seed=seed, clock=clock)
        self._idempotent: dict[tuple[str, str], tuple[str, Response]] = {}
        self._idempotency_lock = threading.Lock()

    def handle(self, request: Request, request_id: str) -> Response:
        try:
            caller = self._authenticate(request.headers.get("Authorization"))
            version = request.headers.get("Stripe-Version")
            if version is not None and not API_VERSION_FORMAT.fullmatch(version):
                raise errors.invalid_api_version(version)
            account = request.headers.get("Stripe-Account")
            if account is not None and account not in self.connected_accounts:
                raise errors.account_access_denied(caller.key, account)
            try:
                params = parse_params(request.query, request.body.decode("utf-8", "replace"))
            except ValueError as exc:
                raise StripeError(400, str(exc)) from None
            if request.method in ("POST", "DELETE"):
                return self._idempotently(request, caller, params, request_id)
            return self._route(request, caller, params, request_id)
        except StripeError as exc:
            return Response(exc.status, exc.body(request_id), dict(exc.headers))

    # -- authentication

    def _authenticate(self, header: str | None) -> Caller:
        key = _key_from_header(header)
        if not key:
            raise errors.missing_key()
        if key.startswith(("pk_test_", "pk_live_")):
            raise errors.publishable_key()
        if key in self.revoked_keys:
            raise errors.expired_key(key)
        if not key.startswith(("sk_test_", "rk_test_")) and key not in self.live_keys:
            raise errors.invalid_key(key)
        return Caller(key, self.restricted_keys.get(key))

    @staticmethod
    def _authorize(caller: Caller, kind: str, write: bool = False) -> None:
        if caller.readable is None:
            return
        permission = ENDPOINTS[kind].permission
        if write:
            if f"{kind}:write" not in caller.readable:
                raise errors.permission_denied(caller.key, permission.replace("_read", "_write"))
        elif kind not in caller.readable and f"{kind}:write" not in caller.readable:
            raise errors.permission_denied(caller.key, permission)

    # -- routing

    def _route(self, request: Request, caller: Caller, params: Params, request_id: str) -> Response:
        method, path = request.method, request.path
        if method == "GET":
            if m := _LIST.match(path):
                kind = m.group(1)
                if kind in ENDPOINTS:
                    self._authorize(caller, kind)
                    return self._list(kind, params, path)
            elif m := _CUSTOMER_PMS.match(path):
                self._authorize(caller, "payment_methods")
                return self._customer_payment_methods(m.group(1), params, path)
            elif m := _CHARGE_REFUNDS.match(path):
                self._authorize(caller, "refunds")
                return self._charge_refunds(m.group(1), params, path)
            elif m := _RETRIEVE.match(path):
                kind = m.group(1)
                if kind in ENDPOINTS:
                    self._authorize(caller, kind)
                    return self._retrieve(kind, m.group(2), params)
        elif method == "POST":
            if path == "/v1/refunds":
                self._authorize(caller, "refunds", write=True)
                return self._ok(self.mutations.create_refund(params, request_id))
            if m := _DETACH.match(path):
                self._authorize(caller, "payment_methods", write=True)
                return self._ok(
                    self.mutations.detach_payment_method(m.group(1), params, request_id)
                )
            if m := _RETRIEVE.match(path):
                kind = m.group(1)
                if kind in self.mutations.UPDATABLE:
                    self._authorize(caller, kind, write=True)
                    return self._ok(self.mutations.update(kind, m.group(2), params, request_id))
        elif method == "DELETE" and (m := _RETRIEVE.match(path)) and m.group(1) == "customers":
            self._authorize(caller, "customers", write=True)
            return self._ok(self.mutations.delete_customer(m.group(2), params, request_id))
        raise errors.unrecognized_url(method, path)

    @staticmethod
    def _ok(body: bytes) -> Response:
        return Response(200, body)

    def _idempotently(
        self, request: Request, caller: Caller, params: Params, request_id: str
    ) -> Response:
        """Stripe replays the first answer to a retried POST with the same Idempotency-Key."""
        idem = request.headers.get("Idempotency-Key")
        if not idem:
            return self._route(request, caller, params, request_id)
        fingerprint = json.dumps([request.method, request.path, params], sort_keys=True)
        cache_key = (caller.key, idem)
        with self._idempotency_lock:
            cached = self._idempotent.get(cache_key)
            if cached is not None:
                if cached[0] != fingerprint:
                    raise StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{idem}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                replay = cached[1]
                headers = {**replay.headers, "Idempotent-Replayed": "true"}
                return Response(replay.status, replay.body, headers, replay.content_type)
            response = self._route(request, caller, params, request_id)
            if response.status < 500 and response.status != 429:
                self._idempotent[cache_key] = (fingerprint, response)
            response.headers["Idempotency-Key"] = idem
            return response

    # -- reads

    def _retrieve(self, kind: str, obj_id: str, params: Params) -> Response:
        _only(params, {"expand"})
        with self.store.lock:
            item = self.store.get(obj_id, kind)
            if item is None:
                raise errors.no_such(kind, obj_id, "id")
            if item.deleted:
                stub = {"id": item.id, "object": ENDPOINTS[kind].object_type, "deleted": True}
                return Response(200, json.dumps(stub).encode())
            body = item.json_bytes()
        return Response(200, self._expand_one(body, _expand_paths(params), prefix=""))

    def _list(self, kind: str, params: Params, url: str) -> Response:
        allowed = {"limit", "starting_after", "ending_before", "expand"}
        allowed |= {"type", "types"} if kind == "events" else set(FILTER_FIELDS[kind])
        if ENDPOINTS[kind].created_filter:
            allowed.add("created")
        _only(params, allowed)
        query = self._page_query(kind, params)
        collection = self.store.collections[kind]
        with self.store.lock:
            if kind == "payment_methods":
                collections = self._payment_method_lists(params)
            elif kind == "events":
                collections = self._event_lists(params)
            else:
                collections = [collection]
            keep = self._attr_filter(kind, params, skip=set())
            return self._page(collections, query, url, params, keep)

    def _customer_payment_methods(self, customer_id: str, params: Params, url: str) -> Response:
        _only(params, {"limit", "starting_after", "ending_before", "expand", "type"})
        query = self._page_query("payment_methods", params)
        with self.store.lock:
            customer = self.store.get(customer_id, "customers")
            if customer is None or customer.deleted:
                raise errors.no_such("customers", customer_id, "customer")
            pms = self.store.collections["payment_methods"].by("customer").get(customer_id)
            keep = self._attr_filter("payment_methods", params, skip={"customer"})
            return self._page([pms] if pms else [], query, url, params, keep)

    def _charge_refunds(self, charge_id: str, params: Params, url: str) -> Response:
        _only(params, {"limit", "starting_after", "ending_before", "expand"})
        query = self._page_query("refunds", params)
        with self.store.lock:
            if self.store.get(charge_id, "charges") is None:
                raise errors.no_such("charges", charge_id, "charge")
            refunds = self.store.collections["refunds"].by("charge").get(charge_id)
            return self._page([refunds] if refunds else [], query, url, params, None)

    def _payment_method_lists(self, params: Params) -> list[Collection]:
        """Without `customer`, today's Stripe lists only Treasury methods: none here."""
        customer_id = params.get("customer")
        if customer_id is None:
            return []
        customer_id = _string(params, "customer")
        customer = self.store.get(customer_id, "customers")
        if customer is None or customer.deleted:
            raise errors.no_such("customers", customer_id, "customer", status=400)
        pms = self.store.collections["payment_methods"].by("customer").get(customer_id)
        return [pms] if pms else []

    def _event_lists(self, params: Params) -> list[Collection]:
        events = self.store.collections["events"]
        if "type" in params and "types" in params:
            raise StripeError(400, "You may only specify one of these parameters: type, types.")
        if "type" in params:
            pattern = _string(params, "type")
            by_type = events.by("type")
            if "*" in pattern:
                return [c for t, c in sorted(by_type.items()) if fnmatch.fnmatchcase(t, pattern)]
            return [by_type[pattern]] if pattern in by_type else []
        if "types" in params:
            types = params["types"]
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise StripeError(400, "Invalid array", param="types")
            if len(types) > 20:
                raise StripeError(
                    400, "You may pass at most 20 types.", param="types", code="parameter_invalid"
                )
            by_type = events.by("type")
            return [by_type[t] for t in sorted(set(types)) if t in by_type]
        return [events]

    def _attr_filter(
        self, kind: str, params: Params, skip: set[str]
    ) -> Callable[[Item], bool] | None:
        """A predicate for `?field=value` filters (events' type and PMs' customer are lists)."""
        if kind == "events":
            return None
        if kind == "payment_methods":
            skip = skip | {"customer"}
        wanted = []
        for position, name in enumerate(FILTER_FIELDS[kind]):
            if name in params and name not in skip:
                wanted.append((position, _string(params, name)))
        if not wanted:
            return None
        return lambda item: all(item.attrs[p] == v for p, v in wanted)

    def _page_query(self, kind: str, params: Params) -> PageQuery:
        limit = 10
        if "limit" in params:
            raw = params["limit"]
            if not isinstance(raw, str) or not _INTEGER.match(raw.strip()):
                raise errors.invalid_integer("limit", str(raw))
            limit = int(raw)
            if limit < 1:
                raise StripeError(
                    400, "This value must be greater than or equal to 1.", param="limit"
                )
            if limit > 100:
                raise StripeError(
                    400, "This value must be less than or equal to 100.", param="limit"
                )
        after = _string(params, "starting_after") if "starting_after" in params else ""
        before = _string(params, "ending_before") if "ending_before" in params else ""
        if after and before:
            raise StripeError(
                400,
                "Received both starting_after and ending_before parameters. "
                "Please pass in only one.",
            )
        lo, hi = _created_range(params) if "created" in params else (None, None)
        with self.store.lock:
            after_item = self._cursor(kind, after, "starting_after") if after else None
            before_item = self._cursor(kind, before, "ending_before") if before else None
        return PageQuery(limit, after_item, before_item, lo, hi)

    def _cursor(self, kind: str, obj_id: str, param: str) -> Item:
        item = self.store.get(obj_id, kind)
        if item is None:
            raise errors.no_such(kind, obj_id, param, status=400)
        return item

    def _page(
        self,
        collections: list[Collection],
        query: PageQuery,
        url: str,
        params: Params,
        keep: Callable[[Item], bool] | None,
    ) -> Response:
        items, has_more = select_page(collections, query, keep)
        expand = _expand_paths(params)
        if not expand:
            return Response(200, render_list(items, has_more, url))
        fields = []
        for path in expand:
            if not path.startswith("data."):
                raise _cannot_expand(path)
            fields.append(path[len("data.") :])
        bodies = [self._expand_one(item.json_bytes(), fields, prefix="data.") for item in items]
        return Response(200, _render_bodies(bodies, has_more, url))

    def _expand_one(self, body: bytes, fields: list[str], prefix: str) -> bytes:
        """Replace id fields by the objects they name, as `expand[]` asks."""
        if not fields:
            return body
        obj = json.loads(body)
        sub_lists = EXPANDABLE_LISTS.get(obj.get("object"), {})
        for name in fields:
            if name in sub_lists:
                obj[name] = self._sub_list(obj["id"], *sub_lists[name])
                continue
            if name not in EXPANDABLE or name not in obj:
                raise _cannot_expand(prefix + name)
            ref = obj[name]
            if isinstance(ref, str):
                target = self.store.get(ref)
                if target is not None:
                    obj[name] = target.to_dict()
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def _sub_list(self, parent_id: str, kind: str, field: str, url: str) -> dict[str, Any]:
        """The first page of a parent's sub-list (a charge's refunds), newest first."""
        with self.store.lock:
            sub = self.store.collections[kind].by(field).get(parent_id)
            items = [item for item in reversed(sub.items) if not item.deleted] if sub else []
            shown = [item.to_dict() for item in items[:SUB_LIST_LIMIT]]
        return {
            "object": "list",
            "data": shown,
            "has_more": len(items) > SUB_LIST_LIMIT,
            "url": url.format(id=parent_id),
        }


def _key_from_header(header: str | None) -> str | None:
    """The API key from `Bearer <key>` or HTTP basic auth with the key as user name."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


def _only(params: Params, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise errors.unknown_parameter(name)


def _string(params: Params, name: str) -> str:
    value = params[name]
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {json.dumps(value)}", param=name)
    return value


def _created_range(params: Params) -> tuple[int | None, int | None]:
    """created=<ts> or created[gt|gte|lt|lte]=<ts> as [lo, hi) in seconds."""
    raw = params["created"]
    lo: int | None = None
    hi: int | None = None
    if isinstance(raw, str):
        value = _integer("created", raw)
        return value, value + 1
    if not isinstance(raw, dict):
        raise errors.unknown_parameter("created")
    for op, text in raw.items():
        if op not in _CREATED_OPS:
            raise errors.unknown_parameter(f"created[{op}]")
        if not isinstance(text, str):
            raise errors.invalid_integer(f"created[{op}]", json.dumps(text))
        value = _integer(f"created[{op}]", text)
        if op == "gt":
            lo = value + 1 if lo is None else max(lo, value + 1)
        elif op == "gte":
            lo = value if lo is None else max(lo, value)
        elif op == "lt":
            hi = value if hi is None else min(hi, value)
        else:
            hi = value + 1 if hi is None else min(hi, value + 1)
    return lo, hi


def _integer(param: str, text: str) -> int:
    if not _INTEGER.match(text.strip()):
        raise errors.invalid_integer(param, text)
    return int(text)


def _expand_paths(params: Params) -> list[str]:
    raw = params.get("expand")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        return list(raw)
    raise StripeError(400, "Invalid array", param="expand")


def _cannot_expand(path: str) -> StripeError:
    return StripeError(
        400,
        f"This property cannot be expanded ({path}). (The stripe-assets sandbox expands only "
        f"{', '.join(sorted(EXPANDABLE))}.)",
        param="expand",
    )


def _render_bodies(bodies: list[bytes], has_more: bool, url: str) -> bytes:
    return (
        b'{"object":"list","data":['
        + b",".join(bodies)
        + b'],"has_more":'
        + (b"true" if has_more else b"false")
        + b',"url":"'
        + url.encode()
        + b'"}'
    )
