"""/stats against figures computed here, independently, from the sandbox family's own data."""

from __future__ import annotations

import collections

import trio

from familybot_trio.sandbox._family import (APP_TYPE_GAME, EXCLUDE_FREE_GAME, MEMBER_STEAMIDS,
                                            PERSONAS)
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS


def expected(fam) -> dict:
    """What /stats must say, from the sandbox's records (not through the bot's code)."""
    games = [lib for lib in fam.library.values()
             if fam.apps[lib.appid].app_type == APP_TYPE_GAME and lib.exclude_reason == 0]
    value = sum(fam.prices[g.appid].final_cents for g in games if not fam.prices[g.appid].is_free)
    brought = collections.Counter(g.owners[0] for g in games if len(g.owners) == 1)
    cats = collections.Counter(c for g in games for c in fam.apps[g.appid].categories if c != 62)
    wishers = collections.Counter(a for items in fam.wishlists.values() for a in items)
    not_owned = sorted(((a, n) for a, n in wishers.items() if a not in fam.library),
                       key=lambda p: (-p[1], p[0]))[:5]
    # What GetSharedLibraryApps shows the bot (include_own, include_excluded; the access token
    # is the first member's): games only, and free games (reason 3) only when the caller owns one.
    library = [lib for lib in fam.library.values()
               if fam.apps[lib.appid].app_type == APP_TYPE_GAME
               and (lib.exclude_reason != EXCLUDE_FREE_GAME or MEMBER_STEAMIDS[0] in lib.owners)]
    return {"library": len(library), "shareable": len(games),
            "several": sum(1 for g in games if len(g.owners) >= 2), "value_cents": value,
            "brought": brought, "top_category_count": max(cats.values()),
            "wished": not_owned}


async def test_stats_match_the_sandbox_family(start_world) -> None:
    world = await start_world(features=["new_games", "wishlist", "stats"])
    for job in ("new_games", "wishlist"):
        assert (await world.app.scheduler.run_now(job)).ok
    want = expected(world.sandbox.family)
    with trio.fail_after(60):
        handle = await world.discord.send_interaction("stats", {}, user_id=DISCORD_IDS[1],
                                                      channel_id=CHANNELS["new_games"])
        reply = await handle.wait_response()
    assert len(reply.embeds) == 1
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Library"] == f"{want['library']} games"
    assert fields["Shareable games"] == str(want["shareable"])
    assert fields["Several copies"] == str(want["several"])
    assert fields["Value at today's prices"].startswith(f"${want['value_cents'] / 100:,.2f} ")
    for sid, name in zip(MEMBER_STEAMIDS, PERSONAS, strict=True):
        assert f"{name}: {want['brought'].get(sid, 0)}" in fields["Games only they brought"]
    top = fields["Top categories"].splitlines()[0]
    assert top.endswith(f": {want['top_category_count']}")
    wished_lines = fields["Most wished, not owned"].splitlines()
    assert len(wished_lines) == len(want["wished"])
    for line, (appid, n) in zip(wished_lines, want["wished"], strict=True):
        assert f"/app/{appid}/" in line and line.endswith(f"{n} wish{'' if n == 1 else 'es'}")


async def test_stats_on_a_fresh_database_reads_the_library_first(start_world) -> None:
    world = await start_world(features=["new_games", "stats"])
    with trio.fail_after(60):
        handle = await world.discord.send_interaction("stats", {}, user_id=DISCORD_IDS[1],
                                                      channel_id=CHANNELS["new_games"])
        reply = await handle.wait_response()
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Library"] == f"{expected(world.sandbox.family)['library']} games"
