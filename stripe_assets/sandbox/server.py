"""The sandbox over HTTP: a threaded HTTP/1.1 keep-alive server on 127.0.0.1.

This module is the shell around `api.StripeApi`: it reads requests, applies what a network
and Stripe's edge add (latency, rate limit, faults), writes responses with Stripe's headers,
counts everything in `stats`, and serves the /_sandbox/ admin endpoints (no key needed) that
let another process inject faults and read the stats.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import threading
import time
import traceback
from binascii import b2a_base64
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stripe_assets.sandbox import errors
from stripe_assets.sandbox.activity import Activity
from stripe_assets.sandbox.api import Headers, Request, Response, StripeApi
from stripe_assets.sandbox.faults import CONNECTION_KINDS, Fault, FaultPlan, fault_response
from stripe_assets.sandbox.generator import SandboxConfig, generate
from stripe_assets.sandbox.limits import RateLimits
from stripe_assets.sandbox.shapes import ACCOUNT_API_VERSION
from stripe_assets.sandbox.stats import Stats, StatsSnapshot
from stripe_assets.sandbox.store import Store

LOOPBACK = "127.0.0.1"
DEFAULT_FAULT_KINDS = ("500", "503_html", "429", "reset", "truncated", "invalid_json")
TEST_KEY = "sk_test_sandbox"

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
    403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
}  # fmt: skip
_TRANSLATE_BASE62 = bytes.maketrans(b"+/", b"Az")


def _request_id() -> str:
    return (
        "req_"
        + b2a_base64(os.urandom(12), newline=False).translate(_TRANSLATE_BASE62)[:14].decode()
    )


class SandboxServer:
    """A Stripe-compatible API serving a generated test-mode account.

    Use as a context manager (`with SandboxServer(config) as server: server.url`) or call
    start()/stop(). The account is generated in the constructor, before anything listens.
    """

    def __init__(
        self,
        config: SandboxConfig | Store | None = None,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        latency: float = 0.0,
        rate_limit: float | None = None,
        endpoint_rate_limit: float | None = None,
        fault_rate: float = 0.0,
        fault_kinds: tuple[str, ...] | list[str] = DEFAULT_FAULT_KINDS,
        fault_seed: int = 0,
        restricted_keys: Mapping[str, set[str]] | None = None,
        revoked_keys: set[str] | frozenset[str] | None = None,
        live_keys: set[str] | frozenset[str] | None = None,
        connected_accounts: set[str] | frozenset[str] | None = None,
        clock: Callable[[], float] = time.time,
        activity_seconds: float = 0.0,
    ):
        if host not in (LOOPBACK, "localhost"):
            raise ValueError(f"the sandbox listens on {LOOPBACK} only, not {host!r}")
        if latency < 0:
            raise ValueError("latency must be >= 0 seconds")
        if activity_seconds < 0:
            raise ValueError("--activity (seconds between changes) must be >= 0; 0: the account "
                             "does not change")
        # Options are checked before the (possibly long) generation of the account.
        self.latency = latency
        self.limits = RateLimits(rate_limit, endpoint_rate_limit)
        self.faults = FaultPlan(fault_rate, tuple(fault_kinds), fault_seed)
        if isinstance(config, Store):  # an account generated earlier (shared by servers)
            self.store = config
            self.config = (
                config.config if isinstance(config.config, SandboxConfig) else SandboxConfig()
            )
        else:
            self.config = config or SandboxConfig()
            self.store = generate(self.config)
        self.api = StripeApi(
            self.store,
            seed=self.config.seed,
            clock=clock,
            restricted_keys=restricted_keys,
            revoked_keys=revoked_keys,
            live_keys=live_keys,
            connected_accounts=connected_accounts,
        )
        self.activity = (
            Activity(self.store, self.api.mutations, activity_seconds, self.config.seed)
            if activity_seconds else None
        )
        self._activity_stop = threading.Event()
        self._stats = Stats()
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((LOOPBACK, self._port), _Handler, self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"stripe-sandbox-{self._port}",
            daemon=True,
        )
        self._thread.start()
        if self.activity is not None:
            self._activity_stop.clear()
            self.activity.start(self._activity_stop)
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._activity_stop.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_until(self, stop: threading.Event) -> None:
        """Serve until `stop` is set (the CLI's main loop)."""
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()

    # -- what tests and tools use

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def account(self) -> Store:
        """The account's objects, to compute expected numbers independently of the API."""
        return self.store

    @property
    def rate_limit(self) -> float | None:
        """Requests per second the account allows (None: no limit)."""
        return self.limits.account_rate

    @rate_limit.setter
    def rate_limit(self, rate: float | None) -> None:
        self.limits = RateLimits(rate, self.limits.endpoint_rate)

    @property
    def endpoint_rate_limit(self) -> float | None:
        """Requests per second each endpoint allows, within the account's (None: no limit)."""
        return self.limits.endpoint_rate

    @endpoint_rate_limit.setter
    def endpoint_rate_limit(self, rate: float | None) -> None:
        self.limits = RateLimits(self.limits.account_rate, rate)

    @property
    def stats(self) -> StatsSnapshot:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    def inject(
        self, kind: str, count: int = 1, path_prefix: str | None = None, **params: Any
    ) -> None:
        """Make the next `count` requests (under `path_prefix`, if given) fail as `kind`."""
        self.faults.inject(kind, count, path_prefix, **params)

    # -- serving (called on the connection's thread)

    def _serve(self, handler: _Handler) -> None:
        path, _, query = handler.path.partition("?")
        request_id = _request_id()
        version = handler.headers.get("Stripe-Version") or ACCOUNT_API_VERSION
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            handler.close_connection = True  # the request's end is unknown: don't reuse
            bad = errors.StripeError(400, "Invalid Content-Length header.")
            _write(handler, Response(400, bad.body(request_id)), request_id, version)
            return
        body = handler.rfile.read(length) if length > 0 else b""
        if path.startswith("/_sandbox/"):
            _write(handler, self._admin(handler.command, path, body), request_id, version)
            return
        stats = self._stats
        stats.request_started(path)
        try:
            if self.latency:
                time.sleep(self.latency)  # on this connection's thread: requests overlap
            fault = self.faults.pick(path)
            if fault is not None:
                stats.fault(fault.kind)
                if fault.kind == "slow":
                    time.sleep(float(fault.params.get("seconds", 5.0)))
                    fault = None
                elif fault.kind == "reset":
                    _reset(handler)
                    return
            if fault is not None and fault.kind not in CONNECTION_KINDS:
                response = fault_response(fault, request_id)
            elif (limited := self.limits.check(handler.command, path)) is not None:
                error = errors.rate_limited()
                response = Response(429, error.body(request_id),
                                    {"Stripe-Rate-Limited-Reason": limited})
            else:
                request = Request(
                    handler.command, path, query, body, Headers(handler.headers.items())
                )
                response = self._answer(request, request_id)
            if fault is not None and fault.kind == "truncated":
                stats.response(200)
                _write_truncated(handler, response, request_id, version, fault)
            else:
                stats.response(response.status)
                _write(handler, response, request_id, version)
        finally:
            stats.request_finished()

    def _answer(self, request: Request, request_id: str) -> Response:
        """The API's answer; a bug in the sandbox becomes a 500 naming it, not a dropped
        connection (which a client would retry as a network fault)."""
        try:
            return self.api.handle(request, request_id)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            error = errors.StripeError(
                500, f"Sandbox bug: {type(exc).__name__}: {exc}", type=errors.API_ERROR
            )
            return Response(500, error.body(request_id), {"Stripe-Should-Retry": "false"})

    def _admin(self, method: str, path: str, body: bytes) -> Response:
        """/_sandbox/ endpoints: stats and faults for tests and out-of-process servers."""
        try:
            payload = json.loads(body) if body.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("send a JSON object")
            if path == "/_sandbox/stats" and method == "GET":
                return _json(200, self.stats.as_dict())
            if path == "/_sandbox/stats/reset" and method == "POST":
                self.reset_stats()
                return _json(200, self.stats.as_dict())
            if path == "/_sandbox/faults" and method in ("GET", "POST"):
                if method == "POST":
                    self._configure_faults(payload)
                return _json(200, self.faults.describe())
            if path == "/_sandbox/settings" and method == "POST":
                if "latency" in payload:
                    self.latency = max(0.0, float(payload["latency"]))
                if "rate_limit" in payload:
                    self.rate_limit = payload["rate_limit"]
                if "endpoint_rate_limit" in payload:
                    self.endpoint_rate_limit = payload["endpoint_rate_limit"]
                return _json(200, {"latency": self.latency, "rate_limit": self.rate_limit,
                                   "endpoint_rate_limit": self.endpoint_rate_limit})
            if path == "/_sandbox/health" and method == "GET":
                counts = {kind: len(c) for kind, c in self.store.collections.items()}
                return _json(200, {"ok": True, "url": self.url, "counts": counts})
        except (ValueError, TypeError) as exc:
            return _json(400, {"error": {"type": "invalid_request_error", "message": str(exc)}})
        message = f"No sandbox admin endpoint {method} {path}"
        return _json(404, {"error": {"type": "invalid_request_error", "message": message}})

    def _configure_faults(self, payload: dict[str, Any]) -> None:
        """{"kind", "count", "path_prefix", "params"} injects; {"fault_rate", "fault_kinds"}
        sets random faults; {"clear": true} drops pending injections. Combinable."""
        if payload.get("clear"):
            self.faults.clear()
        if "fault_rate" in payload or "fault_kinds" in payload:
            self.faults.set_random(
                float(payload.get("fault_rate", self.faults.rate)),
                tuple(payload.get("fault_kinds", self.faults.kinds)),
            )
        if "kind" in payload:
            params = payload.get("params") or {}
            if not isinstance(params, dict):
                raise ValueError("params must be a JSON object")
            self.faults.inject(
                str(payload["kind"]),
                int(payload.get("count", 1)),
                payload.get("path_prefix"),
                **params,
            )


def start_in_background(config: SandboxConfig | Store | None = None, **opts: Any) -> SandboxServer:
    """A started server on its own daemon thread; call .stop() when done."""
    return SandboxServer(config, **opts).start()


@contextmanager
def running_sandbox(
    config: SandboxConfig | Store | None = None, **opts: Any
) -> Iterator[SandboxServer]:
    """`with running_sandbox(SandboxConfig(charges=100)) as server: ...`"""
    server = SandboxServer(config, **opts).start()
    try:
        yield server
    finally:
        server.stop()


# -- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a client holding a keep-alive connection must not block exit
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[_Handler], sandbox: SandboxServer):
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, sock: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(sock)
            else:
                self._connections.discard(sock)

    def close_connections(self) -> None:
        """Wake threads waiting on idle keep-alive connections, so that stop() is prompt."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "nginx"
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in one write; no Nagle delay on small responses.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a benchmark makes thousands of requests

    def _dispatch(self) -> None:
        try:
            self.server.sandbox._serve(self)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    # PUT and PATCH get Stripe's 404 "Unrecognized request URL" rather than a bare 501.
    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _dispatch


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _head(
    handler: _Handler, response: Response, request_id: str, version: str, length: int
) -> bytes:
    status = response.status
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
        "Server: nginx",
        f"Date: {_http_date()}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {length}",
        "Connection: close" if handler.close_connection else "Connection: keep-alive",
        f"Request-Id: {request_id}",
        f"Stripe-Version: {version}",
    ]
    lines.extend(f"{name}: {value}" for name, value in response.headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _write(handler: _Handler, response: Response, request_id: str, version: str) -> None:
    body = response.body
    handler.wfile.write(_head(handler, response, request_id, version, len(body)) + body)


def _write_truncated(
    handler: _Handler, response: Response, request_id: str, version: str, fault: Fault
) -> None:
    """A 200 whose JSON stops half way. By default the Content-Length matches the cut body (a
    proxy that truncated and re-framed it: only JSON parsing notices); with declared_full the
    header promises the whole body and the connection closes early (the HTTP client notices)."""
    cut = response.body[: len(response.body) // 2]
    ok = Response(200, cut, response.headers, response.content_type)
    if fault.params.get("declared_full"):
        handler.close_connection = True
        handler.wfile.write(_head(handler, ok, request_id, version, len(response.body)) + cut)
    else:
        handler.wfile.write(_head(handler, ok, request_id, version, len(cut)) + cut)


def _reset(handler: _Handler) -> None:
    """Drop the connection without answering: linger 0 makes close() send a TCP RST."""
    handler.close_connection = True
    sock = handler.connection
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # the socket closes only once its file objects are closed
        sock.close()
    except OSError:
        pass


def _json(status: int, obj: Any) -> Response:
    return Response(status, json.dumps(obj, indent=2).encode())
