"""The shared pacer: stays under the limit in every sliding second, slows down on 429."""

import threading
import time
from itertools import pairwise

from stripe_assets.stripe_client.rate_limiter import HEADROOM, RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def worst_second(stamps: list[float]) -> int:
    return max(sum(1 for s in stamps if a <= s < a + 1.0) for a in stamps)


def test_requests_are_spaced_at_a_little_under_the_limit():
    t = FakeTime()
    limiter = RateLimiter(25, clock=t.clock, sleep=t.sleep)
    for _ in range(101):
        limiter.acquire()
    pace = 25 * HEADROOM
    assert 100 / pace - 1e-6 <= t.now <= 100 / int(pace) + 0.1


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
