"""Shared fixtures. For now: the sandbox (a local Stripe-compatible API) for tests to call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import requests

from stripe_assets.sandbox import SandboxConfig, SandboxServer, Store, generate
from stripe_assets_tests.ui_support import loaded_dagster_ui  # noqa: F401 (session fixture)

# Small and fixed (the end date too), so that every count in the tests is stable.
SANDBOX_CONFIG = SandboxConfig(seed=42, customers=120, charges=800, end=date(2025, 6, 30))
SANDBOX_KEY = "sk_test_sandbox"


@pytest.fixture(scope="session")
def sandbox_account() -> Store:
    """The objects of SANDBOX_CONFIG, generated once per session."""
    return generate(SANDBOX_CONFIG)


@pytest.fixture(scope="session")
def sandbox(sandbox_account: Store) -> Iterator[SandboxServer]:
    """A running sandbox with SANDBOX_CONFIG, shared by the session: read it, don't change it
    (use `sandbox_factory` for writes, faults, rate limits)."""
    with SandboxServer(sandbox_account) as server:
        yield server


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes with special options: `sandbox_factory(config=None, **server_options)`.
    Each gets a freshly generated account (default SANDBOX_CONFIG); all stop after the test."""
    servers: list[SandboxServer] = []

    def start(config: SandboxConfig | None = None, **options: Any) -> SandboxServer:
        server = SandboxServer(config or SANDBOX_CONFIG, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def stripe_http() -> Iterator[requests.Session]:
    """A keep-alive HTTP session authenticated with a sandbox test key."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {SANDBOX_KEY}"
        yield session
