"""Closing the gateway: the close handshake completes both ways, with the right code.

Stop (close()) and cancellation from outside send 1000; a reconnect sends 4000. In every case
the shard still reads the server's answer (`closes_unanswered` stays 0: before the fix the
reader was cancelled first, the answer was never read and every shutdown waited out
CLOSE_TIMEOUT_S), and a close the server starts is answered by the client (FakeGateway sees
the handshake CLOSED).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from gateway.shard import Shard, ShardState
from gateway.testing._gateway_server import FakeGateway
from tests._clocks import thread_aware_autojump
from tests.gateway._shard_helpers import INTENTS, TOKEN, gateway_bot, running_shard


UNANSWERED = "did not answer our close"


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


def _unanswered(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if UNANSWERED in r.getMessage()]


async def test_close_sends_1000_and_reads_the_answer(clock: MockClock,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "gateway")
    with trio.fail_after(300):
        async with running_shard() as h:
            pass  # running_shard's exit calls shard.close()
    assert h.fake.client_close_codes == [1000]
    assert h.shard.state is ShardState.STOPPED
    assert h.shard.closes_unanswered == 0 and _unanswered(caplog) == []


async def test_cancelled_from_outside_sends_1000_and_reads_the_answer(
        clock: MockClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "gateway")
    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
    with trio.fail_after(300):
        async with trio.open_nursery() as servers:
            await servers.start(fake.serve)
            shard = Shard(token=TOKEN, intents=INTENTS, rng=random.Random(7),
                          get_gateway_bot=gateway_bot(fake.url))

            async def dispatch(name: str, data: object) -> None:
                pass

            async with trio.open_nursery() as app:
                await app.start(shard.run, dispatch, app)
                app.cancel_scope.cancel()  # no close(): the app's nursery is cancelled
            await fake.wait_for_client_close()
            servers.cancel_scope.cancel()
    assert fake.client_close_codes == [1000]
    assert shard.closes_unanswered == 0 and _unanswered(caplog) == []


async def test_reconnect_sends_4000_and_reads_the_answer(clock: MockClock,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "gateway")
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.send_op(7)  # op 7 RECONNECT: the client closes 4000 and resumes
            await h.wait_for_event("RESUMED")
    assert h.fake.client_close_codes == [4000, 1000]
    assert h.shard.closes_unanswered == 0 and _unanswered(caplog) == []


async def test_the_client_answers_a_close_the_server_starts(clock: MockClock) -> None:
    with trio.fail_after(300):
        async with running_shard() as h:
            await h.fake.close_connection(4000)
            await h.wait_for_event("RESUMED")
    assert h.fake.server_close_codes == [4000]
    assert h.fake.server_close_answered == [True]
    assert h.fake.client_close_codes == [1000]
