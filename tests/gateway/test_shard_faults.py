"""Faults of discord-protocol.md 3.5: scenarios 1, 6, 7, 8, 10, 11, 13, 16 and shutdown."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from trio.testing import MockClock

from gateway._protocol import Intents
from gateway.errors import FatalCloseError
from gateway.shard import Shard, ShardState
from gateway.testing._gateway_server import FakeGateway
from tests._clocks import thread_aware_autojump
from tests.gateway._shard_helpers import TOKEN, gateway_bot, running_shard


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_s1_slow_handler_does_not_delay_heartbeats(clock: MockClock) -> None:
    """#1: a handler works 5 s; beats stay on their 1 s schedule, no reconnect."""
    finished = trio.Event()

    async def slow(name: str, data: Any) -> None:
        if name == "MESSAGE_CREATE":
            await trio.sleep(5.0)
            finished.set()

    with trio.fail_after(300):
        async with running_shard(interval_ms=1000, handler=slow) as h:
            await h.fake.wait_for_op(1)
            beats = len(h.fake.ops(1))
            await h.fake.dispatch("MESSAGE_CREATE", {"content": "slow"})
            await finished.wait()
            assert len(h.fake.ops(1)) - beats >= 4  # beats kept flowing during the 5 s
            assert max(h.fake.heartbeat_gaps()) < 1.0 + 0.05
            assert len(h.fake.paths) == 1 and h.fake.client_close_codes == []


async def test_s16_flood_while_handlers_are_slow_keeps_acks_flowing(clock: MockClock) -> None:
    """#16: 300 dispatches while every handler waits 30 s: reader drains, no zombie."""
    release = trio.Event()
    started = 0

    async def stuck(name: str, data: Any) -> None:
        nonlocal started
        if name == "MESSAGE_CREATE":
            started += 1
            await release.wait()

    with trio.fail_after(300):
        async with running_shard(interval_ms=2000, handler=stuck) as h:
            for n in range(300):
                await h.fake.dispatch("MESSAGE_CREATE", {"n": n})
            await h.wait_for_event("MESSAGE_CREATE", 300)
            beats = len(h.fake.ops(1))
            await h.fake.wait_for_op(1, beats + 15)  # 30 s of beats with handlers stuck
            assert started == 300
            assert max(h.fake.heartbeat_gaps()) < 2.0 + 0.05
            assert len(h.fake.paths) == 1 and h.fake.client_close_codes == []
            release.set()


async def test_s6_invalid_session_false_mid_session_identifies_again(clock: MockClock) -> None:
    """#6: op 9 d=false -> wait 1-5 s, IDENTIFY on the main URL, new READY."""
    with trio.fail_after(300):
        async with running_shard() as h:
            await trio.sleep(60)  # past the 5 s identify spacing: only the 1-5 s wait remains
            sent_at = trio.current_time()
            await h.fake.send_op(9, False)
            await h.wait_for_event("READY", 2)
            first, second = h.fake.ops(2)
            assert second.at - sent_at >= 1.0 and second.at - first.at >= 5.0
            assert h.fake.paths[-1].startswith("/?") and h.fake.resume_count == 0
            assert h.shard.session_id == "session-2" and h.shard.state is ShardState.ACTIVE


async def test_s6_invalid_session_true_resumes(clock: MockClock) -> None:
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.send_op(9, True)
            await h.wait_for_event("RESUMED")
            assert h.fake.identify_count == 1 and h.fake.resume_count == 1
            assert h.fake.client_close_codes == [4000]


async def test_s6_invalid_session_answering_resume_identifies(clock: MockClock) -> None:
    """#6: RESUME answered by op 9 d=false: the shard never goes silent (discord.js #7113)."""
    with trio.fail_after(300):
        async with running_shard() as h:
            h.fake.resume_mode = "invalid"
            await h.fake.send_op(7)
            await h.wait_for_event("READY", 2)
            assert h.fake.resume_count == 1 and h.fake.identify_count == 2
            assert h.shard.state is ShardState.ACTIVE


@pytest.mark.parametrize(("code", "intents", "needle"), [
    (4004, None, "token"),
    (4013, None, "intents"),
    (4014, int(Intents.for_bot(prefix_commands=True)), "Message Content"),
])
async def test_s7_fatal_close_stops_without_reconnecting(
        clock: MockClock, code: int, intents: int | None, needle: str) -> None:
    """#7: 4004/4013/4014 right after IDENTIFY -> FatalCloseError, exactly one IDENTIFY."""
    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
    if code == 4013:
        fake.close_on_identify = 4013
    token = "wrong-token" if code == 4004 else TOKEN
    with trio.fail_after(300):
        async with trio.open_nursery() as servers:
            await servers.start(fake.serve)
            shard = Shard(token=token, intents=intents or 4609, rng=random.Random(1),
                          get_gateway_bot=gateway_bot(fake.url))

            async def ignore(name: str, data: Any) -> None: ...

            async with trio.open_nursery() as handlers:
                with pytest.raises(FatalCloseError) as info:
                    await shard.run(ignore, handlers)
            await trio.sleep(120)  # a reconnect loop would show up here
            servers.cancel_scope.cancel()
    assert info.value.close_code == code and needle in str(info.value)
    assert "wrong-token" not in str(info.value)
    assert fake.identify_count == 1 and len(fake.paths) == 1
    assert shard.state is ShardState.FATALLY_CLOSED
    if code == 4014:
        assert "prefix_commands = false" in str(info.value)


async def test_s8_identify_storm_is_spaced(clock: MockClock) -> None:
    """#8: every IDENTIFY answered with op 9 false five times: identifies >= 5 s apart."""
    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
    fake.invalidate_identifies = 5
    with trio.fail_after(600):
        async with running_shard(fake=fake) as h:
            times = [r.at for r in h.fake.ops(2)]
            assert len(times) == 6 and h.shard.session_id == "session-6"
            assert min(b - a for a, b in zip(times, times[1:])) >= 5.0


async def test_s8_exhausted_session_starts_wait_reset_after(clock: MockClock) -> None:
    """#8: session_start_limit.remaining == 0 -> wait reset_after before IDENTIFY."""
    t0 = trio.current_time()
    with trio.fail_after(600):
        async with running_shard(remaining=0, reset_after_ms=90_000) as h:
            assert h.fake.ops(2)[0].at - t0 >= 90.0
            assert h.fake.identify_count == 1


async def test_s10_split_frames_and_fresh_inflater_per_connection(clock: MockClock) -> None:
    """#10: every payload split over 3 messages; a reconnect starts a new zlib stream."""
    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
    fake.split_frames = True
    with trio.fail_after(300):
        async with running_shard(fake=fake) as h:
            await h.fake.dispatch("MESSAGE_CREATE", {"n": 1})
            await h.fake.send_op(7)
            await h.wait_for_event("RESUMED")
            await h.fake.dispatch("MESSAGE_CREATE", {"n": 2})
            await h.wait_for_event("MESSAGE_CREATE", 2)
            assert [d["n"] for n, d in h.events if n == "MESSAGE_CREATE"] == [1, 2]
            assert h.fake.resume_count == 1 and h.fake.identify_count == 1


async def test_s11_huge_frame_is_received(clock: MockClock) -> None:
    """#11: a GUILD_CREATE whose compressed frame is ~2.3 MB (> trio-websocket's 1 MiB)."""
    with trio.fail_after(300):
        async with running_shard() as h:
            # Random bytes and zlib run in threads for ~0.1-0.5 s of real time; the
            # thread-aware clock does not jump meanwhile (a jump would fake a 41 s stall).
            await h.fake.send_big_dispatch(3 * 2**20)
            await h.wait_for_event("GUILD_CREATE")
            (big,) = [d for n, d in h.events if n == "GUILD_CREATE"]
            assert len(big["big"]) == 3 * 2**20
            assert len(h.fake.paths) == 1 and h.fake.client_close_codes == []


async def test_s13_send_limit_never_trips_4008(clock: MockClock) -> None:
    """#13: 200 presence updates at once: the fake closes 4008 past 120/60 s; we never do."""
    with trio.fail_after(600):
        async with running_shard(interval_ms=5000) as h:
            for i in range(200):
                await h.shard.send(3, {"since": None, "activities": [], "status": "online",
                                       "afk": False, "i": i})
            await h.fake.wait_for_op(3, 200)
            assert [r.d["i"] for r in h.fake.ops(3)] == list(range(200))
            assert h.fake.server_close_codes == [] and len(h.fake.paths) == 1
            assert max(h.fake.heartbeat_gaps()) < 5.0 + 0.05  # beats kept their slots


async def test_send_rejects_oversized_payload(clock: MockClock) -> None:
    with trio.fail_after(300):
        async with running_shard() as h:
            with pytest.raises(ValueError, match="4096"):
                await h.shard.send(3, {"x": "y" * 5000})


async def test_close_during_backoff_returns(clock: MockClock) -> None:
    """close() while reconnecting: run() returns, state STOPPED, no further connections."""
    with trio.fail_after(300):
        async with running_shard() as h:
            h.fake.resume_mode = "drop_tcp"
            await h.fake.send_op(7)
            await h.fake.wait_for_op(6)
            await h.shard.close()
            paths = len(h.fake.paths)
            await trio.sleep(60)
            assert len(h.fake.paths) == paths
        assert h.shard.state is ShardState.STOPPED
