"""/notify and personal alerts by DM, through FakeDiscord and the sandbox."""

from __future__ import annotations

import datetime as dt

import trio

from familybot_trio.sandbox._family import MEMBER_STEAMIDS
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS

FEATURES = ["new_games", "wishlist", "notify"]
MEMBER = 1  # the second sandbox member (linked: DISCORD_IDS[1])
UNLINKED = 4  # the fifth member has no Discord id in the sandbox config


def dm_of(index: int) -> int:
    return DISCORD_IDS[index] + 1  # FakeDiscord's DM channel id for a user


async def _notify(world, options: dict, *, user: int = DISCORD_IDS[MEMBER]):
    with trio.fail_after(30):
        handle = await world.discord.send_interaction("notify", options, user_id=user,
                                                      channel_id=CHANNELS["deals"])
        return await handle.wait_response()


def _fields(reply) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}


def _wished_unowned(world, index: int = MEMBER) -> int:
    """A game on the member's wishlist that the family does not own and that has a price."""
    fam = world.sandbox.family
    return min(a for a in fam.wishlists[MEMBER_STEAMIDS[index]]
               if a not in fam.library and not fam.prices[a].is_free
               and fam.prices[a].discount_pct == 0)


def _dms_about(world, appid: int, index: int = MEMBER) -> list:
    return [m for m in world.discord.messages(dm_of(index))
            if any(f"/app/{appid}/" in (e.get("url") or "") for e in m.embeds)]


async def _run(world, *jobs: str) -> None:
    for job in jobs:
        assert (await world.app.scheduler.run_now(job)).ok, job
    await world.app.flush_outbox()


async def test_notify_changes_only_your_own_settings_and_shows_them(start_world) -> None:
    world = await start_world(features=FEATURES)
    reply = await _notify(world, {})
    assert reply.is_ephemeral and _fields(reply)["Wished game on sale"] == "off"  # default off
    reply = await _notify(world, {"discount": 50, "lowest": True, "quiet": "22:00-07:00",
                                  "timezone": "Europe/Berlin"})
    fields = _fields(reply)
    assert fields["Wished game on sale"] == "at least 50 % off"
    assert fields["At its historical low"] == "on"
    assert fields["Quiet hours"] == "22:00-07:00 (Europe/Berlin)"
    mine = await world.app.store.alerts.get(MEMBER_STEAMIDS[MEMBER])
    assert mine.discount_pct == 50 and mine.at_low and mine.quiet_start == 22 * 60
    for other in (0, 2, 3):  # nobody else's row was touched
        theirs = await world.app.store.alerts.get(MEMBER_STEAMIDS[other])
        assert not theirs.any_on and theirs.quiet_start is None
    # bad input says what is wrong and changes nothing
    reply = await _notify(world, {"quiet": "25:00-07:00"})
    assert "quiet" in reply.content and "23" in reply.content
    reply = await _notify(world, {"timezone": "Mars/Olympus"})
    assert "IANA" in reply.content
    assert (await world.app.store.alerts.get(MEMBER_STEAMIDS[MEMBER])).timezone == "Europe/Berlin"


async def test_a_user_without_a_linked_member_gets_no_settings(start_world) -> None:
    world = await start_world(features=FEATURES)
    reply = await _notify(world, {"discount": 10}, user=900_000_000_000_000_777)
    assert reply.is_ephemeral and "/link" in reply.content
    assert await world.app.store.alerts.all() == []


async def test_a_deal_alert_is_sent_exactly_once_across_a_restart(start_world) -> None:
    world = await start_world(features=FEATURES)
    appid = _wished_unowned(world)
    small = sorted(a for a in world.sandbox.family.wishlists[MEMBER_STEAMIDS[MEMBER]]
                   if a not in world.sandbox.family.library and a != appid
                   and not world.sandbox.family.prices[a].is_free
                   and world.sandbox.family.prices[a].discount_pct == 0)[0]
    await _notify(world, {"discount": 50})
    world.sandbox.start_sale(appid, 60)
    world.sandbox.start_sale(small, 20)  # below the member's 50 %: never an alert
    await _run(world, "new_games", "wishlist", "personal_alerts")
    assert len(_dms_about(world, appid)) == 1
    assert _dms_about(world, small) == []
    assert "-60" in _dms_about(world, appid)[0].embeds[0]["title"]
    await _run(world, "personal_alerts")  # the next run: nothing new
    await world.stop_app()
    async with trio.open_nursery() as nursery:  # a restart on the same database
        await world.start_app(nursery, world.new_app())
        await _run(world, "wishlist", "personal_alerts")
        assert len(_dms_about(world, appid)) == 1
        await world.stop_app()


async def test_the_first_library_snapshot_is_no_news(start_world) -> None:
    world = await start_world(features=FEATURES)
    fam = world.sandbox.family
    wished_owned = [a for a in fam.wishlists[MEMBER_STEAMIDS[MEMBER]]
                    if a in fam.library and MEMBER_STEAMIDS[MEMBER] not in fam.library[a].owners]
    assert wished_owned  # the sandbox member wishes for games the family already has
    await _notify(world, {"library": True})  # on before the bot ever read the library
    await _run(world, "new_games", "wishlist", "personal_alerts")
    assert world.discord.messages(dm_of(MEMBER)) == []


async def test_a_wished_game_joining_the_library_alerts_the_member(start_world) -> None:
    clock = [dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)]
    world = await start_world(features=FEATURES, now=lambda: clock[0])
    appid = _wished_unowned(world)
    await _run(world, "new_games", "wishlist")  # the library's first snapshot (the baseline)
    clock[0] += dt.timedelta(minutes=5)
    await _notify(world, {"library": True})
    clock[0] += dt.timedelta(hours=1)
    world.sandbox.add_library_app(appid, MEMBER_STEAMIDS[0])  # someone else buys it
    await _run(world, "new_games", "personal_alerts")
    dms = _dms_about(world, appid)
    assert len(dms) == 1 and "in the family library now" in dms[0].embeds[0]["title"]
    assert _dms_about(world, appid, index=2) == []  # nobody who did not ask hears of it


async def test_quiet_hours_hold_an_alert_until_they_end(start_world) -> None:
    clock = [dt.datetime(2026, 12, 1, 23, 30, tzinfo=dt.UTC)]
    world = await start_world(features=FEATURES, now=lambda: clock[0])
    appid = _wished_unowned(world)
    await _notify(world, {"discount": 50, "quiet": "22:00-07:00", "timezone": "UTC"})
    world.sandbox.start_sale(appid, 75)
    await _run(world, "new_games", "wishlist", "personal_alerts")
    assert _dms_about(world, appid) == []  # queued, waiting
    pending = await world.app.store.outbox.rows("pending")
    assert [r.kind for r in pending].count("personal_alert") >= 1
    clock[0] = dt.datetime(2026, 12, 2, 7, 1, tzinfo=dt.UTC)  # the quiet hours are over
    await world.app.flush_outbox()
    assert len(_dms_about(world, appid)) == 1


async def test_closed_dms_pause_the_alerts_and_the_member_is_told_once(start_world) -> None:
    world = await start_world(features=FEATURES)
    appid = _wished_unowned(world)
    await _notify(world, {"discount": 50})
    world.sandbox.start_sale(appid, 60)
    world.discord.fail_next("POST", f"/channels/{dm_of(MEMBER)}/messages", 403, times=50,
                            body={"code": 50007, "message": "Cannot send messages to this user"})
    await _run(world, "new_games", "wishlist", "personal_alerts")
    await world.app.flush_outbox()
    notices = [m for m in world.discord.messages(CHANNELS["deals"])
               if m.content and "DMs are closed" in m.content]
    assert len(notices) == 1 and f"<@{DISCORD_IDS[MEMBER]}>" in notices[0].content
    assert (await world.app.store.alerts.get(MEMBER_STEAMIDS[MEMBER])).paused
    await _run(world, "personal_alerts")  # paused: nothing queued, no second notice
    assert len([m for m in world.discord.messages(CHANNELS["deals"])
                if m.content and "DMs are closed" in m.content]) == 1
    world.discord.rest.clear_faults()
    reply = await _notify(world, {})  # running /notify again resumes them
    assert "Paused" not in reply.embeds[0]["footer"]["text"]
    assert not (await world.app.store.alerts.get(MEMBER_STEAMIDS[MEMBER])).paused
