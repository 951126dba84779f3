"""Command work is bounded below the 15-minute interaction token; an answer that comes later
anyway goes to the channel (or a DM when it was ephemeral) with a note, never lost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from gateway._late_reply import COMMAND_BUDGET_S, INTERACTION_TOKEN_S
from gateway.commands import CommandContext, CommandRegistry
from gateway.testing import CHANNEL_ID, USER_ID
from tests._clocks import thread_aware_autojump
from tests.gateway.test_commands import bot_on


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_work_past_the_budget_is_stopped_and_the_user_told_in_time(clock) -> None:
    def setup(reg: CommandRegistry) -> None:
        @reg.command("crunch", "Very slow")
        async def crunch(ctx: CommandContext) -> None:
            await trio.sleep(3600)  # an upstream that never comes back
            await ctx.reply("never")

    with trio.fail_after(7200):
        async with bot_on(setup) as (fake, _):
            handle = await fake.send_interaction("crunch")
            while not [m for m in handle.replies() if m.edits]:
                await handle.state.changed.wait()
            answered_after = trio.current_time() - handle.state.created_at
            reply = await handle.wait_response()
    assert handle.callback_types == [5] and handle.rejected == []
    assert "took longer than 14 minutes and was stopped" in reply.content
    assert COMMAND_BUDGET_S <= answered_after < INTERACTION_TOKEN_S


@pytest.mark.parametrize("ephemeral", [False, True])
async def test_an_answer_after_the_token_goes_to_the_channel_or_a_dm(clock, ephemeral) -> None:
    def setup(reg: CommandRegistry) -> None:
        reg.command_budget_s = 20 * 60.0  # a command allowed to outlive its token

        @reg.command("report", "Slow report")
        async def report(ctx: CommandContext) -> None:
            await trio.sleep(16 * 60)
            await ctx.reply("the report", ephemeral=ephemeral)

    with trio.fail_after(7200):
        async with bot_on(setup) as (fake, _):
            handle = await fake.send_interaction("report")
            dm_channel = USER_ID + 1  # FakeRest's DM channel id for the user
            where = dm_channel if ephemeral else CHANNEL_ID
            msg = await fake.wait_for_message(where, lambda m: m.kind == "message")
    assert "the report" in msg.content and "longer than Discord's 15 minutes" in msg.content
    assert f"<@{USER_ID}>" in msg.content and msg.allowed_mentions == {"parse": []}
    webhook_calls = [q for q in fake.rest.requests if q.path.startswith("/webhooks/")]
    assert webhook_calls == []  # nothing sent to the dead token
