"""Free-game links: only real store links go out, and each giveaway is one identity.

Issue 14: a r/FreeGameFindings post tagged [Steam] linking to evil.example was announced;
a Steam link could smuggle a second masked link. Issue 13: the same GOG giveaway under two
URL forms was posted twice, and giveaways linked to a store's home page shared one key.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import trio

from familybot_trio.features import free_games
from familybot_trio.sandbox.world import DISCORD_IDS
from tests.features.test_free_games import EPIC_FREE, FREE, listing, run_job, titles

PHISHING = ("[Steam] (Game) Cyberpunk 2077", "https://evil.example/steam-free-cyberpunk")
SMUGGLED = ("[Steam] (Game) Portal",
            "https://store.steampowered.com/app/620/x)[Claim it here](https://evil.example/login")


async def free_reply(world) -> str:
    handle = await world.discord.send_interaction("free", user_id=DISCORD_IDS[1], channel_id=FREE)
    return json.dumps((await handle.wait_response()).embeds)


def posted(world) -> str:
    return json.dumps([m.embeds for m in world.discord.messages(FREE)])


async def test_a_phishing_post_is_dropped_counted_and_logged(start_world, caplog) -> None:
    caplog.set_level(logging.INFO, logger="familybot_trio.features.free_games")
    world = await start_world(features=["free_games"])
    world.sandbox.feeds.reddit_json = listing(
        PHISHING, ("[Steam] (Game) AtmaSphere", "https://store.steampowered.com/app/753660/"))
    with trio.fail_after(30):
        await run_job(world)
        assert sorted(titles(world)) == sorted([*EPIC_FREE, "Free: AtmaSphere"])
        found = await free_games.collect(world.app)
        reply = await free_reply(world)
    for text in (posted(world), reply):
        assert "Cyberpunk" not in text and "evil.example" not in text
    assert found.off_store == 1
    drops = [r for r in caplog.records if "not on the store its tag names" in r.getMessage()]
    assert drops and all(r.levelno == logging.INFO for r in drops)
    assert "evil.example" in drops[0].getMessage()       # the admin sees where it pointed


async def test_a_smuggled_second_link_is_not_rendered(start_world) -> None:
    world = await start_world(features=["free_games"])
    world.sandbox.feeds.reddit_json = listing(SMUGGLED)
    with trio.fail_after(30):
        await run_job(world)
        reply = await free_reply(world)
    portal = next(e for m in world.discord.messages(FREE) for e in m.embeds
                  if e["title"] == "Free: Portal")
    assert portal["url"] == "https://store.steampowered.com/app/620/"
    for text in (posted(world), reply):
        assert "Claim it here" not in text and "evil.example" not in text
    assert "[Portal](https://store.steampowered.com/app/620/) on Steam" in reply
    assert reply.count("](") == len(EPIC_FREE) + 1 + 2    # one per line: free now + upcoming


async def test_one_gog_giveaway_under_two_url_forms_is_posted_once(start_world) -> None:
    world = await start_world(features=["free_games"])
    world.sandbox.feeds.reddit_json = listing(
        ("[GOG] (Game) Metro 2033 Redux", "https://www.gog.com/en/game/metro_2033_redux"),
        ("[GOG] (Game) Metro 2033 Redux", "https://gog.com/game/metro_2033_redux/?utm_source=x"))
    with trio.fail_after(30):
        await run_job(world)
    assert titles(world).count("Free: Metro 2033 Redux") == 1
    keys = {k for k, *_ in await world.app.store.state.posted_free_games(limit=50)}
    assert "gog:game/metro_2033_redux" in keys


async def test_giveaways_linked_to_a_home_page_are_told_apart_by_title(start_world) -> None:
    world = await start_world(features=["free_games"])
    world.sandbox.feeds.reddit_json = listing(
        ("[GOG] (Game) Ghost Master", "https://www.gog.com/"),
        ("[GOG] (Game) Dark Reign", "https://www.gog.com/en/"),
        ("[GOG] (Game) Dark Reign", "https://www.gog.com/?utm_campaign=giveaway"),
        ("[Prime Gaming] (Game) Fallout 76", "https://gaming.amazon.com/home"),
        ("[Prime Gaming] (Game) Star Wars Republic Commando", "https://gaming.amazon.com/home"))
    with trio.fail_after(30):
        await run_job(world)
    got = [t for t in titles(world) if t not in EPIC_FREE]
    assert sorted(got) == ["Free: Dark Reign", "Free: Fallout 76", "Free: Ghost Master",
                           "Free: Star Wars Republic Commando"]
    keys = {k for k, *_ in await world.app.store.state.posted_free_games(limit=50)}
    assert {"title:gog:ghost master", "title:gog:dark reign"} <= keys
    assert not any(k.startswith("url:") for k in keys)      # a home page is never a key


async def test_a_game_given_away_again_is_announced_after_repeat_after_days(start_world) -> None:
    shift_s = [0.0]
    world = await start_world(
        features=["free_games"], extra_config="[free_games]\nrepeat_after_days = 30\n",
        now=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=shift_s[0]))
    assert world.config.thresholds.free_games_repeat_after_days == 30
    portal = ("[Steam] (Game) Portal", "https://store.steampowered.com/app/400/Portal/")
    with trio.fail_after(60):
        world.sandbox.feeds.reddit_json = listing(portal)
        await run_job(world)
        assert titles(world).count("Free: Portal") == 1
        for days, expected in ((29, 1), (31, 2), (32, 2)):  # again only 30 days after a post
            shift_s[0] = days * 86400.0
            world.sandbox.feeds.reddit_json = listing(portal, age_s=3600 - shift_s[0])
            await run_job(world)
            assert titles(world).count("Free: Portal") == expected, days
    last = await world.app.store.state.free_games_posted_at(["steam:app/400"])
    assert (last["steam:app/400"] - world.app.now()) > dt.timedelta(days=-2)  # the day-31 post
