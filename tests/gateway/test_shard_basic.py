"""Shard happy path: GET /gateway/bot, HELLO, IDENTIFY, READY, heartbeats, dispatch, close."""

from __future__ import annotations

import pytest
import trio
from trio.testing import MockClock

from gateway._protocol import Intents
from tests.gateway._shard_helpers import INTENTS, TOKEN, running_shard


@pytest.fixture
def clock() -> MockClock:
    return MockClock(autojump_threshold=0.05)


async def test_identify_ready_dispatch_and_clean_close(clock: MockClock) -> None:
    with trio.fail_after(300):
        async with running_shard(interval_ms=10_000) as h:
            assert h.ready.session_id == "session-1"
            assert h.ready.guild_ids == (1234,)
            ident = h.fake.ops(2)[0].d
            assert ident["token"] == TOKEN and ident["intents"] == INTENTS == 4609
            assert ident["shard"] == [0, 1]
            assert "v=10&encoding=json&compress=zlib-stream" in h.fake.paths[0]
            await h.fake.dispatch("MESSAGE_CREATE", {"content": "hi"})
            await h.wait_for_event("MESSAGE_CREATE")
            await h.fake.wait_for_op(1, 3)
            assert h.shard.latency_ms is not None and h.shard.sequence == 2
        assert h.fake.client_close_codes == [1000]
        assert h.fake.identify_count == 1 and h.fake.resume_count == 0


def test_intents_for_bot() -> None:
    assert Intents.for_bot(prefix_commands=True) == 37377
    assert Intents.for_bot(prefix_commands=False) == 4609
