"""CommandRegistry end to end: FakeDiscord (gateway + REST) <- Shard + Rest + registry.

Every test runs the real shard on loopback; interactions and `!` messages arrive over the
gateway, replies leave over REST, and assertions read what FakeDiscord stored.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import pytest
import trio
from trio.testing import MockClock

from gateway._protocol import Intents
from gateway.commands import CommandContext, CommandRegistry, boolean, integer, string, user
from gateway.messages import Embed
from gateway.shard import Shard
from gateway.testing import CHANNEL_ID, USER_ID, FakeDiscord, open_rest
from tests._clocks import thread_aware_autojump


TOKEN = "bot-token.for-tests"
ADMIN_ID = 1_200_000_000_000_000_999


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


@asynccontextmanager
async def bot_on(setup: Callable[[CommandRegistry], None], *, prefix: str | None = "!",
                 admin_ids: tuple[int, ...] = (ADMIN_ID,)
                 ) -> AsyncIterator[tuple[FakeDiscord, CommandRegistry]]:
    """FakeDiscord serving, a shard READY on it, commands registered; closes at the end."""
    fake = FakeDiscord(token=TOKEN)
    async with trio.open_nursery() as servers:
        await servers.start(fake.serve)
        async with open_rest(fake) as rest:
            registry = CommandRegistry(rest, prefix=prefix, admin_ids=admin_ids)
            setup(registry)
            shard = Shard(token=TOKEN, intents=Intents.for_bot(prefix_commands=prefix is not None),
                          get_gateway_bot=rest.get_gateway_bot, rng=random.Random(3))
            async with trio.open_nursery() as handlers:
                ready = await handlers.start(shard.run, registry.handle, handlers)
                await registry.sync(ready.application_id, stored_hash=None)
                yield fake, registry
                await shard.close()
                handlers.cancel_scope.cancel()
        servers.cancel_scope.cancel()


def dice_bot(calls: list[dict]) -> Callable[[CommandRegistry], None]:
    def setup(reg: CommandRegistry) -> None:
        @reg.command("roll", "Roll dice", options=[
            integer("sides", "Sides per die", min_value=2, max_value=100),
            boolean("loud", "Shout it", required=False),
            string("label", "What for", required=False)])
        async def roll(ctx: CommandContext) -> None:
            calls.append(dict(ctx.args))
            await ctx.reply(f"rolled d{ctx.args['sides']} for <@{ctx.user_id}>")

        @reg.command("poke", "Poke someone", options=[user("who", "Whom")], dm_allowed=False)
        async def poke(ctx: CommandContext) -> None:
            await ctx.reply(f"poked {ctx.args['who']}")

        @reg.command("reset", "Admin only", admin_only=True)
        async def reset(ctx: CommandContext) -> None:
            await ctx.reply("reset done", ephemeral=True)

        @reg.command("boom", "Fails")
        async def boom(ctx: CommandContext) -> None:
            raise RuntimeError("handler bug")
    return setup


async def test_slash_and_prefix_reach_same_handler_with_same_args(clock: MockClock) -> None:
    calls: list[dict] = []
    with trio.fail_after(120):
        async with bot_on(dice_bot(calls)) as (fake, _):
            handle = await fake.send_interaction(
                "roll", {"sides": 20, "loud": True, "label": "the big fight"})
            reply = await handle.wait_response()
            await fake.send_message(CHANNEL_ID, '!roll 20 yes the big fight')
            posted = await fake.wait_for_message(CHANNEL_ID, lambda m: m.kind == "message")
    assert calls == [{"sides": 20, "loud": True, "label": "the big fight"}] * 2
    assert handle.callback_types == [4] and reply.content == f"rolled d20 for <@{USER_ID}>"
    assert reply.allowed_mentions == {"parse": []}  # a mention in text never pings
    assert posted.content == reply.content and posted.allowed_mentions == {"parse": []}


async def test_bad_argument_gets_ephemeral_usage_naming_it(clock: MockClock) -> None:
    calls: list[dict] = []
    with trio.fail_after(120):
        async with bot_on(dice_bot(calls)) as (fake, _):
            handle = await fake.send_interaction("roll", {"sides": 1000})
            reply = await handle.wait_response()
            await fake.send_message(CHANNEL_ID, "!roll many")
            posted = await fake.wait_for_message(CHANNEL_ID, lambda m: m.kind == "message")
    assert calls == []
    assert reply.is_ephemeral and "`sides`" in reply.content and "between 2 and 100" in reply.content
    assert "Usage: `/roll sides:<2-100> [loud:<yes|no>] [label:<text>]`" in reply.content
    assert "`sides`" in posted.content and "'many' is not a whole number" in posted.content
    assert "Usage: `!roll" in posted.content


async def test_admin_only_dm_rules_user_option(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with bot_on(dice_bot([])) as (fake, _):
            refused = await (await fake.send_interaction("reset")).wait_response()
            allowed = await (await fake.send_interaction("reset", user_id=ADMIN_ID)).wait_response()
            in_dm = await (await fake.send_interaction(
                "poke", {"who": 1_200_000_000_000_000_555}, guild_id=None)).wait_response()
            poked = await (await fake.send_interaction(
                "poke", {"who": 1_200_000_000_000_000_555})).wait_response()
            await fake.send_message(CHANNEL_ID, "!poke <@!1200000000000000556>")
            by_prefix = await fake.wait_for_message(CHANNEL_ID, lambda m: m.kind == "message")
    assert refused.is_ephemeral and "admins only" in refused.content
    assert allowed.content == "reset done" and allowed.is_ephemeral
    assert in_dm.is_ephemeral and "not in DMs" in in_dm.content
    assert poked.content == "poked 1200000000000000555"
    assert by_prefix.content == "poked 1200000000000000556"


async def test_handler_error_is_reported_and_bot_keeps_going(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with bot_on(dice_bot([])) as (fake, _):
            failed = await (await fake.send_interaction("boom")).wait_response()
            ok = await (await fake.send_interaction("roll", {"sides": 6})).wait_response()
    assert failed.is_ephemeral and "`boom` failed" in failed.content
    assert "handler bug" not in failed.content  # details stay in the log
    assert ok.content.startswith("rolled d6")


async def test_prefix_ignores_bots_unknown_names_and_can_be_off(clock: MockClock) -> None:
    calls: list[dict] = []
    with trio.fail_after(120):
        async with bot_on(dice_bot(calls)) as (fake, _):
            await fake.send_message(CHANNEL_ID, "!roll 6", bot=True)
            await fake.send_message(CHANNEL_ID, "!weather tomorrow")
            await fake.send_message(CHANNEL_ID, "!roll 8")
            await fake.wait_for_message(CHANNEL_ID)
        async with bot_on(dice_bot(calls), prefix=None) as (fake2, _):
            await fake2.send_message(CHANNEL_ID, "!roll 6")
            handle = await fake2.send_interaction("roll", {"sides": 4})
            await handle.wait_response()
    assert calls == [{"sides": 8, "loud": None, "label": None}, {"sides": 4, "loud": None,
                                                                  "label": None}]
    assert [m.content for m in fake.messages()] == ["rolled d8 for <@%d>" % USER_ID]


async def test_sync_overwrites_only_when_changed(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with bot_on(dice_bot([])) as (fake, reg):
            first = reg.payload_hash()
            again = await reg.sync(fake.application_id, stored_hash=first)
            guild = await reg.sync(fake.application_id, guild_id=1234, stored_hash=None)

            @reg.command("extra", "A new command")
            async def extra(ctx: CommandContext) -> None:
                await ctx.reply("x")
            changed = await reg.sync(fake.application_id, stored_hash=first)
    puts = [q for q in fake.rest.requests if q.method == "PUT"]
    assert again == first == guild and changed != first
    assert [q.path.rsplit("/", 2)[-2] for q in puts] == [str(fake.application_id), "1234",
                                                         str(fake.application_id)]
    names = [c["name"] for c in fake.rest.commands[(fake.application_id, None)]]
    assert names == ["boom", "extra", "poke", "reset", "roll"]
    roll = next(c for c in puts[0].json if c["name"] == "roll")
    assert roll["options"][0] == {"name": "sides", "description": "Sides per die", "type": 4,
                                  "required": True, "min_value": 2, "max_value": 100}
    poke = next(c for c in puts[0].json if c["name"] == "poke")
    # A guild-installed app: GUILD and BOT_DM contexts (PRIVATE_CHANNEL needs a user install).
    assert poke["contexts"] == [0] and roll["contexts"] == [0, 1]
    assert all(c["integration_types"] == [0] for c in puts[0].json)
    reset = next(c for c in puts[0].json if c["name"] == "reset")  # admin_only
    assert reset["default_member_permissions"] == 32 and "default_member_permissions" not in roll
    assert [c.name for c in reg.commands][:2] == ["boom", "extra"]


async def test_autocomplete_answers_choices(clock: MockClock) -> None:
    games = ["Portal", "Portal 2", "Terraria", "Stardew Valley"]

    async def suggest(ctx: CommandContext, option: str, partial: str) -> list:
        return [(g, g.lower()) for g in games if g.lower().startswith(partial.lower())]

    def setup(reg: CommandRegistry) -> None:
        @reg.command("game", "Look up a game",
                     options=[string("name", "Game", autocomplete=True)], autocomplete=suggest)
        async def game(ctx: CommandContext) -> None:
            await ctx.reply(f"looking up {ctx.args['name']}")

    with trio.fail_after(120):
        async with bot_on(setup) as (fake, _):
            handle = await fake.send_interaction("game", {"name": "por"}, focused="name")
            choices = await handle.wait_choices()
            final = await (await fake.send_interaction("game", {"name": "portal 2"})).wait_response()
    assert handle.callback_types == [8]
    assert choices == [{"name": "Portal", "value": "portal"},
                       {"name": "Portal 2", "value": "portal 2"}]
    assert final.content == "looking up portal 2"


def test_registration_rejects_what_discord_would() -> None:
    reg = CommandRegistry(rest=None, prefix="!")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lowercase"):
        reg.command("Ping", "x")
    with pytest.raises(ValueError, match="1-100"):
        reg.command("ping", "")
    with pytest.raises(ValueError, match="before optional"):
        reg.command("x", "y", options=[string("a", "a", required=False), string("b", "b")])
    reg.command("ping", "pong")(_noop)
    with pytest.raises(ValueError, match="twice"):
        reg.command("ping", "pong")


async def _noop(ctx: CommandContext) -> None:
    return None


async def test_long_lists_and_many_embeds_are_split(clock: MockClock) -> None:
    lines = [f"{i:03d} " + "g" * 96 for i in range(50)]  # 5000 chars: three messages

    def setup(reg: CommandRegistry) -> None:
        @reg.command("list", "Long list")
        async def long_list(ctx: CommandContext) -> None:
            await ctx.reply_lines(lines)

        @reg.command("cards", "Many embeds")
        async def cards(ctx: CommandContext) -> None:
            await ctx.reply_embeds([Embed(title=f"game {i}") for i in range(23)], content="deals")

    with trio.fail_after(120):
        async with bot_on(setup) as (fake, _):
            listed = await (await fake.send_interaction("list")).wait_replies(3)
            carded = await (await fake.send_interaction("cards")).wait_replies(3)
            await fake.send_message(CHANNEL_ID, "!list")
            while len([m for m in fake.messages() if m.kind == "message"]) < 3:
                await fake.wait_for_message(CHANNEL_ID, lambda m: m.kind == "message")
                await trio.sleep(0.01)
    assert [m.kind for m in listed] == ["callback", "followup", "followup"]
    assert all(len(m.content) <= 2000 for m in listed)
    assert "\n".join(m.content for m in listed).split("\n") == lines
    assert [len(m.embeds) for m in carded] == [10, 10, 3] and carded[0].content == "deals"
    posted = [m for m in fake.messages() if m.kind == "message"]
    assert "\n".join(m.content for m in posted).split("\n") == lines


async def test_failed_answer_is_logged_not_fatal(clock: MockClock) -> None:
    with trio.fail_after(120):
        async with bot_on(dice_bot([])) as (fake, _):
            fake.fail_next("POST", "/callback", 403,  # the reply, then the apology
                           body={"code": 50001, "message": "Missing Access"}, times=2)
            first = await fake.send_interaction("roll", {"sides": 6})
            await fake.rest.wait_for_request("POST", "/callback", count=2)
            second = await (await fake.send_interaction("roll", {"sides": 8})).wait_response()
    assert first.callback_types == [] and second.content.startswith("rolled d8")
