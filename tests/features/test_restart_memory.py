"""A bot restarted in the same process lets the stopped App go (familybot_trio/_gc_freeze.py).

App.run freezes the start-up heap so full collections skip it. A frozen object is never
collected, so the freeze must not take in garbage: a stopped App is a graph of cycles (its
clients, store, scheduler, caches) waiting for the collector, and the next App's freeze
kept it alive for as long as any App ran. The 30-day soak restarts in-process ~50 times.
"""

from __future__ import annotations

import gc
import weakref

import trio


async def test_a_restarted_bot_does_not_keep_the_stopped_app_alive(start_world, nursery) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(30):
        first = weakref.ref(world.app)
        await world.stop_app()
        await world.start_app(nursery, world.new_app())
    # Only the freeze decides here: no collection between the start and this check.
    assert first() is None, (
        f"the stopped App is still alive after a restart ({gc.get_freeze_count()} objects "
        "frozen: a freeze that took in garbage keeps it)")
    assert world.app is not None and world.app.ready is not None


async def test_two_restarts_keep_one_app(start_world, nursery) -> None:
    """Three Apps in a row on one data directory: only the running one is alive."""
    world = await start_world(features=["new_games"])
    stopped = []
    with trio.fail_after(60):
        for _ in range(2):
            stopped.append(weakref.ref(world.app))
            await world.stop_app()
            await world.start_app(nursery, world.new_app())
    assert [ref() is None for ref in stopped] == [True, True]
