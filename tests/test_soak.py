"""A seeded two-day soak (bench/soak): the real bot (new games, wishlist, deals, admin)
through family changes, wishlist changes, a sale, Discord, gateway (a zombie connection
among them), Steam (a 401, an expired access token), ITAD and SQLite-busy faults and a hard
restart, on the thread-aware autojump clock. The library is read every 3 h instead of
hourly to keep the suite fast (the bench runs the default). 0 lost, 0 doubled, 0
unhandled, the final wishlist as the sandbox has it, nothing left in the outbox once the
faults ended. Seed 4 is the 2-day schedule with the most fault kinds (18 event kinds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import SoakOptions, ThreadAwareClock, failed, run_soak


@pytest.fixture
def clock():  # pytest-trio runs the test on the Clock a fixture returns
    return ThreadAwareClock()


async def test_two_simulated_days_lose_and_double_nothing(clock, tmp_path: Path) -> None:
    results = await run_soak(SoakOptions(days=2, seed=4, trace_memory=False, new_games_min=180,
                                         busy_hold_scale=0.2),
                             tmp_path, clock)
    assert failed(results) == [], results
    kinds = results["by_kind"]
    assert kinds["new_game"]["expected"] >= 5
    assert kinds["deal"]["expected"] >= 1  # a sale started: its deal was posted once
    assert results["announcements_posted"] == results["announcements_expected"]
    assert results["wishlist_final"]["matches"] and results["wishlist_final"]["changes"] > 8
    assert results["restarts"] >= 1
    assert {"sqlite_busy", "steam_token_expired", "steam_401", "itad_503"} <= set(
        results["faults_injected"]), results["faults_injected"]
