"""The 120/60 s send limiter with heartbeat reserve, on the autojump clock."""

from __future__ import annotations

import pytest
import trio
from trio.testing import MockClock

from gateway._send_limiter import SendLimiter


async def test_ordinary_sends_leave_heartbeat_slots(autojump_clock: MockClock) -> None:
    limiter = SendLimiter(limit=120, window_s=60.0, reserve=3)
    t0 = trio.current_time()
    for _ in range(117):
        await limiter.acquire()
    assert trio.current_time() == t0  # 117 go at once
    assert limiter.available() == 0 and limiter.available(priority=True) == 3
    for _ in range(3):
        await limiter.acquire(priority=True)  # heartbeats still pass at once
    assert trio.current_time() == t0
    await limiter.acquire()  # the 121st waits for the first to leave the window
    assert trio.current_time() == pytest.approx(t0 + 60.0)


async def test_sliding_window_never_exceeds_limit(autojump_clock: MockClock) -> None:
    limiter = SendLimiter(limit=10, window_s=60.0, reserve=2)
    times: list[float] = []
    for i in range(40):
        await limiter.acquire(priority=(i % 7 == 0))
        times.append(trio.current_time())
        await trio.sleep(0.5)
    for i, t in enumerate(times):
        in_window = [u for u in times[: i + 1] if u > t - 60.0]
        assert len(in_window) <= 10


async def test_cancelled_wait_takes_no_slot(autojump_clock: MockClock) -> None:
    limiter = SendLimiter(limit=2, window_s=10.0, reserve=1)
    await limiter.acquire()
    with trio.move_on_after(1.0):
        await limiter.acquire()
    assert limiter.available(priority=True) == 1


def test_reserve_must_be_below_limit() -> None:
    with pytest.raises(ValueError):
        SendLimiter(limit=3, reserve=3)
