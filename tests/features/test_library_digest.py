"""The daily library digest: a removal, an extra copy and an exclusion arrive in ONE message."""

from __future__ import annotations

import trio

from familybot_trio.sandbox._family import APP_TYPE_GAME, EXCLUDE_BY_PARTNER, MEMBER_STEAMIDS
from familybot_trio.sandbox.world import CHANNELS

CHANNEL = CHANNELS["new_games"]


def _pick(fam, n: int, *, shareable: bool = True) -> list:
    """n shareable games of the sandbox library, each with a single owner."""
    return sorted(a for a, lib in fam.library.items()
                  if fam.apps[a].app_type == APP_TYPE_GAME and len(lib.owners) == 1
                  and (lib.exclude_reason == 0) == shareable)[:n]


async def _digests(world) -> list:
    await world.app.flush_outbox()
    return [m for m in world.discord.messages(CHANNEL)
            if any(e.get("title") == "Family library changes" for e in m.embeds)]


async def test_removal_extra_copy_and_exclusion_arrive_in_one_digest(start_world) -> None:
    world = await start_world(features=["new_games", "library_digest"])
    sb, app = world.sandbox, world.app
    assert (await app.scheduler.run_now("new_games")).ok  # the baseline
    gone, copied, excluded = _pick(sb.family, 3)
    second_owner = next(s for s in MEMBER_STEAMIDS if s not in sb.family.library[copied].owners)
    sb.remove_library_app(gone)
    sb.add_library_app(copied, second_owner)
    sb.set_exclude_reason(excluded, EXCLUDE_BY_PARTNER)
    assert (await app.scheduler.run_now("new_games")).ok
    with trio.fail_after(30):
        assert (await app.scheduler.run_now("library_digest")).ok
        digests = await _digests(world)
    assert len(digests) == 1  # one digest, not one message per event
    text = "\n".join(e.get("description", "") for e in digests[0].embeds)
    sections = text.split("**")
    assert "Left the family library" in sections and "Extra copies" in sections \
        and "No longer shared" in sections
    assert f"/app/{gone}/" in text.split("**Extra copies**")[0]
    extra = text.split("**Extra copies**")[1].split("**No longer shared**")[0]
    assert f"/app/{copied}/" in extra and "(2 copies now)" in extra
    assert f"/app/{excluded}/" in text.split("**No longer shared**")[1]
    assert "publisher" in text.split("**No longer shared**")[1]
    assert "3 changes" in digests[0].embeds[-1]["footer"]["text"]
    # Nothing new: the next run posts nothing, and the events are never posted twice.
    assert (await app.scheduler.run_now("library_digest")).ok
    assert len(await _digests(world)) == 1


async def test_the_digest_waits_a_day_and_each_event_is_in_exactly_one(start_world) -> None:
    world = await start_world(features=["new_games", "library_digest"])
    sb, app = world.sandbox, world.app
    assert (await app.scheduler.run_now("new_games")).ok
    first, second = _pick(sb.family, 2)
    sb.remove_library_app(first)
    assert (await app.scheduler.run_now("new_games")).ok
    assert (await app.scheduler.run_now("library_digest")).ok
    sb.remove_library_app(second)
    assert (await app.scheduler.run_now("new_games")).ok
    assert (await app.scheduler.run_now("library_digest")).ok  # less than a day later
    digests = await _digests(world)
    assert len(digests) == 1
    assert f"/app/{second}/" not in digests[0].embeds[0]["description"]
    # a restart (new App, same database) does not make it post early either
    await world.stop_app()
    async with trio.open_nursery() as nursery:
        await world.start_app(nursery, world.new_app())
        assert (await world.app.scheduler.run_now("library_digest")).ok
        assert len(await _digests(world)) == 1
        await world.stop_app()


async def test_the_first_snapshot_records_no_events_and_digest_false_posts_nothing(
        start_world) -> None:
    world = await start_world(features=["new_games", "library_digest"],
                              extra_config="[new_games]\ndigest = false\n")
    sb, app = world.sandbox, world.app
    assert (await app.scheduler.run_now("new_games")).ok
    assert await app.store.library_events.pending() == []  # the baseline is no change
    sb.remove_library_app(_pick(sb.family, 1)[0])
    assert (await app.scheduler.run_now("new_games")).ok
    assert [e.kind for e in await app.store.library_events.pending()] == ["removed"]
    assert (await app.scheduler.run_now("library_digest")).ok
    assert await _digests(world) == []
