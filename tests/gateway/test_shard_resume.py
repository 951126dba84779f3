"""Resume paths of discord-protocol.md 3.5: scenarios 2, 3, 4, 5, 9, 12 (op 7), 17, replay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from gateway import _protocol as P
from gateway.shard import ShardState
from gateway.testing._gateway_server import RESUME_PATH, FakeGateway
from tests._clocks import thread_aware_autojump
from tests.gateway._shard_helpers import TOKEN, running_shard


QUERY = "?v=10&encoding=json&compress=zlib-stream"


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_s2_zombie_closes_4000_and_resumes(clock: MockClock) -> None:
    """#2: no ACK between two beats -> close non-1000 within an interval, RESUME."""
    with trio.fail_after(300):
        async with running_shard(interval_ms=10_000) as h:
            h.fake.withhold_acks = True
            await h.fake.wait_for_op(1)
            first_beat_at = h.fake.ops(1)[0].at
            await h.fake.wait_for_op(6)
            h.fake.withhold_acks = False
            await h.wait_for_event("RESUMED")
            assert h.fake.client_close_codes[0] == 4000
            # Closed at the next beat's slot: one interval after the unanswered beat.
            assert h.fake.ops(6)[0].at - first_beat_at < 10.0 + 2.0
            assert h.fake.ops(6)[0].d == {"token": TOKEN, "session_id": "session-1", "seq": 1}
            assert h.fake.identify_count == 1 and h.shard.state is ShardState.ACTIVE


async def test_s3_ack_state_is_fresh_on_a_new_connection(clock: MockClock) -> None:
    """#3: a beat unanswered on the old socket must not count against the new one."""
    with trio.fail_after(300):
        async with running_shard(interval_ms=10_000) as h:
            h.fake.withhold_acks = True
            await h.fake.wait_for_op(1)  # this beat is never ACKed
            await h.fake.close_connection(4000, "server restart")
            h.fake.withhold_acks = False
            await h.fake.wait_for_op(6)
            beats_before = len(h.fake.ops(1))
            await h.fake.wait_for_op(1, beats_before + 3)  # three beats on the new socket
            assert h.fake.client_close_codes == []  # the client never closed a healthy socket
            assert len(h.fake.paths) == 2 and h.fake.resume_count == 1


async def test_s4_resume_close_uses_4000_so_session_survives(clock: MockClock) -> None:
    """#4: the fake ends the session on a 1000/1001 close; the client must use 4000."""
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.send_op(7)
            await h.wait_for_event("RESUMED")
            assert h.fake.client_close_codes == [4000]
            assert h.fake.identify_count == 1 and h.fake.resume_count == 1
        assert h.fake.client_close_codes == [4000, 1000]  # only shutdown uses 1000


async def test_s5_resume_goes_to_resume_url_with_query(clock: MockClock) -> None:
    """#5: RESUME only works on resume_gateway_url and needs v=10&encoding=json."""
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.send_op(7)
            await h.wait_for_event("RESUMED")
            assert h.fake.paths == ["/" + QUERY, RESUME_PATH + QUERY]


async def test_s5_dead_resume_host_falls_back_to_main_url(clock: MockClock) -> None:
    """#5 (twilight #1942): connecting to resume_gateway_url fails -> main URL."""
    with trio.fail_after(300):
        dead = trio.socket.socket()
        await dead.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
        fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
        fake.resume_gateway_url = f"ws://127.0.0.1:{dead.getsockname()[1]}"
        fake.resume_anywhere = True
        async with running_shard(fake=fake) as h:
            await h.fake.send_op(7)
            await h.wait_for_event("RESUMED")
            assert h.fake.paths == ["/" + QUERY, "/" + QUERY]
            assert h.fake.identify_count == 1 and h.fake.resume_count == 1
        dead.close()


async def test_s9_failed_resumes_end_in_identify(clock: MockClock) -> None:
    """#9: every RESUME answered by a TCP drop -> keep resuming while Discord may still
    resume the session (P.RESUMABLE_FOR_S, counted by time, not attempts), then IDENTIFY."""
    with trio.fail_after(900):
        async with running_shard() as h:
            h.fake.resume_mode = "drop_tcp"
            lost_at = trio.current_time()
            await h.fake.send_op(7)
            await h.wait_for_event("READY", 2)
            identified_at = h.fake.ops(2)[-1].at
            assert h.fake.resume_count >= 3 and h.fake.identify_count == 2
            assert identified_at - lost_at >= P.RESUMABLE_FOR_S
            assert h.ready.session_id != h.shard.session_id == "session-2"
            assert "/resume" not in h.fake.paths[-1]  # back on the main URL


async def test_s12_op7_before_hello_reconnects_calmly(clock: MockClock) -> None:
    """#12: op 7 as the very first frame, then a close: reconnect, then identify once."""
    with trio.fail_after(300):
        fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
        fake.first_op_reconnect = 1
        async with running_shard(fake=fake) as h:
            assert len(h.fake.paths) == 2 and h.fake.identify_count == 1
            assert h.shard.state is ShardState.ACTIVE


async def test_s12_server_op1_is_answered_at_once(clock: MockClock) -> None:
    """#12: op 1 from the server gets a heartbeat without waiting for the interval."""
    with trio.fail_after(300):
        async with running_shard() as h:  # 41.25 s interval
            await h.fake.wait_for_op(1)
            await trio.sleep(5)
            asked_at = trio.current_time()
            await h.fake.send_op(1)
            await h.fake.wait_for_op(1, 2)
            assert h.fake.ops(1)[1].at - asked_at < 0.5


async def test_s17_tcp_drop_without_close_frame_resumes(clock: MockClock) -> None:
    """#17: the TCP stream ends with no close frame (1006) -> resumable."""
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.dispatch("MESSAGE_CREATE", {"n": 1})
            await h.wait_for_event("MESSAGE_CREATE")
            await h.fake.drop_tcp()
            await h.wait_for_event("RESUMED")
            assert h.fake.resume_count == 1 and h.fake.identify_count == 1
            assert h.fake.ops(6)[0].d["seq"] == 2


async def test_resume_replays_missed_events_exactly_once(clock: MockClock) -> None:
    """After a 4000 close, missed events arrive once each, in order; replays are dropped."""
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.dispatch("MESSAGE_CREATE", {"n": 1})
            await h.wait_for_event("MESSAGE_CREATE")
            for n in (2, 3, 4):  # sent while the socket was dying: lost in flight
                await h.fake.dispatch("MESSAGE_CREATE", {"n": n}, deliver=False)
            h.fake.replay_overlap = 2  # Discord may replay events the client already has
            await h.fake.close_connection(4000, "restarting")
            await h.wait_for_event("RESUMED")
            await h.fake.dispatch("MESSAGE_CREATE", {"n": 5})
            await h.wait_for_event("MESSAGE_CREATE", 5)
            await trio.testing.wait_all_tasks_blocked()
            got = [d["n"] for name, d in h.events if name == "MESSAGE_CREATE"]
            assert got == [1, 2, 3, 4, 5]
            assert [name for name, _ in h.events] == ["READY"] + ["MESSAGE_CREATE"] * 4 + [
                "RESUMED", "MESSAGE_CREATE"]
            assert h.fake.ops(6)[0].d["seq"] == 2 and h.shard.sequence == 7
