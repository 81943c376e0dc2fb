"""Shared by the benchmark scripts: the sandbox as a subprocess, measured runs, the machine.

Standard library only, so that any of the benchmark's interpreters can import it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
LISTENING = "Sandbox Stripe API listening on "
TEST_KEY = "sk_test_bench0000000000000000test"
LIVE_KEY = "sk_live_bench0000000000000000live"


def project_python() -> str:
    """The project's interpreter: .venv/bin/python if there, else the one running this."""
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


class Sandbox:
    """`python -m stripe_assets.sandbox` as its own process (so it has its own CPU and GIL).

    The account covers `days` whole UTC days ending today; `first_day`/`last_day` say which.
    """

    def __init__(self, charges: int, customers: int, log_path: Path, days: int = 365,
                 latency_ms: float = 0.0, rate_limit: float = 0.0,
                 live_keys: Sequence[str] = (LIVE_KEY,), python: str | None = None):
        self.last_day = datetime.now(UTC).date()
        self.first_day = self.last_day - timedelta(days=days - 1)
        self.charges = charges
        command = [
            python or project_python(), "-m", "stripe_assets.sandbox", "--port", "0",
            "--charges", str(charges), "--customers", str(customers), "--days", str(days),
            "--end", self.last_day.isoformat(), "--latency-ms", str(latency_ms),
            "--rate-limit", str(rate_limit),
        ]
        for key in live_keys:
            command += ["--live-key", key]
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        began = time.monotonic()
        self.process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=self._log,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()  # blocks while generating
        if not line.startswith(LISTENING):
            self.stop()
            raise RuntimeError(
                f"the sandbox did not start (first line {line!r}); see {log_path}"
            )
        self.url = line.removeprefix(LISTENING)
        self.startup_seconds = time.monotonic() - began

    def admin(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"{self.url}/_sandbox/{path}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def configure(self, latency_ms: float, rate_limit: float,
                  endpoint_rate_limit: float = 0.0) -> None:
        self.admin("POST", "settings", {"latency": latency_ms / 1000.0,
                                        "rate_limit": rate_limit or None,
                                        "endpoint_rate_limit": endpoint_rate_limit or None})

    def reset_stats(self) -> None:
        self.admin("POST", "stats/reset", {})

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("GET", "stats")
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


class ApiWindow:
    """Watches the sandbox's request counter while a loader runs (every `interval` s), to time
    the span in which requests arrived: the loader's API phase, seen from the server side.

    A loader may send a lone request first (`stripe-assets load` checks the key with one before
    it starts its run, ~0.5 s before the fetch); with `gap` set, requests followed by `gap`
    seconds of silence before the fetch begins are left out of the span and counted in
    `lead_in`. Only for a concurrent loader: a sequential one's requests are that far apart.
    """

    def __init__(self, sandbox: Sandbox, interval: float = 0.05, gap: float | None = None):
        self.sandbox = sandbox
        self.interval = interval
        self.gap = gap
        self.changes: list[tuple[float, int]] = []  # (when the counter changed, its new value)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ApiWindow:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        seen = 0
        while not self._stop.is_set():
            before = time.monotonic()
            try:
                total = int(self.sandbox.stats()["total_requests"])
            except OSError:
                total = seen
            after = time.monotonic()
            if total > seen:
                # The change happened before `after`; count the poll's own time half each way.
                self.changes.append(((before + after) / 2, total))
                seen = total
            self._stop.wait(self.interval)

    def _start(self) -> int:
        """Index of the change where the fetch begins: the first one followed by another
        within `gap` (or the last one)."""
        if self.gap is None:
            return 0
        for i in range(len(self.changes) - 1):
            if self.changes[i + 1][0] - self.changes[i][0] < self.gap:
                return i
        return max(0, len(self.changes) - 1)

    @property
    def lead_in(self) -> int:
        """Requests sent before the fetch began (and left out of `seconds`)."""
        if not self.changes:
            return 0
        i = self._start()
        return self.changes[i - 1][1] if i > 0 else 0

    @property
    def seconds(self) -> float | None:
        if not self.changes:
            return None
        first = self.changes[self._start()][0] - self.interval / 2
        return max(self.changes[-1][0] - first, self.interval)


@dataclass
class Measured:
    returncode: int
    wall: float  # seconds, process start to exit
    max_rss_kb: int  # ru_maxrss of the process (and any children it waited for)
    stdout: str
    log_path: Path


def run_measured(command: Sequence[str], env: Mapping[str, str], cwd: Path,
                 log_path: Path) -> Measured:
    """Run a command to completion; its wall time and peak RSS come from wait4 on its pid, so
    each run's figure is its own (RUSAGE_CHILDREN would give the maximum over all runs)."""
    with open(log_path, "wb") as log:
        began = time.monotonic()
        process = subprocess.Popen(list(command), env=dict(env), cwd=cwd,
                                   stdout=subprocess.PIPE, stderr=log)
        assert process.stdout is not None
        out = process.stdout.read()  # the loaders print little: no deadlock on the pipe
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - began
        process.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        process.stdout.close()
    log_path.with_suffix(".out").write_bytes(out)
    return Measured(process.returncode, wall, int(usage.ru_maxrss), out.decode(errors="replace"),
                    log_path)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Machine:
    cpus: int
    cpu_model: str
    ram_gb: float
    python: str
    date: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    @classmethod
    def describe(cls) -> Machine:
        model = platform.processor() or "unknown"
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        ram = 0.0
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    ram = int(line.split()[1]) / 1024 / 1024
        except OSError:
            pass
        return cls(os.cpu_count() or 0, model, round(ram, 1), platform.python_version())

    def line(self) -> str:
        return (f"{self.cpus} CPUs ({self.cpu_model}), {self.ram_gb} GiB RAM, "
                f"Python {self.python}, {self.date}, {load_average()}")


def git_revision() -> str:
    """The commit measured, and whether tracked files differ from it (the tree is shared)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    changed = [line[3:] for line in dirty.splitlines() if line.strip()]
    return f"commit {head}" + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


def load_average() -> str:
    """The machine is shared: say how busy it was."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
