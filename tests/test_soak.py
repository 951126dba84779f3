"""A seeded two-day soak (bench/soak): the real bot through family changes, Discord, gateway
and Steam faults and a hard restart, on the thread-aware autojump clock. The library is read every 3 h instead of
hourly to keep the suite fast (the bench runs the default). 0 lost, 0 doubled,
0 unhandled, nothing left in the outbox once the faults ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import SoakOptions, ThreadAwareClock, failed, run_soak


@pytest.fixture
def clock():  # pytest-trio runs the test on the Clock a fixture returns
    return ThreadAwareClock()


async def test_two_simulated_days_lose_and_double_nothing(clock, tmp_path: Path) -> None:
    results = await run_soak(SoakOptions(days=2, seed=1, trace_memory=False, new_games_min=180), tmp_path, clock)
    assert failed(results) == [], results
    assert results["announcements_expected"] >= 5
    assert results["announcements_posted"] == results["announcements_expected"]
    assert results["restarts"] >= 1
    kinds = set(results["faults_injected"])
    assert {"channel_403", "route_429", "global_429", "steam_429"} <= kinds, kinds
