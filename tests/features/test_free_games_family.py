"""Free games, family-aware: owned ones marked (or left out), free weekends only on request."""

from __future__ import annotations

import trio

from familybot_trio.sandbox._family import MEMBER_STEAMIDS, PERSONAS
from familybot_trio.sandbox.world import CHANNELS
from tests.features.test_free_games import listing

FREE = CHANNELS["free_games"]
OWNED_APPID = 413150  # Stardew Valley, in the sandbox family library
POSTS = (("[Steam] (Game) Stardew Valley", f"https://store.steampowered.com/app/{OWNED_APPID}/"),
         ("[Steam] (Game) AtmaSphere", "https://store.steampowered.com/app/753660/AtmaSphere/"),
         ("[Steam] (Free Weekend) Weekend Warriors",
          "https://store.steampowered.com/app/999777/Weekend_Warriors/"))


def _embeds(world) -> dict[str, dict]:
    return {e.get("title", ""): e for m in world.discord.messages(FREE) for e in m.embeds}


async def _posted(start_world, extra_config: str = "") -> tuple[object, dict[str, dict]]:
    """Start a world with POSTS in the Reddit feed, run the jobs; (world, title -> embed)."""
    world = await start_world(features=["new_games", "free_games"], extra_config=extra_config)
    world.sandbox.feeds.reddit_json = listing(*POSTS)
    with trio.fail_after(30):
        for job in ("new_games", "free_games"):
            outcome = await world.app.scheduler.run_now(job)
            assert outcome.ok, (job, outcome.error)
        await world.app.flush_outbox()
    return world, _embeds(world)


async def test_an_owned_free_game_is_marked_and_a_free_weekend_is_not_posted(start_world
                                                                              ) -> None:
    world, posted = await _posted(start_world)
    owners = sorted(PERSONAS[MEMBER_STEAMIDS.index(s)]
                    for s in world.sandbox.family.library[OWNED_APPID].owners)
    owned = posted["Free: Stardew Valley"]["description"]
    assert "The family already owns it on Steam" in owned
    assert all(name in owned for name in owners)
    assert "already owns" not in posted["Free: AtmaSphere"]["description"]
    assert not any("Weekend Warriors" in t for t in posted)  # free weekends are off by default


async def test_skip_owned_leaves_owned_games_out(start_world) -> None:
    _, posted = await _posted(start_world, "[free_games]\nskip_owned = true\n")
    assert "Free: AtmaSphere" in posted
    assert not any("Stardew" in t for t in posted)


async def test_free_weekends_when_asked_are_labelled_not_to_keep(start_world) -> None:
    _, posted = await _posted(start_world, "[free_games]\nfree_weekends = true\n")
    weekend = posted["Free weekend: Weekend Warriors"]
    assert "not yours to keep" in weekend["description"]
    assert "Free to keep" not in weekend["description"]
    assert "Free: AtmaSphere" in posted  # keep-forever giveaways still say so
    assert "Free to keep" in posted["Free: AtmaSphere"]["description"]
