"""A fetch the guard keeps aside is reported to the admins once per streak, and an admin can
accept the next answer as real (/admin_accept, `familybot-trio accept`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time

import trio

from familybot_trio import kept_aside
from familybot_trio.kept_aside import report_kept_aside
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from gateway.errors import Forbidden, ServerError
from tests._cli_helpers import run_cli

ADMIN_CH, ADMIN = CHANNELS["admin_reports"], DISCORD_IDS[0]
CHAN = 1_200_000_000_000_000_001


def reports(world) -> list[str]:
    return [m.content for m in world.discord.messages(ADMIN_CH) if "looks wrong" in m.content]


async def wait_reports(world, count: int) -> list[str]:
    """The reports once `count` arrived (the report follows the job's outcome)."""
    while len(reports(world)) < count:
        await world.discord.wait_for_message(ADMIN_CH)
        await trio.sleep(0.01)
    return reports(world)


def ticking_now():
    """A bot clock that steps one second per reading, from now: each fetch and anomaly
    gets its own time (as hours apart in real life; starts_streak compares seconds)."""
    ticks = itertools.count(int(time.time()))
    return lambda: dt.datetime.fromtimestamp(next(ticks), dt.UTC)


async def wishlist_run(world) -> None:
    outcome = await world.app.scheduler.run_now("wishlist")
    assert outcome.ok, outcome.error


async def test_an_emptied_wishlist_is_reported_once_per_streak_and_accepted(start_world
                                                                            ) -> None:
    world = await start_world(features=["wishlist", "admin_outbox"])
    member = world.sandbox.family.members[1]
    with trio.fail_after(60):
        await wishlist_run(world)
        before = await world.app.store.wishlist.items(member.steamid)
        assert len(before) >= 5
        world.sandbox.clear_wishlist(member.steamid)  # they really emptied it
        await wishlist_run(world)
        await wait_reports(world, 1)
        await wishlist_run(world)  # the same streak: no second report
        (report,) = reports(world)
        assert f"{member.persona}'s wishlist" in report and "came back empty" in report
        assert f"kept the {len(before)} cached rows" in report
        assert f"/admin_accept what:wishlist member:{member.persona}" in report
        assert len(await world.app.store.wishlist.items(member.steamid)) == len(before)

        handle = await world.discord.send_interaction(
            "admin_accept", {"what": "wishlist", "member": member.persona}, user_id=ADMIN,
            channel_id=CHAN)
        reply = await handle.wait_response()
        assert reply.is_ephemeral and f"wishlist of {member.persona}" in reply.content
        await wishlist_run(world)
        assert await world.app.store.wishlist.items(member.steamid) == []

        # A new streak (a refilled wishlist that empties again) is reported again.
        for appid in [i.appid for i in before]:
            world.sandbox.add_to_wishlist(member.steamid, appid)
        await wishlist_run(world)
        world.sandbox.clear_wishlist(member.steamid)
        await wishlist_run(world)
        assert len(await wait_reports(world, 2)) == 2


async def test_cli_accept_stores_the_next_library_answer(start_world) -> None:
    world = await start_world(features=["new_games"])
    with trio.fail_after(60):
        assert (await world.app.scheduler.run_now("new_games")).ok
        apps = sorted(world.sandbox.family.library)
        for appid in apps[: len(apps) * 2 // 3]:  # two thirds of the library leave at once
            world.sandbox.remove_library_app(appid)
        assert (await world.app.scheduler.run_now("new_games")).ok
        (report,) = await wait_reports(world, 1)
        assert "the family library" in report and "shrank from" in report
        kept = len(await world.app.store.library.apps())
        r = await run_cli(world, "accept", "library")
        assert r.code == 0 and "next library answer will be stored" in r.out
        assert (await world.app.scheduler.run_now("new_games")).ok
        assert len(await world.app.store.library.apps()) < kept
        r = await run_cli(world, "accept", "wishlist", "--member", "1")
        assert r.code == 2 and "not a family member" in r.err  # a wrong command line


async def test_cli_accept_member_takes_a_name_or_steamid_once_and_not_for_the_library(
        start_world) -> None:
    world = await start_world(features=["wishlist"])
    members = await world.app.store.members.all()
    one, two = members[0], members[1]
    with trio.fail_after(60):
        # a member's name (any letter case) or SteamID64; the same member twice is once
        r = await run_cli(world, "accept", "wishlist", "--member", one.name.upper(),
                          "--member", str(one.steamid), "--member", str(two.steamid))
        assert r.code == 0, r
        assert r.out.strip().endswith(f"[{one.steamid}, {two.steamid}]"), r.out
        # an unknown member: exit 2 (a wrong command line) naming the members one may give
        r = await run_cli(world, "accept", "owned", "--member", "123", "--member", one.name)
        assert r.code == 2 and "--member 123: not a family member" in r.err, r
        assert all(f"{m.name} ({m.steamid})" in r.err for m in members), r.err
        # the library is the family's: --member would be ignored, so it is refused
        r = await run_cli(world, "accept", "library", "--member", str(one.steamid))
        assert r.code == 2 and "library takes no --member" in r.err, r
        assert r.out == "", r.out


async def test_a_report_discord_refused_is_sent_by_a_later_run(start_world) -> None:
    """The admin channel answers 503 when the report is due (a Discord outage): the report
    is not lost, the next job run sends it, and only once. The bot's clock steps one second
    per reading, so each fetch and anomaly has its own time (as hours apart in real life)."""
    world = await start_world(features=["wishlist"], now=ticking_now())
    member = world.sandbox.family.members[2]
    rest = world.discord.rest
    with trio.fail_after(60):
        await wishlist_run(world)
        world.sandbox.clear_wishlist(member.steamid)
        rest.fail_next("POST", f"/channels/{ADMIN_CH}/messages", 503, times=10**6)
        await wishlist_run(world)
        while not any(q.status == 503 and q.method == "POST" for q in rest.requests):
            await trio.sleep(0.01)
        await trio.sleep(0.2)  # report_kept_aside finishes its pass after the refusal
        rest.clear_faults()
        assert reports(world) == []
        await wishlist_run(world)  # the same streak, Discord back
        with trio.move_on_after(5):
            await wait_reports(world, 1)
        (report,) = reports(world)
        assert f"{member.persona}'s wishlist" in report
        await wishlist_run(world)
        await trio.sleep(0.2)
        assert len(reports(world)) == 1


async def test_passes_that_overlap_send_one_report(start_world) -> None:
    """Jobs end concurrently and each runs a report pass: while Discord is slow to take the
    first pass's report, a second pass must not send it again."""
    world = await start_world(features=["wishlist"])
    app, member = world.app, world.sandbox.family.members[3]
    report_admin_to = app.report_admin_to

    async def slow_report_admin_to(text: str, skip=()):
        await trio.sleep(0.3)  # Discord slow to answer
        return await report_admin_to(text, skip)

    app.report_admin_to = slow_report_admin_to  # type: ignore[method-assign]
    with trio.fail_after(60):
        await wishlist_run(world)
        world.sandbox.clear_wishlist(member.steamid)
        await wishlist_run(world)
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(report_kept_aside, app)
        await wait_reports(world, 1)
        await trio.sleep(0.5)
    assert len(reports(world)) == 1


async def test_a_failed_fetch_does_not_hide_the_suspicious_answer_after_it(start_world
                                                                           ) -> None:
    """A private wishlist (a failed fetch: nothing to accept) is reported without the
    /admin_accept advice, and the emptied wishlist that follows is its own streak: reported
    with the advice, not swallowed by the failure's streak."""
    world = await start_world(features=["wishlist"], now=ticking_now())
    member = world.sandbox.family.members[1]
    family = world.sandbox.family
    with trio.fail_after(60):
        await wishlist_run(world)
        family.private_wishlist.add(member.steamid)
        await wishlist_run(world)
        while not [m for m in world.discord.messages(ADMIN_CH) if "not public" in m.content]:
            await world.discord.wait_for_message(ADMIN_CH)
        family.private_wishlist.discard(member.steamid)
        world.sandbox.clear_wishlist(member.steamid)  # answered again, but empty
        await wishlist_run(world)
        with trio.move_on_after(5):
            await wait_reports(world, 1)
    failure, suspicious = [m.content for m in world.discord.messages(ADMIN_CH)
                           if member.persona in m.content]
    assert "could not be used" in failure and "/admin_accept" not in failure
    assert "came back empty" in suspicious and "/admin_accept what:wishlist" in suspicious


def refuse_admin_channel(world):
    """The admin channel answers 503 to every post until rest.clear_faults() (an outage)."""
    rest = world.discord.rest
    rest.fail_next("POST", f"/channels/{ADMIN_CH}/messages", 503, times=10**6)
    return rest


async def test_one_streak_reported_late_is_reported_once(start_world) -> None:
    """Reports refused through a whole streak and the good fetch that ends it: the streak's
    start is reported once when Discord is back, not each anomaly of the ended streak (the
    streak start is decided when the anomaly is recorded, not at report time)."""
    world = await start_world(features=["wishlist"], now=ticking_now())
    member = world.sandbox.family.members[2]
    with trio.fail_after(120):
        await wishlist_run(world)
        before = [i.appid for i in await world.app.store.wishlist.items(member.steamid)]
        rest = refuse_admin_channel(world)
        world.sandbox.clear_wishlist(member.steamid)
        for _ in range(3):          # one streak: three suspicious answers in a row
            await wishlist_run(world)
            await trio.sleep(0.3)
        for appid in before:        # Steam answers right again: the streak is over
            world.sandbox.add_to_wishlist(member.steamid, appid)
        await wishlist_run(world)
        await trio.sleep(0.3)
        rest.clear_faults()
        await wishlist_run(world)
        with trio.move_on_after(5):
            await wait_reports(world, 2)
    got = [r for r in reports(world) if member.persona in r]
    assert len(got) == 1, got


async def test_a_streak_start_behind_a_batch_of_newer_anomalies_is_not_lost(
        start_world, monkeypatch) -> None:
    """A report refused while more than a batch of anomalies piles up after it is still sent
    (the pass reads oldest first after the last reported id, batch by batch). BATCH is 3
    here so the test runs a few jobs instead of 50."""
    monkeypatch.setattr(kept_aside, "BATCH", 3)
    world = await start_world(features=["wishlist"], now=ticking_now())
    member = world.sandbox.family.members[2]
    other = world.sandbox.family.members[1]
    with trio.fail_after(120):
        await wishlist_run(world)
        rest = refuse_admin_channel(world)
        world.sandbox.clear_wishlist(member.steamid)
        await wishlist_run(world)
        world.sandbox.clear_wishlist(other.steamid)  # a second streak, 4 more anomalies each
        for _ in range(4):
            await wishlist_run(world)
        await trio.sleep(0.3)
        rest.clear_faults()
        await wishlist_run(world)
        with trio.move_on_after(5):
            await wait_reports(world, 3)
    assert len([r for r in reports(world) if member.persona in r]) == 1, reports(world)
    assert len([r for r in reports(world) if other.persona in r]) == 1, reports(world)


def dm_admins(world, fail):
    """Reports go to the admins' DMs (no admin_reports channel, admins DISCORD_IDS[0:2]);
    `fail(user_id)` may raise from create_dm. Returns admin -> its DM channel id, filled as
    the DMs open."""
    app, admins = world.app, frozenset(DISCORD_IDS[:2])
    app.config = dataclasses.replace(
        app.config, channels=dataclasses.replace(app.config.channels, admin_reports=None),
        admin_ids=admins)
    create_dm, dm_channels = app.rest.create_dm, {}

    async def create_dm_or_fail(user_id):
        fail(int(user_id))
        dm = await create_dm(user_id)
        dm_channels[int(user_id)] = int(dm["id"])
        return dm

    app.rest.create_dm = create_dm_or_fail
    return dm_channels


def dm_channel(user_id: int) -> int:
    """The DM channel FakeDiscord opens for `user_id` (its Create DM answer: user id + 1)."""
    return user_id + 1


def dm_reports(world, channel_id: int) -> list[str]:
    return [m.content for m in world.discord.messages(channel_id) if "looks wrong" in m.content]


async def test_an_admin_with_closed_dms_does_not_make_the_others_get_it_every_run(
        start_world) -> None:
    """Two admins, no admin_reports channel, one with DMs closed (403 50007, for good): the
    other gets the report once, and the pass goes on (a later streak is reported too)."""
    world = await start_world(features=["wishlist"], now=ticking_now())
    closed = max(DISCORD_IDS[:2])

    def closed_dms(user_id: int) -> None:
        if user_id == closed:
            raise Forbidden(403, 50007, "Cannot send messages to this user", method="POST",
                            route="/users/@me/channels")

    dms = dm_admins(world, closed_dms)
    member, other = world.sandbox.family.members[2], world.sandbox.family.members[1]
    with trio.fail_after(120):
        await wishlist_run(world)
        world.sandbox.clear_wishlist(member.steamid)
        for _ in range(3):
            await wishlist_run(world)
            await trio.sleep(0.3)
        world.sandbox.clear_wishlist(other.steamid)
        await wishlist_run(world)
        await trio.sleep(0.5)
    got = dm_reports(world, dms[min(DISCORD_IDS[:2])])
    assert [member.persona in r for r in got] == [True, False], got
    assert other.persona in got[1]


async def test_an_admin_whose_dm_failed_for_a_while_gets_it_later_and_the_other_once(
        start_world) -> None:
    """One admin's DM fails in an outage (503) at the first try: the next pass sends the
    report to that admin only; each admin has it exactly once."""
    world = await start_world(features=["wishlist"], now=ticking_now())
    flaky, outage = max(DISCORD_IDS[:2]), [True]

    def one_outage(user_id: int) -> None:
        if user_id == flaky and outage:
            outage.pop()
            raise ServerError(503, 0, "Service Unavailable", method="POST",
                              route="/users/@me/channels")

    dms = dm_admins(world, one_outage)
    member = world.sandbox.family.members[2]
    with trio.fail_after(120):
        await wishlist_run(world)
        world.sandbox.clear_wishlist(member.steamid)
        await wishlist_run(world)
        await trio.sleep(0.3)
        assert dm_reports(world, dms[min(DISCORD_IDS[:2])]) and flaky not in dms
        await wishlist_run(world)
        await trio.sleep(0.3)
        await wishlist_run(world)
        await trio.sleep(0.3)
    for admin in DISCORD_IDS[:2]:
        assert len(dm_reports(world, dms[admin])) == 1, admin


async def test_an_admin_channel_the_bot_may_not_use_sends_the_report_by_dm_once(
        start_world) -> None:
    """The admin_reports channel answers 403 50001 (the bot lost access) for good: each admin
    gets the report by DM once, told why and how to fix the channel; later passes DM nobody
    again. Once access is back, the next streak's report is in the channel, not in DMs."""
    world = await start_world(features=["wishlist"], now=ticking_now())
    app, admins = world.app, frozenset(DISCORD_IDS[:2])
    app.config = dataclasses.replace(app.config, admin_ids=admins)
    rest = world.discord.rest
    member, other = world.sandbox.family.members[2], world.sandbox.family.members[1]
    with trio.fail_after(120):
        await wishlist_run(world)
        rest.fail_next("POST", f"/channels/{ADMIN_CH}/messages", 403, times=10**6,
                       body={"code": 50001, "message": "Missing Access"})
        world.sandbox.clear_wishlist(member.steamid)
        for _ in range(3):
            await wishlist_run(world)
            await trio.sleep(0.3)
        got = {a: dm_reports(world, dm_channel(a)) for a in admins}
        assert all(len(texts) == 1 for texts in got.values()), got
        for texts in got.values():
            assert f"{member.persona}'s wishlist" in texts[0]
            assert "admin reports channel refused" in texts[0]
            assert "View Channel" in texts[0] and "#admin_reports" in texts[0]
        assert reports(world) == []
        rest.clear_faults()
        world.sandbox.clear_wishlist(other.steamid)
        await wishlist_run(world)
        await wait_reports(world, 1)
        await trio.sleep(0.3)
    assert other.persona in reports(world)[0]
    after = {a: dm_reports(world, dm_channel(a)) for a in admins}
    assert all(len(texts) == 1 for texts in after.values()), after
