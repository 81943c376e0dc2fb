"""Shared fixtures. For now: the sandbox (a local Stripe-compatible API) for tests to call."""

from __future__ import annotations

from datetime import date

import pytest

from stripe_assets.sandbox import SandboxConfig, Store, generate

# Small and fixed (the end date too), so that every count in the tests is stable.
SANDBOX_CONFIG = SandboxConfig(seed=42, customers=120, charges=800, end=date(2025, 6, 30))


@pytest.fixture(scope="session")
def sandbox_account() -> Store:
    """The objects of SANDBOX_CONFIG, generated once per session."""
    return generate(SANDBOX_CONFIG)
