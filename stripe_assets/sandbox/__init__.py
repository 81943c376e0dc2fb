"""A Stripe-compatible local API ("the sandbox"): a generated test-mode account.

Standard library only: it ships inside the package. Nothing runs at import.
"""

from stripe_assets.sandbox.generator import SandboxConfig, generate
from stripe_assets.sandbox.store import Store

__all__ = ["SandboxConfig", "Store", "generate"]
