"""Start the bundled Stripe-compatible API in a child process, for runs with no Stripe key."""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

SANDBOX_KEY = "sk_test_sandbox_local"
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


@contextmanager
def running_sandbox(args: list[str] | None = None, startup_timeout: float = 120.0) -> Iterator[str]:
    """Yield the base URL of a sandbox child process; stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_assets.sandbox", "--port", "0", *(args or [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield _wait_for_url(proc, startup_timeout)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_url(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"The local sandbox API exited at start-up:\n{err[-2000:]}")
        if selector.select(timeout=0.2):
            line = proc.stdout.readline()
            match = _LISTENING.search(line)
            if match:
                return match.group(1)
    raise RuntimeError(f"The local sandbox API did not start within {timeout:.0f}s.")
