"""Free-game links: only real store links go out, and each giveaway is one identity.

Issue 14: a r/FreeGameFindings post tagged [Steam] linking to evil.example was announced;
a Steam link could smuggle a second masked link. Issue 13: the same GOG giveaway under two
URL forms was posted twice, and giveaways linked to a store's home page shared one key.
"""

from __future__ import annotations

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
