"""Shard happy path: GET /gateway/bot, HELLO, IDENTIFY, READY, heartbeats, dispatch, close."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from gateway._protocol import Intents
from gateway.shard import ShardState
from gateway.testing._gateway_server import FakeGateway
from tests._clocks import thread_aware_autojump
from tests.gateway._shard_helpers import INTENTS, TOKEN, running_shard


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_identify_ready_dispatch_and_clean_close(clock: MockClock) -> None:
    with trio.fail_after(300):
        fake = FakeGateway(heartbeat_interval_ms=10_000, token=TOKEN, allowed_intents=0)
        async with running_shard(interval_ms=10_000, fake=fake) as h:
            assert h.ready.session_id == "session-1"
            assert h.ready.guild_ids == (1234,)
            await h.wait_for_event("GUILD_CREATE")  # READY's unavailable guild, seq 2
            ready = next(d for n, d in h.events if n == "READY")
            assert ready["shard"] == [0, 1]  # Ready Event: the shard is echoed
            ident = h.fake.ops(2)[0].d
            assert ident["token"] == TOKEN and ident["intents"] == INTENTS == 4609
            assert ident["shard"] == [0, 1]
            assert "v=10&encoding=json&compress=zlib-stream" in h.fake.paths[0]
            await h.fake.dispatch("MESSAGE_CREATE", {"content": "hi"})
            await h.wait_for_event("MESSAGE_CREATE")
            await h.fake.wait_for_op(1, 3)
            assert h.shard.latency_ms is not None and h.shard.sequence == 3
        assert h.fake.client_close_codes == [1000]
        assert h.fake.identify_count == 1 and h.fake.resume_count == 0
        assert h.shard.state is ShardState.STOPPED


def test_intents_for_bot() -> None:
    assert Intents.for_bot(prefix_commands=True) == 37377
    assert Intents.for_bot(prefix_commands=False) == 4609


async def test_first_heartbeat_waits_interval_times_jitter(clock: MockClock) -> None:
    """The first beat comes interval * jitter after HELLO (jitter from the shard's rng)."""
    with trio.fail_after(300):
        async with running_shard() as h:  # rng = random.Random(7), 41.25 s interval
            await h.fake.wait_for_op(1, 2)
            hello_at = h.fake.ops(2)[0].at  # IDENTIFY goes out right after HELLO
            first, second = h.fake.ops(1)[:2]
            assert first.at - hello_at == pytest.approx(41.25 * random.Random(7).random(),
                                                        abs=0.05)
            assert second.at - first.at == pytest.approx(41.25, abs=0.05)


@pytest.mark.parametrize("code", [4003, 4007, 4009])
async def test_session_ending_close_codes_identify(clock: MockClock, code: int) -> None:
    """4003/4007/4009 mean the session is gone: IDENTIFY anew, no RESUME."""
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.close_connection(code)
            await h.wait_for_event("READY", 2)
            assert h.fake.resume_count == 0 and h.fake.identify_count == 2


@pytest.mark.parametrize("code", [4000, 4001, 4002, 4005, 4008, 1000, 1011])
async def test_resumable_close_codes_resume(clock: MockClock, code: int) -> None:
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.close_connection(code)
            await h.wait_for_event("RESUMED")
            assert h.fake.resume_count == 1 and h.fake.identify_count == 1


async def test_missing_hello_times_out_and_reconnects(clock: MockClock) -> None:
    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
    fake.no_hello_connections = 1
    t0 = trio.current_time()
    with trio.fail_after(300):
        async with running_shard(fake=fake) as h:
            assert h.fake.ops(2)[0].at - t0 >= 15.0
            assert len(h.fake.paths) == 2 and h.fake.client_close_codes == [4000]


async def test_reconnects_back_off_exponentially_with_jitter(clock: MockClock) -> None:
    """Six connections cut before HELLO: waits are uniform(0, 2**failures), seeded rng."""
    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
    fake.first_op_reconnect = 6
    with trio.fail_after(600):
        async with running_shard(fake=fake) as h:
            gaps = [b - a for a, b in zip(h.fake.connected_at, h.fake.connected_at[1:])]
            rng = random.Random(7)
            expected = [rng.uniform(0, min(60.0, 2.0 ** k)) for k in range(1, 7)]  # cap 60 s
            assert gaps == pytest.approx(expected, abs=0.05)
            assert h.fake.identify_count == 1


async def test_frames_that_arrive_together_are_dispatched_in_batches_in_order(
        clock: MockClock) -> None:
    """A burst of 200 events in one socket write: all handled in order by the shard's one
    dispatcher task (one task per event would be 200); an interaction still gets a task of
    its own, so a handler stuck on it delays nothing."""
    stuck = trio.Event()
    tasks: dict[str, set[object]] = {"GUILD_MEMBER_UPDATE": set(), "INTERACTION_CREATE": set()}

    async def handler(name: str, data: Any) -> None:
        if name in tasks:
            tasks[name].add(trio.lowlevel.current_task())
        if name == "INTERACTION_CREATE":
            await stuck.wait()  # never set: only this task waits

    with trio.fail_after(300):
        async with running_shard(handler=handler) as h:
            burst = [("GUILD_MEMBER_UPDATE", {"n": n}) for n in range(100)]
            burst += [("INTERACTION_CREATE", {"id": "1"})]
            burst += [("GUILD_MEMBER_UPDATE", {"n": n}) for n in range(100, 200)]
            await h.fake.dispatch_burst(burst)
            await h.wait_for_event("GUILD_MEMBER_UPDATE", 200)
            got = [d["n"] for name, d in h.events if name == "GUILD_MEMBER_UPDATE"]
            assert got == list(range(200))  # in the order received
            assert len(tasks["INTERACTION_CREATE"]) == 1
            assert len(tasks["GUILD_MEMBER_UPDATE"]) == 1  # the dispatcher, not 200 tasks
            assert not tasks["GUILD_MEMBER_UPDATE"] & tasks["INTERACTION_CREATE"]
