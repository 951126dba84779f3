"""New shared games end to end: the real bot, FakeDiscord and the sandbox over real sockets.

Each test drives the `new_games` job with `scheduler.run_now`, then reads what FakeDiscord
recorded in the new-games channel and what the store kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import trio

from familybot_trio.features import new_games
from familybot_trio.sandbox import _family as F
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from gateway.messages import embed_length

CH = CHANNELS["new_games"]
NEW_APPID = 3_900_001


def members(world) -> list:
    return world.sandbox.family.members


async def run_job(world) -> None:
    outcome = await world.app.scheduler.run_now(new_games.JOB)
    assert outcome.ok, outcome.error


async def settle(world) -> list:
    """Post every pending outbox row, then return the new-games channel's messages."""
    await world.app.flush_outbox()
    assert await world.app.store.outbox.pending() == []
    return world.discord.messages(CH)


def embed_text(msg) -> str:
    return repr(msg.embeds)


async def test_fresh_install_is_a_baseline_then_one_game_is_announced_once(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        assert await settle(world) == []
        stored = await world.app.store.library.apps()
        assert len(stored) > 1500  # the baseline recorded the sandbox library

        owner = members(world)[1]
        world.sandbox.add_library_app(NEW_APPID, owner.steamid, name="Lighthouse Keepers",
                                      price_cents=2499)
        world.sandbox.set_historical_low(NEW_APPID, 999)
        await run_job(world)
        msgs = await settle(world)
        assert len(msgs) == 1
        embed = msgs[0].embeds[0]
        assert embed["title"] == "Lighthouse Keepers"
        assert embed["url"] == f"https://store.steampowered.com/app/{NEW_APPID}/"
        assert "image" in embed
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["Owner"] == owner.persona
        assert fields["Price now"] == "$24.99"
        assert fields["Historical low"] == "Steam's low $9.99"  # which low it is (shops=61)
        assert msgs[0].nonce  # posted through the outbox with its nonce

        await run_job(world)  # a later run: nothing new, nothing posted
        assert len(await settle(world)) == 1


async def test_a_bundle_becomes_one_grouped_message(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        owner = members(world)[2]
        names = [f"Bundle Game {i:02d}" for i in range(12)]
        for i, name in enumerate(names):
            world.sandbox.add_library_app(NEW_APPID + i, owner.steamid, name=name)
        await run_job(world)
        msgs = await settle(world)
    assert len(msgs) == 1
    text = embed_text(msgs[0])
    assert "12 new games" in text
    for name in names:
        assert name in text
    assert owner.persona in text


async def test_a_game_with_two_owners_names_both(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        a, b = members(world)[0], members(world)[3]
        world.sandbox.add_library_app(NEW_APPID, a.steamid, name="Twin Peaks Racing")
        world.sandbox.add_library_app(NEW_APPID, b.steamid)
        await run_job(world)
        msgs = await settle(world)
    assert len(msgs) == 1
    fields = {f["name"]: f["value"] for f in msgs[0].embeds[0]["fields"]}
    assert fields["Owners"] == f"{a.persona} and {b.persona}"


async def test_excluded_and_non_game_apps_are_never_announced(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        sid = members(world)[1].steamid
        sb = world.sandbox
        sb.add_library_app(NEW_APPID, sid, name="Partner Excluded Game",
                           exclude_reason=F.EXCLUDE_BY_PARTNER)
        sb.add_library_app(NEW_APPID + 1, sid, name="Some Expansion Pack")
        info = sb.family.apps[F.AppId(NEW_APPID + 1)]  # the store says: a DLC
        sb.family.apps[F.AppId(NEW_APPID + 1)] = dataclasses.replace(info, store_type="dlc")
        sb.add_library_app(NEW_APPID + 2, sid, name="A Real Game")
        await run_job(world)
        msgs = await settle(world)
    assert [m.embeds[0]["title"] for m in msgs] == ["A Real Game"]
    stored = {a.appid for a in await world.app.store.library.apps()}
    assert {NEW_APPID, NEW_APPID + 1, NEW_APPID + 2} <= stored  # recorded, not announced


async def test_a_game_back_within_30_days_is_not_announced_again(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        fam = world.sandbox.family
        back = next(lib for lib in fam.library.values() if lib.exclude_reason == 0
                    and fam.apps[lib.appid].app_type == F.APP_TYPE_GAME)
        world.sandbox.remove_library_app(back.appid)
        await run_job(world)
        fam.library[back.appid] = back  # the licence is back
        world.sandbox.add_library_app(NEW_APPID, members(world)[0].steamid, name="Fresh One")
        await run_job(world)
        msgs = await settle(world)
    assert [m.embeds[0]["title"] for m in msgs] == ["Fresh One"]


async def test_crash_before_the_post_announces_once_after_restart(start_world, nursery) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        world.sandbox.add_library_app(NEW_APPID, members(world)[1].steamid, name="Crashy Game")
        # Discord answers 503 to every try of the REST client (gateway.rest.MAX_ATTEMPTS)
        world.discord.fail_next("POST", f"/channels/{CH}/messages", 503, times=4)
        await run_job(world)  # state + outbox row committed in one transaction
        await world.discord.rest.wait_for_request("POST", f"/channels/{CH}/messages")
        pending = await world.app.store.outbox.pending()  # the post failed: "crash"
        assert [r.kind for r in pending] == ["new_game"] and world.discord.messages(CH) == []
        await world.app.stop()
        await world.start_app(nursery, world.new_app())
        msg = await world.discord.wait_for_message(CH)
        await run_job(world)  # the restarted bot does not see the game as new again
        msgs = await settle(world)
    assert msgs == [msg] and msg.embeds[0]["title"] == "Crashy Game"


async def test_crash_after_the_post_before_mark_sent_posts_once(start_world, nursery) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        world.sandbox.add_library_app(NEW_APPID, members(world)[1].steamid, name="Nonce Game")
        await run_job(world)
        first = await settle(world)
        assert len(first) == 1
        # The state on disk after a crash between the POST and mark_sent: the row is unsent.
        await world.app.store.run_write(lambda c: c.execute(
            "UPDATE outbox SET sent_at = NULL, message_id = NULL WHERE kind = 'new_game'"))
        await world.app.stop()
        await world.start_app(nursery, world.new_app())
        msgs = await settle(world)
        row = (await world.app.store.run_read(lambda c: c.execute(
            "SELECT message_id FROM outbox WHERE kind = 'new_game'").fetchall()))
    assert msgs == first  # enforce_nonce: Discord returned the first message
    assert row == [(first[0].id,)]


async def test_announce_since_announces_recent_acquisitions_on_the_first_run(start_world) -> None:
    world = await start_world(features=["new_games"], extra_config=(
        "[new_games]\nannounce_since = 2023-11-10\nbundle_threshold = 100\n"))
    since = dt.datetime(2023, 11, 10, tzinfo=dt.UTC).timestamp()
    fam = world.sandbox.family
    expected = {fam.apps[lib.appid].name for lib in fam.library.values()
                if lib.rt_time_acquired >= since and lib.exclude_reason == 0
                and fam.apps[lib.appid].app_type == F.APP_TYPE_GAME}
    assert expected  # the sample has recent games
    with trio.fail_after(30):
        await run_job(world)
        msgs = await settle(world)
    assert {m.embeds[0]["title"] for m in msgs} == expected


async def test_expired_token_fails_the_job_and_new_games_says_how_to_renew(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        world.sandbox.expire_access_token()
        outcome = await world.app.scheduler.run_now(new_games.JOB)
        assert not outcome.ok and "TokenExpired" in (outcome.error or "")
        report = await world.discord.wait_for_message(CHANNELS["admin_reports"])
        assert "token set" in report.content
        again = await world.app.scheduler.run_now(new_games.JOB)
        assert not again.ok and len(world.discord.messages(CHANNELS["admin_reports"])) == 1
        handle = await world.discord.send_interaction(
            "new_games", {"count": 3}, user_id=DISCORD_IDS[1], channel_id=CH)
        reply = await handle.wait_response()
    assert "renew it with `familybot-trio token set`" in reply.content
    assert len(reply.embeds) == 1  # the library as last read is still shown


async def test_new_games_command_lists_latest_games_and_library_size(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        owner = members(world)[3]
        # First use reads the library on demand (no baseline yet).
        world.sandbox.add_library_app(NEW_APPID, owner.steamid, name="Newest Arrival")
        handle = await world.discord.send_interaction(
            "new_games", {"count": 3}, user_id=DISCORD_IDS[2], channel_id=CH)
        reply = await handle.wait_response()
        await world.discord.send_message(CH, "!new_games 2", author_id=DISCORD_IDS[1])
        prefix = await world.discord.wait_for_message(
            CH, lambda m: bool(m.embeds) and m.id != reply.id)
    fam = world.sandbox.family
    shareable_games = sum(1 for lib in fam.library.values() if lib.exclude_reason == 0
                          and fam.apps[lib.appid].app_type == F.APP_TYPE_GAME)
    embed = reply.embeds[0]
    lines = embed["description"].split("\n")
    assert len(lines) == 3
    assert "Newest Arrival" in lines[0] and owner.persona in lines[0]
    assert f"{shareable_games} shareable games" in embed["footer"]["text"]
    assert len(prefix.embeds[0]["description"].split("\n")) == 2


async def test_a_huge_bundle_names_every_game_across_messages(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        sid = members(world)[0].steamid
        for i in range(90):
            world.sandbox.add_library_app(NEW_APPID + i, sid,
                                          name=f"Mega Pack Game With A Long Name {i:02d}")
        await run_job(world)
        msgs = await settle(world)
    assert len(msgs) >= 2  # more than one message of Discord's limits
    embeds = [e for m in msgs for e in m.embeds]
    assert embeds[0]["title"] == "90 new games in the family library"
    for m in msgs:
        assert len(m.embeds) <= 10 and sum(embed_length(e) for e in m.embeds) <= 6000
        assert all(len(e["description"]) <= 4096 for e in m.embeds)
    text = "\n".join(e["description"] for e in embeds)
    for i in range(90):  # every game named, once
        assert text.count(f"/app/{NEW_APPID + i}/") == 1
    assert "more" not in text


async def test_an_app_that_becomes_shareable_is_announced_once(start_world) -> None:
    world = await start_world(features=["new_games"])
    fam = world.sandbox.family
    with trio.fail_after(30):
        await run_job(world)
        # a pre-order before release day: in the library, not shareable yet (any reason != 0)
        world.sandbox.add_library_app(NEW_APPID, members(world)[2].steamid,
                                      name="Release Day Game", exclude_reason=2)
        await run_job(world)
        assert await settle(world) == []
        lib = fam.library[F.AppId(NEW_APPID)]
        fam.library[F.AppId(NEW_APPID)] = dataclasses.replace(lib, exclude_reason=0)
        await run_job(world)
        msgs = await settle(world)
        assert len(msgs) == 1 and msgs[0].embeds[0]["title"] == "Release Day Game"
        await run_job(world)  # still shareable: nothing new
        fam.library[F.AppId(NEW_APPID)] = dataclasses.replace(lib, exclude_reason=2)
        await run_job(world)
        fam.library[F.AppId(NEW_APPID)] = dataclasses.replace(lib, exclude_reason=0)
        await run_job(world)  # shareable "again": announced once means once
        assert len(await settle(world)) == 1


async def test_new_games_names_an_app_from_the_library_when_the_store_cannot(start_world
                                                                          ) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        world.sandbox.add_library_app(NEW_APPID, members(world)[1].steamid,
                                      name="Only The Library Knows")
        await run_job(world)
        await settle(world)
        await world.app.store.cache.purge(world.app.now() + dt.timedelta(days=400))
        world.sandbox.fail_next("steam_webapi.GetItems", "403", 5)
        handle = await world.discord.send_interaction("new_games", {"count": 3},
                                                      user_id=DISCORD_IDS[1], channel_id=CH)
        reply = await handle.wait_response()
    description = reply.embeds[0]["description"]
    assert "Only The Library Knows" in description
    assert f"App {NEW_APPID}" not in description


async def test_a_catalog_outage_announces_with_the_library_name_and_no_price(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        world.sandbox.add_library_app(NEW_APPID, members(world)[1].steamid, name="Quiet Store Day")
        world.sandbox.fail_next("steam_webapi.GetItems", "403", 5)
        await run_job(world)
        msgs = await settle(world)
    assert len(msgs) == 1
    embed = msgs[0].embeds[0]
    assert embed["title"] == "Quiet Store Day"  # the name GetSharedLibraryApps gave
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Price now"] == "unknown" and fields["Historical low"] == "unknown"


async def test_a_renewed_token_ends_the_warning(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        await run_job(world)
        world.sandbox.expire_access_token()
        assert not (await world.app.scheduler.run_now(new_games.JOB)).ok
        await world.app.tokens.set(world.sandbox.issue_access_token())
        handle = await world.discord.send_interaction("new_games", user_id=DISCORD_IDS[1],
                                                      channel_id=CH)
        reply = await handle.wait_response()
    assert "token" not in (reply.content or "")
    assert len(reply.embeds[0]["description"].split("\n")) == new_games.DEFAULT_COUNT
