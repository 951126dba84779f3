"""The 3 s interaction deadline (discord-protocol.md 3.5 #15): defer in time, never ack twice.

FakeRest answers a callback after 3 s (trio clock) with 404 / 10062 and a second callback
with 400 / 40060, and records both in `handle.rejected`; these tests assert it stays empty.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from gateway.commands import DEFER_AFTER_S, CommandContext, CommandRegistry
from tests._clocks import thread_aware_autojump
from tests.gateway.test_commands import bot_on


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_slow_handler_is_deferred_in_time_then_edits_original(clock: MockClock) -> None:
    release = trio.Event()

    def setup(reg: CommandRegistry) -> None:
        @reg.command("report", "Slow report")
        async def report(ctx: CommandContext) -> None:
            await release.wait()  # e.g. a slow Steam call
            await ctx.reply("report ready")
            await ctx.reply("and one more thing")

    with trio.fail_after(120):
        async with bot_on(setup) as (fake, _):
            handle = await fake.send_interaction("report")
            sent_at = handle.state.created_at
            while not handle.callback_types:
                await handle.state.changed.wait()
            deferred = next(q for q in fake.rest.requests if q.path.endswith("/callback"))
            await trio.sleep(5)  # virtual: well past the 3 s deadline
            release.set()
            reply = await handle.wait_response()
            replies = await handle.wait_replies(2)
    assert handle.callback_types == [5] and handle.rejected == []
    assert DEFER_AFTER_S <= deferred.at - sent_at < 3.0  # acknowledged before the deadline
    assert (reply.kind, reply.content) == ("original", "report ready")
    assert [r.kind for r in replies] == ["original", "followup"]
    assert replies[1].content == "and one more thing"


async def test_fast_handler_is_not_deferred(clock: MockClock) -> None:
    def setup(reg: CommandRegistry) -> None:
        @reg.command("quick", "Fast")
        async def quick(ctx: CommandContext) -> None:
            await trio.sleep(0.5)
            await ctx.reply("quick answer")

    with trio.fail_after(120):
        async with bot_on(setup) as (fake, _):
            handle = await fake.send_interaction("quick")
            reply = await handle.wait_response()
            await trio.sleep(DEFER_AFTER_S + 1)  # the defer timer must be gone
    assert handle.callback_types == [4] and handle.rejected == []
    assert reply.kind == "callback" and reply.content == "quick answer"


@pytest.mark.parametrize("offset_s", [-0.001, 0.0, 0.001])
async def test_reply_racing_the_auto_defer_never_double_acks(clock: MockClock,
                                                             offset_s: float) -> None:
    def setup(reg: CommandRegistry) -> None:
        @reg.command("race", "Replies right when the defer fires")
        async def race(ctx: CommandContext) -> None:
            await trio.sleep(DEFER_AFTER_S + offset_s)
            await ctx.reply("photo finish")

    with trio.fail_after(120):
        async with bot_on(setup) as (fake, _):
            handle = await fake.send_interaction("race")
            reply = await handle.wait_response()
    assert handle.rejected == []  # no 40060, no 10062
    assert len(handle.callback_types) == 1
    assert reply.content == "photo finish"


async def test_explicit_defer_then_ephemeral_answer(clock: MockClock) -> None:
    def setup(reg: CommandRegistry) -> None:
        @reg.command("secret", "Ephemeral and slow")
        async def secret(ctx: CommandContext) -> None:
            await ctx.defer(ephemeral=True)
            await ctx.defer()  # a second defer is a no-op, not a second callback
            await trio.sleep(10)
            await ctx.reply("only you can see this")

    with trio.fail_after(120):
        async with bot_on(setup) as (fake, _):
            handle = await fake.send_interaction("secret")
            reply = await handle.wait_response()
    assert handle.callback_types == [5] and handle.rejected == []
    assert reply.is_ephemeral and reply.content == "only you can see this"
