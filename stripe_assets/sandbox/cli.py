"""`python -m stripe_assets.sandbox` (and `stripe-assets sandbox`): serve a sandbox account.

The first stdout line is exactly `Sandbox Stripe API listening on http://127.0.0.1:PORT`
(flushed), so that a parent process started with --port 0 can read the port it got.
Everything else (generation progress) goes to stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime

from stripe_assets.endpoints import ENDPOINTS
from stripe_assets.sandbox.faults import RANDOM_KINDS, check_kinds
from stripe_assets.sandbox.generator import SandboxConfig
from stripe_assets.sandbox.server import LOOPBACK, TEST_KEY, SandboxServer

LISTENING = "Sandbox Stripe API listening on "


def build_parser(prog: str = "python -m stripe_assets.sandbox") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a generated Stripe test-mode account on 127.0.0.1 (Stripe's API "
        "shapes, list semantics, errors, rate limits and faults).",
    )
    parser.add_argument("--host", default=LOOPBACK, help="only 127.0.0.1 (or localhost) is allowed")
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port (printed)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--charges", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365, help="days of history")
    parser.add_argument(
        "--end",
        type=_day,
        default=None,
        help="last day of history, YYYY-MM-DD (default: yesterday, the last whole UTC day)",
    )
    parser.add_argument("--payment-links", type=int, default=25)
    parser.add_argument(
        "--event-retention-days",
        type=int,
        default=None,
        help="keep only this many days of events (Stripe: 30; default: all)",
    )
    parser.add_argument(
        "--activity",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="make one change (a refund, a customer update, a card detached, a customer "
        "deleted) every SECONDS on average, with its events, as a live account would "
        "(default 0: the account does not change)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="requests per second, account-wide (0: unlimited; Stripe test mode: 25)",
    )
    parser.add_argument(
        "--endpoint-rate-limit",
        type=float,
        default=0.0,
        help="requests per second to each endpoint (method and path, ids aside), within the "
        "account-wide limit (0: unlimited; Stripe's default: 25)",
    )
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests, 0..1")
    parser.add_argument(
        "--fault-kinds",
        type=_kinds,
        default=("500", "reset"),
        help=f"comma-separated, among {','.join(sorted(RANDOM_KINDS))}",
    )
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--restricted-key",
        type=_restricted,
        action="append",
        default=[],
        metavar="KEY=LIST,...",
        help="an rk_test_ key that may read only these lists, e.g. "
        "rk_test_x=charges,customers (add refunds:write to let it refund; repeatable)",
    )
    parser.add_argument(
        "--revoked-key",
        action="append",
        default=[],
        metavar="KEY",
        help="answer this key with 401 api_key_expired (repeatable)",
    )
    parser.add_argument(
        "--live-key",
        action="append",
        default=[],
        metavar="KEY",
        type=_live_key,
        help="also accept this sk_live_/rk_live_ key, e.g. to benchmark a client's live-mode "
        "rate limit; the data stays test data (repeatable)",
    )
    parser.add_argument(
        "--connected-account",
        action="append",
        default=[],
        metavar="ACCOUNT",
        help="an acct_ id a Stripe-Account header may name, as a connected account of this "
        "platform (served the same data); others are refused with 403 (repeatable)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m stripe_assets.sandbox") -> int:
    args = build_parser(prog).parse_args(argv)
    config = SandboxConfig(
        seed=args.seed,
        customers=args.customers,
        charges=args.charges,
        days=args.days,
        end=args.end,
        payment_links=args.payment_links,
        event_retention_days=args.event_retention_days,
    )
    started = time.perf_counter()
    try:
        server = SandboxServer(
            config,
            host=args.host,
            port=args.port,
            latency=args.latency_ms / 1000.0,
            rate_limit=args.rate_limit or None,
            endpoint_rate_limit=args.endpoint_rate_limit or None,
            fault_rate=args.fault_rate,
            fault_kinds=args.fault_kinds,
            fault_seed=args.fault_seed,
            revoked_keys=set(args.revoked_key),
            restricted_keys=dict(args.restricted_key),
            live_keys=set(args.live_key),
            connected_accounts=set(args.connected_account),
            activity_seconds=args.activity,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = {kind: len(c) for kind, c in server.store.collections.items()}
    print(
        f"Generated seed {config.seed} in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items()),
        file=sys.stderr,
    )
    stop = threading.Event()
    restore = _on_signals(stop)
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"error: cannot listen on {LOOPBACK}:{args.port}: {exc}", file=sys.stderr)
            return 2
        print(f"{LISTENING}{server.url}", flush=True)
        print(f"STRIPE_API_BASE={server.url} STRIPE_API_KEY={TEST_KEY}", flush=True)
        server.serve_until(stop)
    finally:
        restore()
    return 0


def _on_signals(stop: threading.Event) -> Callable[[], None]:
    """Stop on SIGINT/SIGTERM; returns a function restoring the previous handlers.
    Signal handlers exist only on the main thread: elsewhere the caller stops us."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def _day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date of the form YYYY-MM-DD") from None


def _live_key(text: str) -> str:
    if not text.startswith(("sk_live_", "rk_live_")):
        raise argparse.ArgumentTypeError("a live key starts with sk_live_ or rk_live_")
    return text


def _restricted(text: str) -> tuple[str, set[str]]:
    key, sep, names = text.partition("=")
    allowed = {n.strip() for n in names.split(",") if n.strip()}
    unknown = {n for n in allowed if n.removesuffix(":write") not in ENDPOINTS}
    if not sep or not key.startswith("rk_") or unknown:
        raise argparse.ArgumentTypeError(
            f"use rk_test_...=list,list with lists among {', '.join(ENDPOINTS)}"
            + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else "")
        )
    return key, allowed


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    try:
        check_kinds(kinds, RANDOM_KINDS)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return kinds
