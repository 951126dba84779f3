"""Free games end to end: the real bot against the sandbox's Epic and Reddit feeds."""

from __future__ import annotations

import json
import time

import trio

from familybot_trio.sandbox import Fault
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS

FREE = CHANNELS["free_games"]
#: What the sandbox's Epic feed has free now (see tests/upstream/test_epic_elements.py).
EPIC_FREE = ("Free: Deliver Us Mars", "Free: Destiny 2: Legacy Collection",
             "Free: Fallout: New Vegas - Ultimate Edition")


def titles(world) -> list[str]:
    return [e.get("title", "") for m in world.discord.messages(FREE) for e in m.embeds]


def listing(*posts: tuple[str, str], age_s: float = 3600) -> bytes:
    """A r/FreeGameFindings Listing of fresh posts: (title, outbound url) each."""
    now = time.time()
    children = [{"kind": "t3", "data": {
        "id": f"p{i}", "title": title, "url": url, "permalink": f"/r/FreeGameFindings/p{i}/",
        "created_utc": now - age_s - i, "link_flair_text": None, "stickied": False}}
        for i, (title, url) in enumerate(posts)]
    return json.dumps({"kind": "Listing", "data": {"children": children}}).encode()


async def run_job(world) -> None:
    outcome = await world.app.scheduler.run_now("free_games")
    assert outcome.ok, outcome.error
    await world.app.flush_outbox()


async def test_job_announces_epic_and_reddit_freebies_once(start_world) -> None:
    world = await start_world(features=["free_games"])
    with trio.fail_after(20):
        await run_job(world)
        first = titles(world)
        # Epic, free now: the week's game and two revealed vault games (real product slug,
        # active 0 % window; their VaultClosed images do not matter)
        assert set(EPIC_FREE) <= set(first)
        assert {"Free: AtmaSphere", "Free: Botanicula"} <= set(first)  # Reddit, fresh, PC
        for skipped in ("Mystery", "Jitsu Squad",
                        "Combat Force", "LostMagic", "Split Second", "Firestone"):
            assert not any(skipped in t for t in first), (skipped, first)
        assert len(first) == len(set(first)) == 5
        epic = next(e for m in world.discord.messages(FREE) for e in m.embeds
                    if e["title"] == "Free: Deliver Us Mars")
        assert epic["url"] == "https://store.epicgames.com/p/deliver-us-mars"
        assert "Usually" in epic["description"] and "<t:" in epic["description"]
        assert all(m.nonce for m in world.discord.messages(FREE))   # sent from the outbox
        await run_job(world)
        assert titles(world) == first
    stored = {k for k, *_ in await world.app.store.state.posted_free_games()}
    assert stored == {"epic:deliver-us-mars", "epic:destiny-2--legacy-collection-2023",
                      "epic:fallout-new-vegas--ultimate-edition", "steam:app/753660",
                      "epic:botanicula-50043d"}


async def test_no_repost_after_a_restart_on_the_same_database(start_world, nursery) -> None:
    world = await start_world(features=["free_games"])
    with trio.fail_after(30):
        await run_job(world)
        before = titles(world)
        await world.app.stop()
        await world.start_app(nursery, world.new_app())
        await run_job(world)
        assert titles(world) == before
        # a new giveaway after the restart is still announced
        world.sandbox.feeds.reddit_json = listing(
            ("[Steam] (Game) Portal", "https://store.steampowered.com/app/400/Portal/"))
        await run_job(world)
        assert titles(world) == before + ["Free: Portal"]


async def test_same_giveaway_from_epic_and_reddit_is_posted_once(start_world) -> None:
    world = await start_world(features=["free_games"])
    world.sandbox.feeds.reddit_json = listing(
        ("[Epic Games] (Game) Deliver Us Mars", "https://store.epicgames.com/p/deliver-us-mars"),
        ("[Steam] (Game) AtmaSphere", "https://store.steampowered.com/app/753660/AtmaSphere/"),
        ("[Steam] (Game) AtmaSphere (again)", "https://store.steampowered.com/app/753660"))
    with trio.fail_after(20):
        await run_job(world)
    got = titles(world)
    assert len(got) == 2 + 2 and set(EPIC_FREE) <= set(got)
    assert sum("AtmaSphere" in t for t in got) == 1      # two posts, one appid, one message
    mars = [m for m in world.discord.messages(FREE) if "Mars" in m.embeds[0]["title"]]
    assert mars[0].embeds[0]["footer"]["text"] == "Source: Epic Games Store"


async def test_reddit_filters_each_kind_of_non_game(start_world) -> None:
    world = await start_world(features=["free_games"])
    world.sandbox.feeds.reddit_json = listing(
        ("[Steam] (Game) Kept Game", "https://store.steampowered.com/app/10/"),
        ("[GOG] (Game) Kept Gog", "https://www.gog.com/en/game/kept_gog"),
        ("[Epic Games] (DLC) Kept F2P Pack", "https://store.epicgames.com/p/x-f2p-promo-bundle"),
        ("[Steam] (DLC) Paid Base Pack", "https://store.steampowered.com/app/11/"),
        ("[Steam] (Game) Raffle Thing", "https://gleam.io/abc/raffle-thing"),
        ("[Steam] (Game) Key Site", "https://givee.club/event/1"),
        ("[Steam] (Game) Monthly Raffle", "https://store.steampowered.com/app/12/"),
        ("[Xbox] (Game) Console Game", "https://www.xbox.com/game"),
        ("[PSA] Prime Gaming this month", "https://gaming.amazon.com/"),
        ("[Steam] (Game) Gone Now (Expired)", "https://store.steampowered.com/app/13/"),
        ("[Epic Games] (Other) Skin Pack", "https://store.epicgames.com/p/skin"))
    with trio.fail_after(20):
        await run_job(world)
    assert sorted(titles(world)) == sorted([*EPIC_FREE, "Free: Kept F2P Pack",
                                            "Free: Kept Game", "Free: Kept Gog"])


async def test_a_failing_source_does_not_block_the_other(start_world) -> None:
    world = await start_world(features=["free_games"])
    world.sandbox.fail_next("epic", Fault.FORBIDDEN, n=2)
    with trio.fail_after(20):
        outcome = await world.app.scheduler.run_now("free_games")
        await world.app.flush_outbox()
        assert not outcome.ok and "epic" in outcome.error
        assert sorted(titles(world)) == ["Free: AtmaSphere", "Free: Botanicula"]
        handle = await world.discord.send_interaction("free", user_id=DISCORD_IDS[2],
                                                      channel_id=FREE)
        reply = await handle.wait_response()
    text = json.dumps(reply.embeds)
    assert "epic did not answer" in text and "AtmaSphere" in text


async def test_free_command_lists_free_now_and_upcoming(start_world) -> None:
    world = await start_world(features=["free_games"])
    with trio.fail_after(20):
        handle = await world.discord.send_interaction("free", user_id=DISCORD_IDS[1],
                                                      channel_id=FREE)
        reply = await handle.wait_response()
    now = reply.embeds[0]["description"]
    assert "[Deliver Us Mars](https://store.epicgames.com/p/deliver-us-mars)" in now
    assert "AtmaSphere" in now and "Bungie 30th" not in now
    upcoming = reply.embeds[1]["fields"][0]
    assert upcoming["name"] == "Upcoming on Epic"
    assert "Jitsu Squad" in upcoming["value"] and "Mighty Fight Federation" in upcoming["value"]
    assert "2 mystery games" in upcoming["value"]
    assert world.discord.messages(FREE) == [reply]       # /free announces nothing
    assert await world.app.store.state.posted_free_games() == []


async def test_free_as_a_prefix_command(start_world) -> None:
    world = await start_world(features=["free_games"])
    with trio.fail_after(20):
        await world.discord.send_message(FREE, "!free", author_id=DISCORD_IDS[3])
        msg = await world.discord.wait_for_message(FREE)
    assert "Deliver Us Mars" in msg.embeds[0]["description"]
