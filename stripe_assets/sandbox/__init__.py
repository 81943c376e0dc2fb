"""A Stripe-compatible local API ("the sandbox"): a generated test-mode account over HTTP.

In-process:

    from stripe_assets.sandbox import SandboxConfig, SandboxServer
    with SandboxServer(SandboxConfig(seed=42, charges=800), rate_limit=25) as server:
        requests.get(f"{server.url}/v1/charges", auth=("sk_test_x", ""))
        server.inject("500", count=2, path_prefix="/v1/charges")
        server.stats.max_requests_in_1s

Out of process: `python -m stripe_assets.sandbox --port 0` (first stdout line:
"Sandbox Stripe API listening on http://127.0.0.1:PORT"). Admin endpoints, no key needed:
GET /_sandbox/stats, POST /_sandbox/stats/reset, GET|POST /_sandbox/faults (JSON body
{"kind", "count", "path_prefix", "params"} or {"fault_rate", "fault_kinds"} or
{"clear": true}), POST /_sandbox/settings ({"latency", "rate_limit",
"endpoint_rate_limit"}), GET /_sandbox/health.

Standard library only: it ships inside the package. Nothing runs at import.
"""

from stripe_assets.sandbox.generator import SandboxConfig, generate
from stripe_assets.sandbox.server import (
    TEST_KEY,
    SandboxServer,
    running_sandbox,
    start_in_background,
)
from stripe_assets.sandbox.stats import StatsSnapshot
from stripe_assets.sandbox.store import Store

__all__ = [
    "TEST_KEY",
    "SandboxConfig",
    "SandboxServer",
    "StatsSnapshot",
    "Store",
    "generate",
    "running_sandbox",
    "start_in_background",
]
