"""The gateway client against a handshake that never completes, and a short outage: the
session is kept while Discord may still resume it; the handshake carries our User-Agent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from gateway import _protocol as P
from gateway.shard import ShardState
from tests._clocks import thread_aware_autojump
from tests.gateway._shard_helpers import running_shard


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_a_silent_handshake_times_out_and_the_session_survives_the_outage(
        clock: MockClock) -> None:
    with trio.fail_after(600):
        async with running_shard(interval_ms=10_000) as h:
            h.fake.resume_anywhere = True  # a failed connect falls back to the main URL
            h.fake.silent_handshakes = 3  # TCP accepted, no 101: three dead connects
            dropped_at = trio.current_time()
            await h.fake.close_connection(4000, "restarting")
            await h.wait_for_event("RESUMED")
            took = trio.current_time() - dropped_at
            assert h.shard.state is ShardState.ACTIVE
    # Each silent handshake was given up after our own bound, not left CONNECTING forever.
    assert took >= 3 * P.CONNECT_TIMEOUT_S
    assert h.fake.identify_count == 1 and h.fake.resume_count == 1  # session kept
    assert len(h.fake.paths) == 1 + 3 + 1


async def test_the_handshake_sends_the_rest_user_agent(clock: MockClock) -> None:
    with trio.fail_after(300):
        async with running_shard() as h:
            pass
    assert h.fake.user_agents == [P.USER_AGENT]
    assert P.USER_AGENT.startswith("DiscordBot (https://")
