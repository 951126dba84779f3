"""The outbox under real failures: outages, Cloudflare pauses, refusals, local errors.

The real bot against FakeDiscord + the sandbox on trio's autojump clock (threshold above 0,
since the bot waits on sockets and threads), with the App's wall clock tied to trio's, so
backoff, hourly retries and outages of many minutes cost no real time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterator

import pytest
import trio
import trio.testing

from bench.soak._clock import ThreadAwareClock, counting_threads
from familybot_trio import outbox_sender
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS, World
from familybot_trio.store import OutboxDraft, Snowflake

CH, DEALS, ADMIN = CHANNELS["new_games"], CHANNELS["deals"], CHANNELS["admin_reports"]
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
MESSAGES = f"/channels/{CH}/messages"


@pytest.fixture
def clock() -> Iterator[trio.testing.MockClock]:
    # Real-time pace while the world starts (under autojump, the start's own fail_after would
    # be the next deadline to jump to); world_on_clock switches to autojump once it is READY.
    # Autojump never while a worker thread runs: a slow SQLite call under load let the clock
    # jump an hour ahead, so one refused row was retried early and the posts came out of
    # order (seen once in a 4-worker CI run).
    clock = ThreadAwareClock(rate=1.0)
    with counting_threads(clock):
        yield clock


def virtual_now() -> dt.datetime:
    return T0 + dt.timedelta(seconds=trio.current_time())


async def world_on_clock(tmp_path, nursery, clock) -> World:
    with trio.fail_after(60):
        world = await nursery.start(functools.partial(World.start, tmp_path, features=["admin"],
                                                      now=virtual_now))
    clock.rate, clock.autojump_threshold = 0.0, 0.02
    return world


def draft(n: int, channel: int = CH, **payload) -> OutboxDraft:
    return OutboxDraft("new_game", f"test:{channel}:{n}", Snowflake(channel),
                       payload or {"content": f"announcement {n}"})


def posts(world: World, channel: int = CH) -> list[str]:
    """Contents of the channel's messages, oldest first."""
    return [m.content for m in world.discord.messages(channel)]


def create_requests(world: World, channel: int = CH) -> list:
    return [q for q in world.discord.rest.requests
            if q.method == "POST" and q.path == f"/channels/{channel}/messages"]


async def wait_until(predicate, step_s: float = 5.0) -> None:
    while not predicate():
        await trio.sleep(step_s)


async def test_a_long_outage_loses_nothing_and_admins_hear_of_it_and_of_the_end(
        tmp_path, nursery, clock) -> None:
    world = await world_on_clock(tmp_path, nursery, clock)
    world.discord.fail_next("POST", MESSAGES, 503, times=10**6)
    await world.app.announce([draft(1), draft(2)])
    await trio.sleep(20 * 60)  # a 20-minute outage: far past the old "8 attempts" limit
    rows = await world.app.store.outbox.pending()
    assert [r.dedupe_key for r in rows] == [f"test:{CH}:1", f"test:{CH}:2"]
    assert rows[0].attempts > 8 and "not answering" in rows[0].last_error
    notices = [c for c in posts(world, ADMIN) if "waiting" in c]
    assert len(notices) == 1  # once per cause, not once per retry

    world.discord.rest.clear_faults()
    with trio.fail_after(3600):
        await wait_until(lambda: len(posts(world)) == 2)
    assert posts(world) == ["announcement 1", "announcement 2"]
    await trio.sleep(60)
    assert posts(world) == ["announcement 1", "announcement 2"]
    assert await world.app.store.outbox.pending() == []
    assert any("work again" in c for c in posts(world, ADMIN))


async def test_the_pause_after_a_cloudflare_ban_is_waited_out_and_is_not_an_attempt(
        tmp_path, nursery, clock) -> None:
    world = await world_on_clock(tmp_path, nursery, clock)
    world.discord.rest.cloudflare_next("POST", MESSAGES)
    await world.app.announce([draft(1)])
    for _ in range(8):  # inside the 10-minute pause: passes send nothing and count nothing
        await trio.sleep(60)
        assert await world.app.flush_outbox() == 0
    (row,) = await world.app.store.outbox.pending()
    assert row.attempts == 1 and len(create_requests(world)) == 1
    with trio.fail_after(3600):
        await wait_until(lambda: posts(world) == ["announcement 1"])
    sent = await world.app.store.outbox.get(row.id)
    assert sent is not None and sent.attempts == 2 and sent.message_id is not None
    # Nobody could be told during the pause (no request goes out): once, after it.
    await trio.sleep(60)
    held = [c for c in posts(world, ADMIN) if "held for" in c]
    assert len(held) == 1 and "Cloudflare" in held[0] and "none were lost" in held[0], held


async def test_the_end_of_a_cause_is_told_even_when_that_notice_failed_once(
        tmp_path, nursery, clock) -> None:
    """403 on #new_games (told), the permission granted, and the admin channel answers 503
    to the "work again" notice: the notice is sent again with the next post that works."""
    world = await world_on_clock(tmp_path, nursery, clock)
    world.discord.fail_next("POST", MESSAGES, 403, times=10**6,
                            body={"code": 50013, "message": "Missing Permissions"})
    await world.app.announce([draft(1)])
    with trio.fail_after(600):
        await wait_until(lambda: any("could not be posted" in c for c in posts(world, ADMIN)))
    world.discord.rest.clear_faults()
    world.discord.fail_next("POST", f"/channels/{ADMIN}/messages", 503, times=1)
    await trio.sleep(outbox_sender.FAILED_RETRY_EVERY.total_seconds() + 120)
    assert posts(world) == ["announcement 1"]
    assert not any("work again" in c for c in posts(world, ADMIN))  # that notice got a 503
    await world.app.announce([draft(2)])
    with trio.fail_after(600):
        await wait_until(lambda: len(posts(world)) == 2)
    await trio.sleep(60)
    again = [c for c in posts(world, ADMIN) if "work again" in c]
    assert len(again) == 1 and "#new_games" in again[0], posts(world, ADMIN)


async def test_a_row_refused_locally_is_marked_failed_and_the_others_go_out(
        tmp_path, nursery, clock) -> None:
    world = await world_on_clock(tmp_path, nursery, clock)
    await world.app.announce([draft(1, content="x" * 2001), draft(2), draft(3, content="y" * 2001),
                              draft(4)])
    with trio.fail_after(600):
        await wait_until(lambda: len(posts(world)) == 2)
    await trio.sleep(60)
    assert posts(world) == ["announcement 2", "announcement 4"]
    failed = await world.app.store.outbox.rows("failed")
    assert [r.dedupe_key for r in failed] == [f"test:{CH}:1", f"test:{CH}:3"]
    assert "2001 characters" in failed[0].last_error or "2000" in failed[0].last_error
    notices = [c for c in posts(world, ADMIN) if "could not be posted" in c]
    assert len(notices) == 1 and "#new_games" not in notices[0]
    await world.app.announce([draft(5)])  # the sender is alive and well
    with trio.fail_after(600):
        await wait_until(lambda: len(posts(world)) == 3)


async def test_a_row_refused_locally_is_told_again_in_the_next_run(tmp_path, nursery,
                                                                  clock) -> None:
    """An invalid row's cause is told once per run of the bot: after a restart, a new bug of
    the same kind reaches the admins too (it is not remembered for the database's life)."""
    world = await world_on_clock(tmp_path, nursery, clock)
    await world.app.announce([draft(1, content="x" * 2001)])
    with trio.fail_after(600):
        await wait_until(lambda: any("could not be posted" in c for c in posts(world, ADMIN)))
    await world.app.announce([draft(2, content="y" * 2001)])  # the same run: not again
    with trio.fail_after(600):
        await wait_until(lambda: world.app.outbox_sender.stats["refused"] >= 2)
    assert len([c for c in posts(world, ADMIN) if "could not be posted" in c]) == 1
    await restart(world, nursery, clock, down_s=60)
    await world.app.announce([draft(3, content="z" * 2001)])
    with trio.fail_after(600):
        await wait_until(lambda: len(
            [c for c in posts(world, ADMIN) if "could not be posted" in c]) == 2)


async def test_missing_permission_fails_that_channel_only_and_is_retried_hourly(
        tmp_path, nursery, clock) -> None:
    world = await world_on_clock(tmp_path, nursery, clock)
    world.discord.fail_next("POST", MESSAGES, 403, times=10**6,
                            body={"code": 50013, "message": "Missing Permissions"})
    await world.app.announce([draft(1), draft(2, DEALS), draft(3)])
    with trio.fail_after(600):
        await wait_until(lambda: posts(world, DEALS) == ["announcement 2"])
    await trio.sleep(120)
    failed = await world.app.store.outbox.rows("failed")
    assert [r.dedupe_key for r in failed] == [f"test:{CH}:1", f"test:{CH}:3"]
    assert "Send Messages" in failed[0].last_error
    notices = [c for c in posts(world, ADMIN) if "could not be posted" in c]
    assert len(notices) == 1 and "Send Messages and Embed Links in #new_games" in notices[0]
    await restart(world, nursery, clock, down_s=60)  # the cause is remembered: no repeat
    await world.app.announce([draft(4)])
    with trio.fail_after(600):
        await wait_until(lambda: world.app.outbox_sender.stats["refused"] >= 1)
    assert len([c for c in posts(world, ADMIN) if "could not be posted" in c]) == 1

    world.discord.rest.clear_faults()  # an admin grants the permission
    await trio.sleep(outbox_sender.FAILED_RETRY_EVERY.total_seconds() + 120)
    assert posts(world) == ["announcement 1", "announcement 3", "announcement 4"]
    assert await world.app.store.outbox.rows("failed") == []
    assert any("work again" in c and "#new_games" in c for c in posts(world, ADMIN))


async def test_rows_for_a_deleted_channel_go_to_the_one_the_config_names_next(
        tmp_path, nursery, clock) -> None:
    """#deals is deleted (404 10003): the row fails with the fix ("set [channels] deals");
    once the admin sets another channel, the hourly retry posts it there, once, and the
    stored row names the new channel. Rows of kinds without a [channels] setting stay put."""
    world = await world_on_clock(tmp_path, nursery, clock)
    new_deals = CHANNELS["free_games"]
    world.discord.fail_next("POST", f"/channels/{DEALS}/messages", 404, times=10**6,
                            body={"code": 10003, "message": "Unknown Channel"})
    deal = OutboxDraft("deal", "test:deal:1", Snowflake(DEALS), {"content": "a deal"})
    alert = OutboxDraft("personal_alert", "test:alert:1", Snowflake(DEALS), {"content": "a dm"})
    await world.app.announce([deal, alert])
    with trio.fail_after(600):
        await wait_until(lambda: world.app.outbox_sender.stats["refused"] >= 2)
    failed = await world.app.store.outbox.rows("failed")
    assert {r.dedupe_key for r in failed} == {"test:deal:1", "test:alert:1"}
    assert "set [channels] deals" in failed[0].last_error
    world.app.config = dataclasses.replace(  # the admin sets a new deals channel
        world.app.config, channels=dataclasses.replace(world.app.config.channels,
                                                       deals=new_deals))
    await trio.sleep(outbox_sender.FAILED_RETRY_EVERY.total_seconds() + 120)
    assert posts(world, new_deals) == ["a deal"]
    (left,) = await world.app.store.outbox.rows("failed")
    assert left.dedupe_key == "test:alert:1" and left.channel_id == DEALS
    sent = [r for r in await world.app.store.outbox.rows("sent") if r.dedupe_key == "test:deal:1"]
    assert len(sent) == 1 and sent[0].channel_id == new_deals
    # the old channel's cause ends with the move, and the admins hear so (the alert row,
    # still refused there, may tell it again: it is still stuck)
    assert any("work again" in c for c in posts(world, ADMIN)), posts(world, ADMIN)


async def test_a_row_in_flight_in_a_channel_the_config_replaced_is_not_posted_again(
        tmp_path, nursery, clock) -> None:
    """A deal reached #deals, the bot stopped before recording it, and the admin moved deals
    to another channel: inside the nonce window too, the old channel is looked in first (the
    nonce cannot dedupe in another channel), so the deal is not posted a second time."""
    world = await world_on_clock(tmp_path, nursery, clock)
    new_deals = CHANNELS["free_games"]
    await world.app.announce([OutboxDraft("deal", "test:deal:2", Snowflake(DEALS),
                                          {"content": "a deal"})])
    with trio.fail_after(600):
        await wait_until(lambda: posts(world, DEALS) == ["a deal"])
    await world.app.store.run_write(lambda c: c.execute(  # the state after such a stop
        "UPDATE outbox SET sent_at = NULL, message_id = NULL WHERE dedupe_key = 'test:deal:2'"))
    world.app.config = dataclasses.replace(
        world.app.config, channels=dataclasses.replace(world.app.config.channels,
                                                       deals=new_deals))
    await world.app.flush_outbox()
    assert posts(world, DEALS) == ["a deal"] and posts(world, new_deals) == []
    assert await world.app.store.outbox.rows("unsent") == []


async def test_one_admin_whose_dm_keeps_failing_does_not_make_the_others_hear_it_each_post(
        tmp_path, nursery, clock) -> None:
    """No admin channel, two admins, the second one's DM answers 503 for good: a cause and
    its end reach the first admin once each, not once per post that works."""
    world = await world_on_clock(tmp_path, nursery, clock)
    app, (first, second) = world.app, sorted(DISCORD_IDS[:2])
    app.config = dataclasses.replace(
        app.config, channels=dataclasses.replace(app.config.channels, admin_reports=None),
        admin_ids=frozenset({first, second}))
    world.discord.fail_next("POST", f"/channels/{second + 1}/messages", 503, times=10**6)
    world.discord.fail_next("POST", MESSAGES, 403, times=10**6,
                            body={"code": 50013, "message": "Missing Permissions"})
    await world.app.announce([draft(1)])
    with trio.fail_after(600):
        await wait_until(lambda: any("could not be posted" in c for c in posts(world, first + 1)))
    world.discord.rest.clear_faults()
    world.discord.fail_next("POST", f"/channels/{second + 1}/messages", 503, times=10**6)
    await trio.sleep(outbox_sender.FAILED_RETRY_EVERY.total_seconds() + 120)
    for n in range(2, 6):
        await world.app.announce([draft(n)])
        await trio.sleep(60)
    assert len(posts(world)) == 5
    dm = posts(world, first + 1)
    assert len([c for c in dm if "could not be posted" in c]) == 1, dm
    assert len([c for c in dm if "work again" in c]) == 1, dm


async def test_one_flush_at_a_time_posts_each_row_with_one_request(tmp_path, nursery,
                                                                   clock) -> None:
    world = await world_on_clock(tmp_path, nursery, clock)
    # Queue without waking the sender, then flush from three places at once.
    await world.app.store.outbox.enqueue([draft(n) for n in range(5)], world.app.now())
    async with trio.open_nursery() as flushers:
        flushers.start_soon(world.app.flush_outbox)
        flushers.start_soon(world.app.flush_outbox)
        world.app.wake_outbox()
    with trio.fail_after(600):
        await wait_until(lambda: len(posts(world)) == 5)
    await trio.sleep(60)
    assert len(create_requests(world)) == 5  # one create-message request per row


async def restart(world: World, nursery, clock, down_s: float) -> None:
    """Stop the bot, leave it down for `down_s` virtual seconds, start a new App."""
    await world.stop_app()
    await trio.sleep(down_s)
    clock.rate, clock.autojump_threshold = 1.0, float("inf")  # real pace while it starts
    with trio.fail_after(60):
        await world.start_app(nursery, world.new_app())
    clock.rate, clock.autojump_threshold = 0.0, 0.02


async def test_a_post_in_flight_at_a_stop_is_found_in_the_channel_after_the_nonce_window(
        tmp_path, nursery, clock) -> None:
    world = await world_on_clock(tmp_path, nursery, clock)
    await world.app.announce([draft(1)])
    with trio.fail_after(600):
        await wait_until(lambda: len(posts(world)) == 1)
    (first,) = world.discord.messages(CH)
    # The state after a stop between Discord's answer and mark_sent: claimed, not sent. A
    # second row was claimed too, but its request never reached Discord.
    await world.app.store.outbox.enqueue([draft(2)], world.app.now())
    claimed = int(world.app.now().timestamp())
    await world.app.store.run_write(lambda c: c.execute(
        "UPDATE outbox SET sent_at = NULL, message_id = NULL, claimed_at = ?", (claimed,)))
    await restart(world, nursery, clock, down_s=2 * world.discord.rest.nonce_window_s)
    with trio.fail_after(600):
        await wait_until(lambda: len(posts(world)) >= 2)
    await trio.sleep(60)
    assert posts(world) == ["announcement 1", "announcement 2"]  # neither lost nor doubled
    rows = await world.app.store.outbox.rows("sent")
    assert [r.message_id for r in rows][0] == first.id
    assert world.app.outbox_sender.stats["found_in_channel"] == 1
