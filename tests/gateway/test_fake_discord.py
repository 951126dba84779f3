"""FakeDiscord itself: composition, scripted events, Discord-like answers to raw clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from gateway.commands import CommandContext, CommandRegistry, user
from gateway.errors import HTTPError
from gateway.testing import CHANNEL_ID, GUILD_ID, USER_ID, FakeDiscord, open_rest
from tests._clocks import thread_aware_autojump
from tests.gateway.test_commands import TOKEN, bot_on


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_serve_reports_self_and_gateway_bot_points_at_gateway(clock: MockClock) -> None:
    fake = FakeDiscord(token="t1")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            started = await nursery.start(fake.serve)
            async with open_rest(fake) as rest:
                info = await rest.get_gateway_bot()
            nursery.cancel_scope.cancel()
    assert started is fake
    assert fake.rest_url.startswith("http://127.0.0.1:") and fake.rest_url.endswith("/api/v10")
    assert info["url"] == fake.gateway.url and fake.gateway.url.startswith("ws://127.0.0.1:")


async def test_interaction_payload_shapes_guild_and_dm(clock: MockClock) -> None:
    seen: list[dict] = []

    def setup(reg: CommandRegistry) -> None:
        @reg.command("who", "Who", options=[user("member", "A member")])
        async def who(ctx: CommandContext) -> None:
            seen.append({"args": ctx.args, "dm": ctx.is_dm, "guild": ctx.guild_id,
                         "user": ctx.user_id, "channel": ctx.channel_id})
            await ctx.reply("ok")

    with trio.fail_after(120):
        async with bot_on(setup) as (fake, _):
            await (await fake.send_interaction("who", {"member": 77_000_000_000_000_001}))\
                .wait_response()
            await (await fake.send_interaction("who", {"member": 77_000_000_000_000_002},
                                               guild_id=None, channel_id=99)).wait_response()
            sent = [r.d for r in fake.gateway.received if r.op == 2]
    guild_event, dm_event = seen
    assert guild_event == {"args": {"member": 77_000_000_000_000_001}, "dm": False,
                           "guild": GUILD_ID, "user": USER_ID, "channel": CHANNEL_ID}
    assert dm_event["dm"] is True and dm_event["guild"] is None and dm_event["channel"] == 99
    assert sent and sent[0]["token"] == TOKEN  # the shard identified with the fake's token
    # Option type came from the registered command (USER = 6, value as a snowflake string).
    assert fake.rest.commands[(fake.application_id, None)][0]["options"][0]["type"] == 6


async def test_unknown_and_late_interactions_are_rejected_and_recorded(clock: MockClock) -> None:
    fake = FakeDiscord(token="t2")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(fake.serve)
            async with open_rest(fake) as rest:
                state = fake.rest.add_interaction(5, "tok-5", application_id=1, channel_id=2)
                with pytest.raises(HTTPError) as wrong_token:
                    await rest.interaction_callback(5, "tok-other", 4, {"content": "x"})
                await trio.sleep(3.01)
                with pytest.raises(HTTPError) as late:
                    await rest.interaction_callback(5, "tok-5", 4, {"content": "x"})
                with pytest.raises(HTTPError) as no_ack:
                    await rest.create_followup(1, "tok-5", content="x")
            nursery.cancel_scope.cancel()
    assert wrong_token.value.code == late.value.code == 10062
    assert no_ack.value.code == 10015  # follow-ups need an acknowledged interaction
    assert state.rejected == [10062, 10062] and state.callback_types == []
    assert fake.messages() == []


async def test_scripted_failure_through_the_composite(clock: MockClock) -> None:
    fake = FakeDiscord()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(fake.serve)
            async with open_rest(fake) as rest:
                fake.fail_next("POST", "/channels/3/messages", 500, times=1)
                await rest.create_message(3, content="after a 500", nonce="n-500")
                record = await fake.wait_for_message(3, lambda m: "500" in (m.content or ""))
            nursery.cancel_scope.cancel()
    assert [q.status for q in fake.rest.requests] == [500, 200]
    assert record.content == "after a 500" and fake.messages(4) == []


async def test_answer_observers_see_the_request_before_and_after_its_answer(
        clock: MockClock) -> None:
    """before_answer runs once the message exists and holds the answer back while it waits;
    after_answer runs once the answer went out; neither changes what the fake answers."""
    fake = FakeDiscord(token="t1")
    seen: list[tuple[str, str, int, int]] = []
    answered, after_ran = trio.Event(), trio.Event()

    async def before(record) -> None:
        seen.append(("before", record.path, record.status, len(fake.messages(CHANNEL_ID))))
        await trio.sleep(5)  # the answer waits for the observer
        assert not answered.is_set()

    async def after(record) -> None:
        seen.append(("after", record.path, record.status, len(fake.messages(CHANNEL_ID))))
        after_ran.set()

    fake.rest.before_answer.append(before)
    fake.rest.after_answer.append(after)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(fake.serve)
            async with open_rest(fake) as rest:
                t0 = trio.current_time()
                msg = await rest.create_message(CHANNEL_ID, content="hello")
                answered.set()
                took = trio.current_time() - t0
                await after_ran.wait()
            nursery.cancel_scope.cancel()
    path = f"/channels/{CHANNEL_ID}/messages"
    assert seen == [("before", path, 200, 1), ("after", path, 200, 1)]
    assert took >= 5 and fake.messages(CHANNEL_ID)[0].id == int(msg["id"])
