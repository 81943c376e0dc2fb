"""The shared pacer: stays under the limit in every sliding second, slows down on 429."""

import gc
import os
import tempfile
import threading
import time
from itertools import pairwise

from stripe_assets.sandbox.stats import RateLimiter as SandboxLimit
from stripe_assets.stripe_client.rate_limiter import HEADROOM, RateLimiter
from stripe_assets.stripe_client.shared_pace import UNUSED_FOR_SECONDS, SharedPace


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class LateWaking(FakeTime):
    """Every sleep lasts `late` seconds longer than asked."""

    def __init__(self, late: float) -> None:
        super().__init__()
        self.late = late

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds + self.late)


def worst_second(stamps: list[float]) -> int:
    return max(sum(1 for s in stamps if a <= s < a + 1.0) for a in stamps)


def test_requests_are_spaced_at_a_little_under_the_limit():
    t = FakeTime()
    limiter = RateLimiter(25, clock=t.clock, sleep=t.sleep)
    for _ in range(101):
        limiter.acquire()
    pace = 25 * HEADROOM
    assert 100 / pace - 1e-6 <= t.now <= 100 / int(pace) + 0.1


def test_threads_waking_late_from_their_sleep_keep_the_full_pace():
    # A sleeping thread wakes a little after its slot (0.2-1 ms on a busy machine): that
    # lateness must not be added to every interval, or the pace drops to 93/s (87/s at 1 ms).
    for late in (0.0002, 0.001):
        t = LateWaking(late)
        limiter = RateLimiter(100, clock=t.clock, sleep=t.sleep)
        stamps = []
        for _ in range(1000):
            limiter.acquire()
            stamps.append(t.now)
        assert 999 / (stamps[-1] - stamps[0]) >= 100 * HEADROOM * 0.995
        assert worst_second(stamps) <= 100 * HEADROOM


def test_after_a_stall_waiting_requests_leave_one_pace_apart_not_at_once():
    t = FakeTime()
    limiter = RateLimiter(100, clock=t.clock, sleep=t.sleep)
    limiter.acquire()
    t.now += 5.0  # the process was descheduled
    stamps = []
    for _ in range(300):
        limiter.acquire()
        stamps.append(t.now)
    assert worst_second(stamps) <= 95
    assert min(b - a for a, b in pairwise(stamps)) >= 1 / 95 - 1e-9


def test_no_sliding_second_holds_more_than_the_limit():
    for limit in (25, 100):
        t = FakeTime()
        limiter = RateLimiter(limit, clock=t.clock, sleep=t.sleep)
        stamps = []
        for _ in range(5 * limit):
            limiter.acquire()
            stamps.append(t.now)
        assert worst_second(stamps) <= limit


def test_a_burst_of_429s_slows_the_pace_once_and_calm_restores_it():
    t = FakeTime()
    limiter = RateLimiter(100, clock=t.clock, sleep=t.sleep)
    for _ in range(10):
        limiter.slow_down()
    assert limiter.rate == limiter.max_rate * 0.75
    t.now += 1.5
    limiter.slow_down()
    assert limiter.rate < limiter.max_rate * 0.75
    t.now += 30
    limiter.acquire()
    assert limiter.rate == limiter.max_rate


def send_against(server: SandboxLimit, limiter: RateLimiter, t: FakeTime,
                 until: float) -> list[float]:
    """Requests paced by `limiter` until `until`, answered at once; the times of the 429s."""
    rejected = []
    while t.now < until:
        limiter.acquire()
        if not server.admit(t.now):
            rejected.append(t.now)
            limiter.slow_down()
    return rejected


def test_a_limit_far_below_the_pace_is_reached_after_one_second_of_429s_not_five():
    # A live key paced at 95/s against an account that allows 25/s (Stripe's per-endpoint
    # default, or an app using the rest): after a second of sending, the server has shown
    # what it lets through, and the pace goes there at the next slow-down.
    t = FakeTime()
    limiter = RateLimiter(100, clock=t.clock, sleep=t.sleep)
    account = SandboxLimit(25)  # the sandbox's own limiter: at most 25 in any sliding second
    rejected = send_against(account, limiter, t, until=1.5)
    assert rejected[0] < 0.3  # the first 429: only a quarter off, nothing measured yet
    assert limiter.rate <= 25
    # A quarter off per second of 429s took five steps and 126 429s in these 5 s.
    assert len(rejected + send_against(account, limiter, t, until=5.0)) < 80


def test_a_429_early_in_a_stretch_takes_only_a_quarter_off():
    t = FakeTime()
    limiter = RateLimiter(100, clock=t.clock, sleep=t.sleep)
    for _ in range(10):
        limiter.acquire()
    limiter.slow_down()  # ten requests sent in 0.1 s say nothing of the account's room
    assert limiter.rate == limiter.max_rate * 0.75


def test_threads_share_one_budget():
    limiter = RateLimiter(200)
    began = time.monotonic()
    stamps: list[float] = []

    def work() -> None:
        for _ in range(25):
            limiter.acquire()
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # 200 acquisitions at 190/s: over a second, whatever the number of threads.
    assert time.monotonic() - began >= 1.0
    assert worst_second(stamps) <= 200


def shared_limiters(tmp_path, t: FakeTime, count: int, limit: float = 20) -> list[RateLimiter]:
    """`count` limiters as separate processes have them: each its own open of one pace file."""
    return [RateLimiter(limit, clock=t.clock, sleep=t.sleep,
                        shared=SharedPace(tmp_path / "pace")) for _ in range(count)]


def test_limiters_sharing_a_pace_file_leave_one_pace_apart_between_them(tmp_path):
    t = FakeTime()
    limiters = shared_limiters(tmp_path, t, 3)
    stamps = []
    for i in range(60):
        limiters[i % 3].acquire()
        stamps.append(t.now)
    assert min(b - a for a, b in pairwise(stamps)) >= 1 / (20 * HEADROOM) - 1e-9
    assert worst_second(stamps) <= 20


def test_a_429_seen_by_one_process_slows_every_process_reading_that_account(tmp_path):
    t = FakeTime()
    first, second = shared_limiters(tmp_path, t, 2)
    first.slow_down()
    second.acquire()
    assert second.rate == second.max_rate * 0.75
    second.slow_down()  # the same burst of 429s, seen by the other process: one signal
    first.acquire()
    assert first.rate == first.max_rate * 0.75


def test_a_pace_from_another_boot_is_not_waited_for(tmp_path):
    t = FakeTime()
    t.now = 1_000_000.0  # the previous boot ran for days
    (old,) = shared_limiters(tmp_path, t, 1)
    old.acquire()
    old.slow_down()
    t.now = 50.0  # rebooted: the monotonic clock starts again
    (new,) = shared_limiters(tmp_path, t, 1)
    assert new.acquire() == 0.0
    assert new.rate == new.max_rate


def test_the_pace_file_is_named_and_filled_without_the_key(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    key = "sk_live_51SecretKey000000000000zzzz"

    def pace_of(api_base: str, api_key: str) -> SharedPace:
        shared = SharedPace.for_account(api_base, api_key)
        assert shared is not None
        return shared

    shared = pace_of("https://api.stripe.com", key)
    RateLimiter(100, shared=shared).acquire()
    assert key not in str(shared.path) and key[-8:] not in str(shared.path)
    assert key.encode() not in shared.path.read_bytes()
    assert pace_of("https://api.stripe.com/", key).path == shared.path
    assert pace_of("https://api.stripe.com", key + "x").path != shared.path


def test_pace_files_unused_for_a_week_are_removed_when_a_client_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    used = SharedPace.for_account("http://127.0.0.1:1", "sk_test_used")
    gone = SharedPace.for_account("http://127.0.0.1:2", "sk_test_gone")
    assert used is not None and gone is not None
    for shared in (used, gone):
        RateLimiter(25, shared=shared).acquire()
    week_ago = time.time() - UNUSED_FOR_SECONDS - 60
    os.utime(gone.path, (week_ago, week_ago))
    SharedPace.for_account("http://127.0.0.1:3", "sk_test_new")
    assert used.path.exists() and not gone.path.exists()


def test_a_pace_directory_others_can_write_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    directory = tmp_path / f"stripe-assets-{os.getuid()}"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)  # made first by someone else, say, in a shared /tmp
    assert SharedPace.for_account("https://api.stripe.com", "sk_test_x") is None
    directory.chmod(0o700)
    assert SharedPace.for_account("https://api.stripe.com", "sk_test_x") is not None


def test_limiters_made_and_dropped_leave_no_file_open(tmp_path):
    """The events sensor makes a client, so a limiter, on every 30 s tick of a process that
    runs for months: each must give its pace file back."""
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    gc.collect()  # what earlier tests left to the collector (sockets, ...) closes now
    before = open_files()
    for _ in range(50):
        RateLimiter(1000, shared=SharedPace(tmp_path / "pace")).acquire()
    gc.collect()
    assert open_files() <= before
