"""A Stripe-compatible local API ("the sandbox"): a generated test-mode account over HTTP.

    from stripe_assets.sandbox import SandboxConfig, SandboxServer
    with SandboxServer(SandboxConfig(seed=42, charges=800)) as server:
        requests.get(f"{server.url}/v1/charges", auth=("sk_test_x", ""))

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
