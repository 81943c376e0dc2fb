"""The shared token bucket: paces requests under the limit and slows down on 429."""

import threading

from stripe_assets.stripe_client.rate_limiter import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_requests_are_spaced_at_the_rate_after_a_small_burst():
    t = FakeTime()
    limiter = RateLimiter(25, clock=t.clock, sleep=t.sleep)
    for _ in range(100):
        limiter.acquire()
    # 100 requests at 25/s take ~4 s (less the initial burst of 2.5 tokens).
    assert 3.8 <= t.now <= 4.0


def test_no_sliding_second_holds_more_than_the_rate():
    t = FakeTime()
    limiter = RateLimiter(100, clock=t.clock, sleep=t.sleep)
    stamps = []
    for _ in range(500):
        limiter.acquire()
        stamps.append(t.now)
    worst = max(sum(1 for s in stamps if a <= s < a + 1.0) for a in stamps)
    assert worst <= 100 + limiter.burst


def test_a_429_halves_the_rate_and_calm_restores_it():
    t = FakeTime()
    limiter = RateLimiter(100, clock=t.clock, sleep=t.sleep)
    limiter.slow_down()
    assert limiter.rate == 50
    t.now += 30
    limiter.acquire()
    assert limiter.rate == 100


def test_threads_share_one_budget():
    limiter = RateLimiter(200)
    import time

    began = time.monotonic()
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(25)])
               for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # 200 acquisitions at 200/s: about one second, whatever the number of threads.
    assert time.monotonic() - began >= 0.85
