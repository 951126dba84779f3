"""Only the family gets in (issue 14): the family's server, DMs from members and admins,
per-person cooldowns and a cap on running handlers, through the real command path."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import trio

from familybot_trio.config._access import Access
from familybot_trio.gatekeeper import FOREIGN_GUILD_REPLY, STRANGER_DM_REPLY, FamilyGate
from familybot_trio.sandbox._family import MEMBER_STEAMIDS, PERSONAS
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS

OTHER_GUILD = 555_000_000_000_000_001
OTHER_CHANNEL = 555_000_000_000_000_002
STRANGER = 777_000_000_000_000_001
PRIVATE = ("members", "wishlist", "profile", "deals", "coop", "new_games", "common_games")
FEATURES = ["members", "wishlist", "profile", "deals", "coop", "new_games", "common_games"]


def _leaks(world, text: str) -> list[str]:
    """Private facts of the family found in `text`."""
    facts = [str(s) for s in MEMBER_STEAMIDS] + [str(d) for d in DISCORD_IDS] + list(PERSONAS)
    return [f for f in facts if f in text]


async def _ask(world, name, options=None, **kw):
    with trio.fail_after(30):
        handle = await world.discord.send_interaction(name, options or {}, **kw)
        return await handle.wait_response()


async def test_a_user_in_a_second_guild_gets_nothing_private(start_world, caplog) -> None:
    caplog.set_level(logging.INFO, logger="familybot_trio.gatekeeper")
    world = await start_world(features=FEATURES)
    # Even a linked member gets nothing there: the other server is not the family's.
    for user in (STRANGER, DISCORD_IDS[1]):
        for name in PRIVATE:
            reply = await _ask(world, name, user_id=user, guild_id=OTHER_GUILD,
                               channel_id=OTHER_CHANNEL)
            assert reply.content == FOREIGN_GUILD_REPLY and reply.is_ephemeral
            assert not reply.embeds
    await world.discord.send_message(OTHER_CHANNEL, "!members", author_id=STRANGER,
                                     guild_id=OTHER_GUILD)
    # The same command in the family's server is answered (so the `!` above had its turn).
    reply = await _ask(world, "members", user_id=DISCORD_IDS[1], channel_id=CHANNELS["new_games"])
    assert reply.embeds and _leaks(world, str(reply.embeds))
    other = world.discord.messages(OTHER_CHANNEL)
    assert all(m.content == FOREIGN_GUILD_REPLY for m in other)
    assert all(m.kind != "message" for m in other)  # the `!` message got silence
    assert not any(_leaks(world, str((m.content, m.embeds))) for m in other)
    foreign = [r for r in caplog.records if "not the family's" in r.getMessage()]
    assert len(foreign) == 1  # logged once per guild


async def test_dms_answer_members_and_admins_only(start_world) -> None:
    world = await start_world(features=["members", "profile"])
    dm = 1_300_000_000_000_000_009
    refused = await _ask(world, "members", user_id=STRANGER, guild_id=None, channel_id=dm)
    assert refused.content == STRANGER_DM_REPLY and not refused.embeds
    unlinked = await _ask(world, "profile", user_id=DISCORD_IDS[4], guild_id=None, channel_id=dm)
    assert unlinked.content == STRANGER_DM_REPLY  # member 5 has no Discord link
    member = await _ask(world, "members", user_id=DISCORD_IDS[2], guild_id=None, channel_id=dm)
    assert member.embeds
    # a `!` DM from a stranger: one short refusal (later ones: silence, see below)
    await world.discord.send_message(dm + 1, "!members", author_id=STRANGER + 1, guild_id=None)
    with trio.fail_after(20):
        told = await world.discord.wait_for_message(dm + 1)
    assert told.content == STRANGER_DM_REPLY


async def test_prefix_dms_from_a_stranger_are_refused_once() -> None:
    class Members:
        async def by_discord_id(self, discord_id):
            return None

    app = SimpleNamespace(config=SimpleNamespace(access=Access(guild_id=1234)),
                          store=SimpleNamespace(members=Members()))
    gate = FamilyGate(app)  # type: ignore[arg-type]
    ran = []
    for _ in range(3):
        ctx = _Ctx(STRANGER)
        ctx.guild_id, ctx.is_interaction = None, False
        await gate.run(ctx, SimpleNamespace(name="members"), lambda: ran.append(1))
        ran.append(ctx.replies)
    assert ran == [[STRANGER_DM_REPLY], [], []]


async def test_per_person_cooldown_says_when_to_try_again(start_world) -> None:
    world = await start_world(features=["members"], commands_config="cooldown_s = 600")
    chan = CHANNELS["new_games"]
    first = await _ask(world, "members", user_id=DISCORD_IDS[1], channel_id=chan)
    assert first.embeds
    again = await _ask(world, "members", user_id=DISCORD_IDS[1], channel_id=chan)
    assert again.is_ephemeral and "again in" in again.content and "600 s" in again.content
    other = await _ask(world, "members", user_id=DISCORD_IDS[2], channel_id=chan)
    assert other.embeds  # a cooldown is per person


class _Ctx:
    def __init__(self, user_id: int) -> None:
        self.user_id, self.guild_id, self.is_admin = user_id, 1234, False
        self.is_interaction, self.replies = True, []

    async def reply(self, content=None, **kw) -> None:
        self.replies.append(content)


@pytest.mark.parametrize("cap", [1, 2])
async def test_running_handlers_per_person_are_capped(cap: int) -> None:
    app = SimpleNamespace(config=SimpleNamespace(
        access=Access(guild_id=1234, cooldown_s=0, cooldowns={}, max_running_per_user=cap)))
    gate = FamilyGate(app)  # type: ignore[arg-type]
    command = SimpleNamespace(name="common_games")
    release, started = trio.Event(), []

    async def slow() -> None:
        started.append(1)
        await release.wait()

    async with trio.open_nursery() as nursery:
        for _ in range(cap):
            nursery.start_soon(gate.run, _Ctx(1), command, slow)
        await trio.testing.wait_all_tasks_blocked()
        extra = _Ctx(1)
        await gate.run(extra, command, slow)
        assert len(started) == cap and f"already have {cap} commands running" in extra.replies[0]
        someone_else = _Ctx(2)
        nursery.start_soon(gate.run, someone_else, command, slow)
        await trio.testing.wait_all_tasks_blocked()
        assert len(started) == cap + 1 and not someone_else.replies
        release.set()
    after = _Ctx(1)
    await gate.run(after, command, lambda: trio.sleep(0))
    assert not after.replies  # the count went back down


async def test_autocomplete_shows_strangers_nothing(start_world) -> None:
    world = await start_world(features=["new_games", "wishlist", "owned"])
    with trio.fail_after(30):
        for job in ("new_games", "wishlist", "owned_index"):
            assert (await world.app.scheduler.run_now(job)).ok
        mine = await world.discord.send_interaction("owned", {"game": "elden"}, focused="game",
                                                    user_id=DISCORD_IDS[1],
                                                    channel_id=CHANNELS["new_games"])
        assert await mine.wait_choices()  # the family's server: names to pick from
        theirs = await world.discord.send_interaction("owned", {"game": "elden"}, focused="game",
                                                      user_id=STRANGER, guild_id=OTHER_GUILD,
                                                      channel_id=OTHER_CHANNEL)
        assert await theirs.wait_choices() == []
