"""/coop through the real command path (slash and prefix) against the sandbox."""

from __future__ import annotations

import re

import trio

from familybot_trio.sandbox import Fault
from familybot_trio.sandbox._family import APP_TYPE_GAME, EXCLUDE_BY_PARTNER, MEMBER_STEAMIDS
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from familybot_trio.store import AppId, LibraryEntry, SteamID64
from familybot_trio.upstream.models import MULTIPLAYER_CATEGORIES

CHANNEL = CHANNELS["new_games"]
APP_LINK = re.compile(r"store\.steampowered\.com/app/(\d+)/")


def expected(world, copies: int) -> set[int]:
    """What /coop must list, computed from the sandbox's own family data."""
    fam = world.sandbox.family
    out = set()
    for appid, lib in fam.library.items():
        info = fam.apps[appid]
        if (lib.exclude_reason == 0 and len(lib.owners) >= copies
                and info.app_type == APP_TYPE_GAME and info.store_type == "game"
                and set(info.categories) & MULTIPLAYER_CATEGORIES and 62 in info.categories):
            out.add(int(appid))
    return out


def listed(replies) -> list[int]:
    text = "\n".join(e.get("description", "") for r in replies for e in r.embeds)
    return [int(a) for a in APP_LINK.findall(text)]


def _complete(replies) -> bool:
    """The answer is complete once an ephemeral error, the footed last embed or "none" came."""
    return any(r.is_ephemeral or any("footer" in e or "No shareable" in e.get("description", "")
                                     for e in r.embeds) for r in replies)


async def _coop(world, options):
    with trio.fail_after(30):
        handle = await world.discord.send_interaction("coop", options, user_id=DISCORD_IDS[1],
                                                      channel_id=CHANNEL)
        await handle.wait_response()
        replies = handle.replies()
        while not _complete(replies):
            replies = await handle.wait_replies(len(replies) + 1)
        return replies


async def test_coop_on_a_fresh_database_fetches_the_library_and_lists_every_game(start_world
                                                                                 ) -> None:
    world = await start_world(features=["coop"])
    want = expected(world, 2)
    assert 10 < len(want) <= 100  # the sandbox's family has a real answer to give
    replies = await _coop(world, {"copies": 2})
    got = listed(replies)
    assert set(got) == want  # nothing dropped on the first fetch of details (P3)
    assert len(got) == len(set(got))
    assert world.sandbox.counts["steam_webapi.GetSharedLibraryApps"] == 1
    assert replies[0].embeds[0]["title"] == "Play together: games with 2+ copies"
    assert not replies[0].is_ephemeral
    # the second run answers the same from the catalog cache: no new GetItems call
    items_calls = world.sandbox.counts["steam_webapi.GetItems"]
    again = await _coop(world, {"copies": 2})
    assert listed(again) == got
    assert world.sandbox.counts["steam_webapi.GetItems"] == items_calls


async def test_coop_lines_show_copies_owners_and_price(start_world) -> None:
    world = await start_world(features=["coop"])
    sb = world.sandbox
    sb.add_library_app(999_001, MEMBER_STEAMIDS[0], name="Raft Together", price_cents=1999)
    sb.add_library_app(999_001, MEMBER_STEAMIDS[1])
    sb.add_library_app(999_001, MEMBER_STEAMIDS[2])
    sb.start_sale(999_001, 50)
    replies = await _coop(world, {"copies": 3})
    text = "\n".join(e.get("description", "") for r in replies for e in r.embeds)
    line = next(l for l in text.splitlines() if "Raft Together" in l)
    assert "3 copies (TestUserOne, TestUserThree and TestUserTwo)" in line
    assert "$9.99 (-50%, was $19.99)" in line  # the one formatter (_money), as everywhere
    assert set(listed(replies)) == expected(world, 3)


async def test_coop_skips_games_the_family_cannot_share_and_single_player_ones(start_world
                                                                              ) -> None:
    world = await start_world(features=["coop"])
    sb = world.sandbox
    partner = {"exclude_reason": EXCLUDE_BY_PARTNER}
    for appid, name, kw in ((999_101, "Partner Excluded Coop", partner),
                            (999_102, "Solo Adventure", {"categories": (2, 62)}),
                            (999_103, "Unshareable Coop", {"categories": (1, 9, 38)})):
        sb.add_library_app(appid, MEMBER_STEAMIDS[0], name=name, **kw)
        sb.add_library_app(appid, MEMBER_STEAMIDS[3])
    got = set(listed(await _coop(world, {"copies": 2})))
    assert not got & {999_101, 999_102, 999_103}
    assert got == expected(world, 2)


async def test_coop_uses_the_stored_library_when_there_is_one(start_world) -> None:
    world = await start_world(features=["coop"])
    fam = world.sandbox.family
    raft = AppId(999_201)
    world.sandbox.add_library_app(raft, MEMBER_STEAMIDS[0], name="Stored Coop Game")
    # a game /coop lists today, which the stored snapshot says the family excluded
    excluded = AppId(min(expected(world, 2)))
    entries = [LibraryEntry(AppId(int(a)), tuple(SteamID64(int(s)) for s in lib.owners),
                            "game", EXCLUDE_BY_PARTNER if int(a) == excluded
                            else lib.exclude_reason) for a, lib in fam.library.items()]
    # the stored snapshot says two members own raft; Steam (not asked) says only one does
    entries = [e if e.appid != raft else LibraryEntry(raft, (SteamID64(MEMBER_STEAMIDS[0]),
                                                             SteamID64(MEMBER_STEAMIDS[4])), "game")
               for e in entries]
    result = await world.app.store.library.apply_snapshot(entries, world.app.now())
    assert result.applied
    got = listed(await _coop(world, {"copies": 2}))
    assert int(raft) in got
    assert int(excluded) not in got  # the stored exclude_reason counts, like Steam's
    assert set(got) == (expected(world, 2) - {int(excluded)}) | {int(raft)}
    assert world.sandbox.counts["steam_webapi.GetSharedLibraryApps"] == 0


async def test_coop_says_none_when_nothing_qualifies(start_world) -> None:
    world = await start_world(features=["coop"])
    assert not expected(world, 4)
    reply = (await _coop(world, {"copies": 4}))[0]
    assert "No shareable multi-player or co-op game has 4 or more copies" in \
        reply.embeds[0]["description"]


async def test_coop_bad_copies_names_the_argument(start_world) -> None:
    world = await start_world(features=["coop"])
    for bad in (0, 1, 7):
        reply = (await _coop(world, {"copies": bad}))[0]
        assert reply.is_ephemeral
        assert reply.content.startswith("Argument `copies`: must be between 2 and 6"), reply.content
    with trio.fail_after(15):
        await world.discord.send_message(CHANNEL, "!coop lots", author_id=DISCORD_IDS[1])
        msg = await world.discord.wait_for_message(CHANNEL, lambda m: m.kind == "message")
    assert "Argument `copies`: 'lots' is not a whole number" in msg.content
    assert world.sandbox.counts["steam_webapi.GetSharedLibraryApps"] == 0


async def test_coop_as_a_prefix_command(start_world) -> None:
    world = await start_world(features=["coop"])
    with trio.fail_after(30):
        await world.discord.send_message(CHANNEL, "!coop 3", author_id=DISCORD_IDS[2])
        msg = await world.discord.wait_for_message(CHANNEL)
    assert msg.embeds[0]["title"] == "Play together: games with 3+ copies"
    got = [int(a) for e in msg.embeds for a in APP_LINK.findall(e.get("description", ""))]
    assert set(got) == expected(world, 3)


async def test_coop_says_so_when_steam_fails(start_world) -> None:
    world = await start_world(features=["coop"])
    world.sandbox.fail_next("steam_webapi.GetItems", Fault.FORBIDDEN, n=10)
    reply = (await _coop(world, {"copies": 2}))[0]
    assert reply.is_ephemeral
    assert reply.content.startswith("Could not build the co-op list:")
    assert world.sandbox.api_key not in reply.content
