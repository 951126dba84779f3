"""/link, /unlink and /members through the real command path (slash and prefix)."""

from __future__ import annotations

import trio

from familybot_trio.sandbox._family import MEMBER_STEAMIDS, PERSONAS
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from familybot_trio.store import Snowflake

CHANNEL = CHANNELS["new_games"]
NEWCOMER = DISCORD_IDS[4]  # a Discord user the config links to nobody; member 5 is unlinked


async def _slash(world, name, options=None, *, user_id=NEWCOMER):
    with trio.fail_after(15):
        handle = await world.discord.send_interaction(name, options, user_id=user_id,
                                                      channel_id=CHANNEL)
        return await handle.wait_response()


async def _approve(world, user_id=NEWCOMER, action="approve"):
    return await _slash(world, "admin_link", {"action": action, "user": user_id},
                        user_id=DISCORD_IDS[0])


async def test_link_by_custom_url_links_the_caller_and_members_shows_it(start_world) -> None:
    world = await start_world(features=["members"])
    reply = await _slash(world, "link", {"steam": "https://steamcommunity.com/id/test_userfive/"})
    assert reply.is_ephemeral
    assert "Asked the admins to confirm that you are **TestUserFive**" in reply.content
    assert await world.app.store.members.by_discord_id(Snowflake(NEWCOMER)) is None
    asked = await world.discord.wait_for_message(CHANNELS["admin_reports"])
    assert f"<@{NEWCOMER}> asks to be linked to **TestUserFive**" in asked.content
    approved = await _approve(world)
    assert f"Linked <@{NEWCOMER}> to **TestUserFive**" in approved.content
    member = await world.app.store.members.by_discord_id(Snowflake(NEWCOMER))
    assert member is not None and member.steamid == MEMBER_STEAMIDS[4]
    listing = await _slash(world, "members", user_id=DISCORD_IDS[1])
    text = listing.embeds[0]["description"]
    assert f"**TestUserFive** · `{MEMBER_STEAMIDS[4]}` · <@{NEWCOMER}>" in text
    assert "5 linked" in listing.embeds[0]["title"]
    assert world.sandbox.counts["steam_webapi.ResolveVanityURL"] == 1


async def test_link_by_profiles_url_and_by_steamid64(start_world) -> None:
    world = await start_world(features=["members"])
    url = f"steamcommunity.com/profiles/{MEMBER_STEAMIDS[4]}"
    reply = await _slash(world, "link", {"steam": url})
    assert "Asked the admins" in reply.content
    await _approve(world)
    again = await _slash(world, "link", {"steam": str(MEMBER_STEAMIDS[4])})
    assert "already linked to **TestUserFive**" in again.content
    assert world.sandbox.counts["steam_webapi.ResolveVanityURL"] == 0  # parsed, not looked up


async def test_link_garbage_names_the_argument(start_world) -> None:
    world = await start_world(features=["members"])
    for bad in ("not a steam id!", "1234", "no_such_vanity_name"):
        reply = await _slash(world, "link", {"steam": bad})
        assert reply.is_ephemeral
        assert reply.content.startswith("Argument `steam`:"), reply.content
        assert "Usage: `/link" in reply.content
    assert await world.app.store.members.by_discord_id(Snowflake(NEWCOMER)) is None


async def test_link_refuses_non_members_and_taken_members(start_world) -> None:
    world = await start_world(features=["members"])
    stranger = await _slash(world, "link", {"steam": "76561197960265729"})
    assert "not in this Steam family" in stranger.content and stranger.is_ephemeral
    taken = await _slash(world, "link", {"steam": PERSONAS[1].lower().replace("test", "test_")})
    assert f"already linked to <@{DISCORD_IDS[1]}>" in taken.content
    assert await world.app.store.members.by_discord_id(Snowflake(NEWCOMER)) is None


async def test_unlink_removes_the_callers_link(start_world) -> None:
    world = await start_world(features=["members"])
    reply = await _slash(world, "unlink", user_id=DISCORD_IDS[2])
    assert "Unlinked you from **TestUserThree**" in reply.content
    assert "config.toml" in reply.content  # the config links them: say it comes back
    assert await world.app.store.members.by_discord_id(Snowflake(DISCORD_IDS[2])) is None
    again = await _slash(world, "unlink", user_id=DISCORD_IDS[2])
    assert "not linked" in again.content


async def test_members_as_a_prefix_command_lists_everyone(start_world) -> None:
    world = await start_world(features=["members"])
    with trio.fail_after(15):
        await world.discord.send_message(CHANNEL, "!members", author_id=DISCORD_IDS[1])
        msg = await world.discord.wait_for_message(CHANNEL)
    text = msg.embeds[0]["description"]
    for name, sid in zip(PERSONAS, MEMBER_STEAMIDS):
        assert f"**{name}** · `{sid}`" in text
    assert f"`{MEMBER_STEAMIDS[4]}` · not linked" in text
    assert f"<@{DISCORD_IDS[0]}>" in text


async def test_link_as_a_prefix_command(start_world) -> None:
    world = await start_world(features=["members"])
    with trio.fail_after(15):
        await world.discord.send_message(CHANNEL, "!link test_userfive", author_id=NEWCOMER)
        msg = await world.discord.wait_for_message(CHANNEL)
    assert "Asked the admins to confirm that you are **TestUserFive**" in msg.content
    await _approve(world)
    member = await world.app.store.members.by_discord_id(Snowflake(NEWCOMER))
    assert member is not None and member.steamid == MEMBER_STEAMIDS[4]


async def test_a_strangers_link_is_refused_and_reads_nothing(start_world) -> None:
    """Issue 14: a stranger's /link of an unlinked member once took the member over."""
    world = await start_world(features=["members", "wishlist", "profile"])
    stranger = 777_000_000_000_000_042
    asked = await _slash(world, "link", {"steam": str(MEMBER_STEAMIDS[4])}, user_id=stranger)
    assert "Asked the admins" in asked.content
    assert await world.app.store.members.by_discord_id(Snowflake(stranger)) is None
    with trio.fail_after(15):
        handle = await world.discord.send_interaction("wishlist", {}, user_id=stranger,
                                                      guild_id=None, channel_id=1_300_000_000_1)
        dm = await handle.wait_response()
    assert not dm.embeds and "only answer the members" in dm.content
    denied = await _approve(world, stranger, "deny")
    assert "stays unlinked" in denied.content
    assert "no pending" in (await _approve(world, stranger)).content
    # the real member asks, an admin approves; the stranger can no longer get in
    await _slash(world, "link", {"steam": str(MEMBER_STEAMIDS[4])})
    assert "Linked" in (await _approve(world)).content
    await _slash(world, "link", {"steam": str(MEMBER_STEAMIDS[4])}, user_id=stranger)
    taken = await _slash(world, "link", {"steam": str(MEMBER_STEAMIDS[4])}, user_id=stranger)
    assert f"already linked to <@{NEWCOMER}>" in taken.content


async def test_two_racing_link_approvals_for_one_member_only_one_wins(start_world) -> None:
    world = await start_world(features=["members"])
    rivals = (777_000_000_000_000_051, 777_000_000_000_000_052)
    for rival in rivals:
        await _slash(world, "link", {"steam": str(MEMBER_STEAMIDS[4])}, user_id=rival)
    answers = []

    async def approve(uid):
        answers.append((await _approve(world, uid)).content)

    async with trio.open_nursery() as nursery:
        for rival in rivals:
            nursery.start_soon(approve, rival)
    assert sorted("Linked" in a for a in answers) == [False, True], answers
    linked = [m for m in await world.app.store.members.all() if m.steamid == MEMBER_STEAMIDS[4]]
    assert linked[0].discord_id in rivals
    # and at the store, many claims at once: exactly one row update succeeds
    await world.app.store.members.link_discord(MEMBER_STEAMIDS[4], None)
    results = []

    async def claim(uid):
        results.append(await world.app.store.members.claim(MEMBER_STEAMIDS[4], Snowflake(uid)))

    async with trio.open_nursery() as nursery:
        for uid in range(900_000_000_000_000_201, 900_000_000_000_000_209):
            nursery.start_soon(claim, uid)
    assert sum(r is not None for r in results) == 1


async def test_an_admin_can_remove_a_link(start_world) -> None:
    world = await start_world(features=["members"])
    removed = await _approve(world, DISCORD_IDS[2], "remove")
    assert "Removed the link" in removed.content and "config.toml" in removed.content
    assert await world.app.store.members.by_discord_id(Snowflake(DISCORD_IDS[2])) is None
    refused = await _slash(world, "admin_link", {"action": "remove", "user": DISCORD_IDS[1]},
                           user_id=DISCORD_IDS[1])
    assert "admins only" in refused.content
    assert await world.app.store.members.by_discord_id(Snowflake(DISCORD_IDS[1])) is not None
