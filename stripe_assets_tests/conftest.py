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


UI_GROUP = "test_ui_*"


def worker_group(nodeid: str) -> str:
    """What one pytest-xdist worker runs whole (`make test` runs two): a test module, so that
    its module fixtures are built once; and all the `test_ui_*` modules together, which share
    the session's loaded `dagster dev` (80 s to build)."""
    path = nodeid.split("::", 1)[0]
    return UI_GROUP if path.rpartition("/")[2].startswith("test_ui_") else path


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest groups first (the UI's, then those with `slow` tests): the workers take
    groups in this order, and neither should end the run alone with one of them."""
    slow = {worker_group(item.nodeid) for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple[bool, bool]:
        group = worker_group(item.nodeid)
        return group != UI_GROUP, group not in slow

    items.sort(key=rank)  # stable: a group's tests keep their order


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: absent without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope`, by `worker_group`. (xdist's `loadgroup` would do it with marks, but
    does not group at all under pytest 9.2: pytest-xdist issue #1386.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return GroupScheduling(config, log)


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
