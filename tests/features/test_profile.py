"""/profile through the real command path (slash and prefix) against the sandbox."""

from __future__ import annotations

import trio

from familybot_trio.sandbox import Fault
from familybot_trio.sandbox._family import MEMBER_STEAMIDS
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from gateway.messages import escape_markdown

CHANNEL = CHANNELS["new_games"]


async def _slash(world, options=None, *, user_id=DISCORD_IDS[1]):
    with trio.fail_after(15):
        handle = await world.discord.send_interaction("profile", options, user_id=user_id,
                                                      channel_id=CHANNEL)
        return await handle.wait_response()


def _fields(reply) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0].get("fields", ())}


def _expected_recent(world, steamid: int) -> list[str]:
    fam = world.sandbox.family
    played = [(fam.playtimes[(steamid, a)], a) for a in fam.owned_appids(steamid)
              if fam.playtimes.get((steamid, a)) and fam.playtimes[(steamid, a)].two_weeks_min]
    played.sort(key=lambda pa: -pa[0].rtime_last_played)
    return [fam.apps[a].name for _, a in played[:3]]


async def test_profile_by_member_name_shows_state_game_and_recent_games(start_world) -> None:
    world = await start_world(features=["profile"])
    reply = await _slash(world, {"member": "testuserone"})
    embed = reply.embeds[0]
    assert embed["title"] == "TestUserOne"
    assert embed["url"] == "https://steamcommunity.com/id/test_userone/"
    assert f"SteamID64 {MEMBER_STEAMIDS[0]}" in embed["footer"]["text"]
    fields = _fields(reply)
    assert fields["Status"] == "Online"
    assert "Stardew Valley" in fields["Playing now"] and "/app/413150/" in fields["Playing now"]
    expected = _expected_recent(world, MEMBER_STEAMIDS[0])
    assert expected, "the sandbox should give member 1 some recent games"
    for name in expected:
        assert f"[{escape_markdown(name)}](" in fields["Recently played"]
    assert not reply.is_ephemeral


async def test_profile_defaults_to_the_callers_linked_account(start_world) -> None:
    world = await start_world(features=["profile"])
    reply = await _slash(world, user_id=DISCORD_IDS[1])
    assert reply.embeds[0]["title"] == "TestUserTwo"
    assert _fields(reply)["Status"] == "Offline (or invisible)"
    assert "Playing now" not in _fields(reply)


async def test_profile_of_a_private_member_still_shows_the_summary(start_world) -> None:
    world = await start_world(features=["profile"])
    world.sandbox.family.private_owned.add(MEMBER_STEAMIDS[2])
    reply = await _slash(world, {"member": f"<@{DISCORD_IDS[2]}>"})
    assert reply.embeds[0]["title"] == "TestUserThree"
    assert "Nothing in the last two weeks" in _fields(reply)["Recently played"]


async def test_profile_when_recent_games_fail_is_best_effort(start_world) -> None:
    world = await start_world(features=["profile"])
    world.sandbox.fail_next("steam_webapi.GetRecentlyPlayedGames", Fault.FORBIDDEN, n=5)
    reply = await _slash(world, {"member": str(MEMBER_STEAMIDS[3])})
    assert reply.embeds, reply.content
    assert reply.embeds[0]["title"] == "TestUserFour"
    assert "Steam did not answer" in _fields(reply)["Recently played"]


async def test_profile_bad_arguments_name_the_argument(start_world) -> None:
    world = await start_world(features=["profile"])
    bad = await _slash(world, {"member": "%% nope %%"})
    assert bad.is_ephemeral and bad.content.startswith("Argument `member`:")
    unlinked_self = await _slash(world, user_id=DISCORD_IDS[4])
    assert unlinked_self.is_ephemeral and "Argument `member`:" in unlinked_self.content
    assert "/link" in unlinked_self.content
    unknown_vanity = await _slash(world, {"member": "no_such_person"})
    assert "Argument `member`:" in unknown_vanity.content


async def test_profile_as_a_prefix_command_with_a_profile_url(start_world) -> None:
    world = await start_world(features=["profile"])
    with trio.fail_after(15):
        await world.discord.send_message(
            CHANNEL, f"!profile https://steamcommunity.com/profiles/{MEMBER_STEAMIDS[1]}/",
            author_id=DISCORD_IDS[0])
        msg = await world.discord.wait_for_message(CHANNEL)
    assert msg.embeds[0]["title"] == "TestUserTwo"
    assert world.sandbox.counts["steam_webapi.GetPlayerSummaries"] == 1
