"""Big inputs through the bot's message builders: hundreds of games with long, hostile
names and several owners. Every request must be one Discord accepts (the start_world
fixture fails the test on any body FakeDiscord refused) and nothing may be dropped."""

from __future__ import annotations

import trio

from gateway.messages import embed_length
from tests.features.test_new_games import CH, NEW_APPID, members, run_job, settle


async def test_hundreds_of_long_named_games_with_many_owners(start_world) -> None:
    world = await start_world(features=["new_games"])
    owners = members(world)
    names = [f"*Deluxe* <@&1> Edition `{i:03d}` " + "Ω" * 200 for i in range(300)]
    with trio.fail_after(120):
        await run_job(world)
        for i, name in enumerate(names):
            for owner in owners[: 1 + i % len(owners)]:
                world.sandbox.add_library_app(NEW_APPID + i, owner.steamid, name=name)
        await run_job(world)
        msgs = await settle(world)
    assert len(msgs) >= 2
    for m in msgs:
        assert len(m.embeds) <= 10 and sum(embed_length(e) for e in m.embeds) <= 6000
    text = "\n".join(str(e) for m in msgs for e in m.embeds)
    assert all(f"`{i:03d}`" in text or f"\\\\`{i:03d}\\\\`" in text for i in range(300))
