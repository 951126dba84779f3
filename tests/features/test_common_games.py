"""/common_games through the real command path (slash and prefix) against the sandbox."""

from __future__ import annotations

import datetime as dt
import re

import trio

from familybot_trio.sandbox._family import APP_TYPE_GAME, MEMBER_STEAMIDS
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from familybot_trio.store import SteamID64
from familybot_trio.upstream.models import MULTIPLAYER_CATEGORIES

CHANNEL = CHANNELS["new_games"]
APP_LINK = re.compile(r"store\.steampowered\.com/app/(\d+)/")
OWNED = "steam_webapi.GetOwnedGames"


def expected(world, *members: int, every: bool = False) -> set[int]:
    """Common games of `members` (indexes), computed from the sandbox's own data."""
    fam = world.sandbox.family
    sets = [set(fam.owned_appids(MEMBER_STEAMIDS[i])) for i in members]
    common = set.intersection(*sets)
    return {int(a) for a in common if fam.apps[a].app_type == APP_TYPE_GAME
            and (every or set(fam.apps[a].categories) & MULTIPLAYER_CATEGORIES)}


def listed(replies) -> set[int]:
    return {int(a) for r in replies for e in r.embeds
            for a in APP_LINK.findall(e.get("description", ""))}


def _complete(replies) -> bool:
    return any(r.is_ephemeral or any("footer" in e or "in common" in e.get("description", "")
                                     for e in r.embeds) for r in replies)


async def _common(world, options, *, user_id=DISCORD_IDS[0]):
    with trio.fail_after(30):
        handle = await world.discord.send_interaction("common_games", options, user_id=user_id,
                                                      channel_id=CHANNEL)
        await handle.wait_response()
        replies = handle.replies()
        while not _complete(replies):
            replies = await handle.wait_replies(len(replies) + 1)
        return replies


async def test_common_games_of_the_caller_and_a_user_multiplayer_only(start_world) -> None:
    world = await start_world(features=["common_games"])
    sb = world.sandbox
    sb.add_library_app(999_301, MEMBER_STEAMIDS[0], name="Shared Coop Night")
    sb.add_library_app(999_301, MEMBER_STEAMIDS[1])
    sb.add_library_app(999_302, MEMBER_STEAMIDS[0], name="Shared Solo Story", categories=(2, 62))
    sb.add_library_app(999_302, MEMBER_STEAMIDS[1])
    want = expected(world, 0, 1)
    assert {999_301} <= want and 999_302 not in want
    replies = await _common(world, {"user1": DISCORD_IDS[1]})
    assert listed(replies) == want
    embed = replies[0].embeds[0]
    assert embed["title"] == f"{len(want)} multi-player or co-op games TestUserOne and " \
                             "TestUserTwo all own"
    assert "all:true" in replies[-1].embeds[-1]["footer"]["text"]
    assert not replies[0].is_ephemeral
    assert world.sandbox.counts[OWNED] == 2
    stored = await world.app.store.owned.common([SteamID64(MEMBER_STEAMIDS[0]),
                                                 SteamID64(MEMBER_STEAMIDS[1])])
    assert {999_301, 999_302} <= {int(a) for a in stored}  # the lists were cached in the store


async def test_all_true_lists_every_common_game_and_the_cache_is_reused(start_world) -> None:
    world = await start_world(features=["common_games"])
    want = expected(world, 0, 2, every=True)
    assert len(want) > len(expected(world, 0, 2))
    replies = await _common(world, {"user1": DISCORD_IDS[2], "all": True})
    assert listed(replies) == want
    assert world.sandbox.counts[OWNED] == 2
    again = await _common(world, {"members": "TestUserThree"})
    assert listed(again) == expected(world, 0, 2)
    assert world.sandbox.counts[OWNED] == 2  # within the TTL: no new GetOwnedGames


async def test_unlinked_users_and_strangers_are_named(start_world) -> None:
    world = await start_world(features=["common_games"])
    replies = await _common(world, {"user1": DISCORD_IDS[4],
                                    "members": "TestUserTwo, 76561197960265729, Nobody Here"})
    reply = replies[0]
    assert reply.is_ephemeral
    assert f"<@{DISCORD_IDS[4]}> (`user1`) is not linked to a family member" in reply.content
    assert "/link steam:" in reply.content
    assert "76561197960265729) is not in this Steam family" in reply.content
    assert "Argument `members`:" in reply.content
    assert world.sandbox.counts[OWNED] == 0
    me = (await _common(world, {"members": "TestUserTwo"}, user_id=DISCORD_IDS[4]))[0]
    assert f"you (<@{DISCORD_IDS[4]}>) are not linked" in me.content


async def test_private_members_are_named(start_world) -> None:
    world = await start_world(features=["common_games"])
    world.sandbox.family.private_owned.add(MEMBER_STEAMIDS[3])
    reply = (await _common(world, {"user1": DISCORD_IDS[3], "user2": DISCORD_IDS[1]}))[0]
    assert reply.is_ephemeral
    assert "**TestUserFour** keeps their game details private" in reply.content
    assert "TestUserTwo" not in reply.content


async def test_a_stored_list_stands_in_when_the_profile_turns_private(start_world) -> None:
    clock = [dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)]
    world = await start_world(features=["common_games"], now=lambda: clock[0])
    first = await _common(world, {"user1": DISCORD_IDS[1]})
    world.sandbox.family.private_owned.add(MEMBER_STEAMIDS[1])
    clock[0] += dt.timedelta(hours=8)
    later = await _common(world, {"user1": DISCORD_IDS[1]})
    assert listed(later) == listed(first) == expected(world, 0, 1)
    assert "TestUserTwo's list is 8 h old" in later[-1].embeds[-1]["footer"]["text"]
    assert world.sandbox.counts[OWNED] == 4


async def test_only_the_caller_names_the_argument(start_world) -> None:
    world = await start_world(features=["common_games"])
    reply = (await _common(world, {"user1": DISCORD_IDS[0]}))[0]
    assert reply.is_ephemeral
    assert "Argument `user1`: name at least one other member" in reply.content


async def test_common_games_as_a_prefix_command(start_world) -> None:
    world = await start_world(features=["common_games"])
    with trio.fail_after(30):
        await world.discord.send_message(
            CHANNEL, f"!common_games TestUserThree <@{DISCORD_IDS[1]}>", author_id=DISCORD_IDS[0])
        msg = await world.discord.wait_for_message(CHANNEL, lambda m: m.kind == "message")
    assert "TestUserOne, TestUserTwo and TestUserThree all own" in msg.embeds[0]["title"]
    assert {int(a) for e in msg.embeds for a in APP_LINK.findall(e.get("description", ""))} \
        == expected(world, 0, 1, 2)


async def test_300_names_cost_at_most_the_familys_size_in_upstream_calls(start_world) -> None:
    """Issue 14: 300 names once made 300 ResolveVanityURL calls and a 53,130-char reply."""
    world = await start_world(features=["common_games"])
    sb = world.sandbox
    family_size = len(world.config.members)
    names300 = ",".join(f"stranger{i}" for i in range(300))
    few = ",".join(f"s{i}" for i in range(100))[:399]  # fits the length limit, too many names
    unknown = ",".join(f"nobody_{i}" for i in range(family_size))
    for options in ({"members": names300}, {"members": few}, {"members": unknown}):
        sb.reset_counts()
        replies = await _common(world, options)
        assert sb.total_requests() <= family_size, sb.counts
        for r in replies:
            assert len(r.content or "") <= 2000 and r.is_ephemeral
    assert sb.counts["steam_webapi.ResolveVanityURL"] == family_size  # one per unknown name
    with trio.fail_after(30):  # the `!` path has the same limits
        sb.reset_counts()
        await world.discord.send_message(CHANNEL, f"!common_games {names300}",
                                         author_id=DISCORD_IDS[0])
        told = await world.discord.wait_for_message(
            CHANNEL, lambda m: m.kind == "message" and "members" in (m.content or ""))
    assert "characters long" in told.content and len(told.content) <= 2000
    assert sb.total_requests() == 0
