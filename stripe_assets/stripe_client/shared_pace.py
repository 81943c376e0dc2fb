"""The pace of one Stripe account, shared by every process on this machine that reads it.

Stripe counts requests per account, not per process. Two runs that do not share a Dagster
instance (two `stripe-assets load`, a load beside `dagster dev`, an instance without the
`stripe_api` pool limit) would each pace at the whole limit and together exceed it. So the
rate limiter keeps its pace (the next free slot, the pace after 429s) in a small file named
after the account, read and written under an exclusive `flock`: one request leaves at a time,
machine-wide, one pace apart. The OS releases a dead process's lock, so nothing can stay held.

The file holds times of the system-wide monotonic clock (the same in every process, Linux and
macOS), never the key: its name is a hash of the API base and the key. Where `fcntl` does not
exist (Windows), or the directory is not this user's alone, each process paces alone.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

# A pace file nobody has written for this long is removed (every request writes it): each
# sandbox, on its own port, is an account of its own, and would leave one behind.
UNUSED_FOR_SECONDS = 7 * 86400
_MAGIC = b"SAP1"
_LAYOUT = struct.Struct("<4sdddd")


@dataclass
class Pace:
    """What a rate limiter decides with: when the next request may leave, and how fast."""

    next_slot: float  # monotonic time
    fraction: float  # of the limiter's own pace; below 1 after 429s
    last_decrease: float
    last_update: float


class SharedPace:
    """A `Pace` in a file: `with shared.held(fresh, clock, longest) as (pace, now):` (changes
    to `pace` are written back)."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def for_account(cls, api_base: str, api_key: str) -> SharedPace | None:
        """The file of the account behind `api_key` at `api_base`; None without `flock` or
        without a private directory for it. Stripe Connect reads with one platform key share
        its file: the safe side."""
        if fcntl is None:
            return None
        digest = hashlib.sha256(f"{api_base.rstrip('/')}\n{api_key.strip()}".encode()).hexdigest()
        directory = Path(tempfile.gettempdir()) / f"stripe-assets-{os.getuid()}"
        directory.mkdir(mode=0o700, exist_ok=True)
        if not _private(directory):
            return None
        _prune(directory, time.time() - UNUSED_FOR_SECONDS)
        return cls(directory / f"pace-{digest[:32]}")

    @contextmanager
    def held(
        self, fresh: Pace, clock: Callable[[], float], longest_wait: float
    ) -> Iterator[tuple[Pace, float]]:
        """Lock the file and yield its pace and the time then, or `fresh` if there is no pace
        yet or it cannot be trusted (times more than `longest_wait` ahead: from before a
        reboot)."""
        assert fcntl is not None
        # Opened per request, and closed with the lock: the events sensor makes a client per
        # tick in a process that runs for months, so nothing may stay open. (It also keeps a
        # forked child from sharing the parent's open file, and so its lock.) ~10 us in all.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            now = clock()  # after the lock: another process may have held it a moment
            pace = _read(os.pread(fd, _LAYOUT.size, 0))
            if pace is None or max(pace.next_slot, pace.last_decrease, pace.last_update) > (
                now + longest_wait
            ):
                pace = fresh
            yield pace, now
            os.pwrite(fd, _LAYOUT.pack(_MAGIC, pace.next_slot, pace.fraction,
                                       pace.last_decrease, pace.last_update), 0)
        finally:
            os.close(fd)  # releases the lock


def _private(directory: Path) -> bool:
    """Ours alone: in a shared temp directory another user could have made it first, and
    could then slow this process down (or see which accounts it reads) through its files."""
    info = directory.lstat()
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def _prune(directory: Path, unused_since: float) -> None:
    for path in directory.glob("pace-*"):
        try:
            if path.stat().st_mtime < unused_since:
                path.unlink()
        except OSError:  # another process pruned it first
            pass


def _read(data: bytes) -> Pace | None:
    if len(data) != _LAYOUT.size:
        return None
    magic, next_slot, fraction, last_decrease, last_update = _LAYOUT.unpack(data)
    if magic != _MAGIC or not 0 < fraction <= 1:
        return None
    return Pace(next_slot, fraction, last_decrease, last_update)
