"""Deals end to end: the real bot against FakeDiscord + the sandbox, on a movable clock."""

from __future__ import annotations

import datetime as dt

import trio

from familybot_trio.features.deals import DEALS_SALES_KEY, MAX_ALERTS_PER_RUN
from familybot_trio.sandbox import _family as F
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS

DEALS = CHANNELS["deals"]


class Clock:
    """app.now() that tests move forward (cache expiry runs on it)."""

    def __init__(self) -> None:
        self.t = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.t

    def advance(self, hours: float) -> None:
        self.t += dt.timedelta(hours=hours)


def _quiet(fam: F.SandboxFamily) -> None:
    """End every sale in the sample so only the test's own sales are deals."""
    for appid, price in list(fam.prices.items()):
        if price.discount_pct:
            fam.prices[appid] = F.Price(price.initial_cents, 0, price.is_free)


def _targets(fam: F.SandboxFamily, n: int = 2) -> list[int]:
    """Paid games on someone's wishlist that the family library does not have."""
    out = []
    for wl in fam.wishlists.values():
        for appid in wl:
            info, price = fam.apps[appid], fam.prices[appid]
            if (appid not in fam.library and info.app_type == F.APP_TYPE_GAME
                    and not price.is_free and price.initial_cents >= 999 and appid not in out):
                out.append(appid)
    return sorted(out)[:n]


async def _run(world, clock: Clock) -> None:
    """One deals run on fresh prices, then everything queued posted.

    The price cache entries are dropped as if their 6 h TTL had passed; the clock moves
    5 minutes, so the family library (cached 1 h) is fetched once per test.
    """
    clock.advance(1 / 12)
    await world.app.store.cache.purge(clock(), namespace_prefix="price:")
    outcome = await world.app.scheduler.run_now("deals")
    assert outcome.ok, outcome.error
    await world.app.flush_outbox()


def _posts_for(world, appid: int) -> list:
    return [m for m in world.discord.messages(DEALS)
            if any(f"/app/{appid}/" in (e.get("url") or "") for e in m.embeds)]


async def _keys(world) -> list[str]:
    return await world.app.store.run_read(
        lambda c: [r[0] for r in c.execute("SELECT dedupe_key FROM outbox ORDER BY id")])


async def test_one_sale_is_alerted_once_and_a_new_sale_again(start_world) -> None:
    clock = Clock()
    world = await start_world(features=["deals"], now=clock)
    fam = world.sandbox.family
    _quiet(fam)
    target = _targets(fam, 1)[0]
    world.sandbox.start_sale(target, 60)
    with trio.fail_after(60):
        for _ in range(3):
            await _run(world, clock)
        posts = _posts_for(world, target)
        assert len(posts) == 1
        assert await _keys(world) == [f"deal:{target}:1"]
        embed = posts[0].embeds[0]
        price = fam.prices[F.AppId(target)]
        assert f"${price.final_cents / 100:.2f}" in embed["description"]
        assert "-60%" in embed["description"]

        world.sandbox.end_sale(target)
        await _run(world, clock)
        sales = await world.app.store.state.get(DEALS_SALES_KEY)
        assert sales[str(target)] == {"no": 1, "active": False, "alerted": True}
        world.sandbox.start_sale(target, 40)
        await _run(world, clock)
        await _run(world, clock)
    assert len(_posts_for(world, target)) == 2
    assert await _keys(world) == [f"deal:{target}:1", f"deal:{target}:2"]
    assert "-40%" in _posts_for(world, target)[-1].embeds[0]["description"]


async def test_a_price_at_its_historical_low_alerts_even_with_a_small_discount(start_world) -> None:
    clock = Clock()
    world = await start_world(features=["deals"], now=clock)
    fam = world.sandbox.family
    _quiet(fam)
    at_low, above_low = _targets(fam, 2)
    for appid in (at_low, above_low):
        world.sandbox.start_sale(appid, 10)  # below the 30 % threshold
    world.sandbox.set_historical_low(at_low)  # the current price is the lowest ever
    world.sandbox.set_historical_low(above_low, 100)  # $1.00: far below the current price
    with trio.fail_after(60):
        await _run(world, clock)
    posts = _posts_for(world, at_low)
    assert len(posts) == 1
    assert "historical low" in posts[0].embeds[0]["title"].lower()
    assert "lowest price ever" in posts[0].embeds[0]["description"]
    assert _posts_for(world, above_low) == []
    assert await _keys(world) == [f"deal:{at_low}:1"]


async def test_first_run_is_capped_and_points_to_the_command(start_world) -> None:
    clock = Clock()
    world = await start_world(features=["deals"], now=clock)
    with trio.fail_after(60):
        await _run(world, clock)
        await _run(world, clock)  # nothing new: the same sales
    posts = world.discord.messages(DEALS)
    assert len(posts) == MAX_ALERTS_PER_RUN
    assert "/deals lists them all" in posts[-1].embeds[0]["footer"]["text"]
    sales = await world.app.store.state.get(DEALS_SALES_KEY)
    assert sum(1 for r in sales.values() if r["alerted"]) > MAX_ALERTS_PER_RUN


async def test_deals_command_for_a_member_and_as_prefix(start_world) -> None:
    clock = Clock()
    world = await start_world(features=["deals"], now=clock)
    fam = world.sandbox.family
    _quiet(fam)
    target = _targets(fam, 1)[0]
    world.sandbox.start_sale(target, 75)
    wisher = next(m for m in fam.members if target in fam.wishlists[m.steamid])
    other = next(m for m in fam.members[:4] if target not in fam.wishlists[m.steamid])
    with trio.fail_after(60):
        handle = await world.discord.send_interaction(
            "deals", {"member": wisher.persona}, user_id=DISCORD_IDS[1], channel_id=DEALS)
        reply = await handle.wait_response()
        assert "1 deal on" in reply.embeds[0]["title"]
        assert f"/app/{target}/" in reply.embeds[0]["description"]
        assert "-75%" in reply.embeds[0]["description"]

        handle = await world.discord.send_interaction(
            "deals", {"member": str(other.steamid)}, user_id=DISCORD_IDS[1], channel_id=DEALS)
        reply = await handle.wait_response()
        assert "0 deals" in reply.embeds[0]["title"]

        await world.discord.send_message(DEALS, "!deals", author_id=DISCORD_IDS[2])
        msg = await world.discord.wait_for_message(
            DEALS, lambda m: bool(m.embeds) and "family" in m.embeds[0].get("title", ""))
    assert f"/app/{target}/" in msg.embeds[0]["description"]
    assert await _keys(world) == []  # on demand never announces


async def test_deals_command_unknown_member_says_who_exists(start_world) -> None:
    world = await start_world(features=["deals"])
    with trio.fail_after(30):
        handle = await world.discord.send_interaction(
            "deals", {"member": "nobody"}, user_id=DISCORD_IDS[1], channel_id=DEALS)
        reply = await handle.wait_response()
    assert "'nobody'" in reply.content and reply.is_ephemeral
    assert world.sandbox.family.members[0].persona in reply.content  # who exists


def test_catalog_prices_are_never_older_than_the_staleness_note_limit() -> None:
    # deals shows no age note because every catalog price is younger than STALE_PRICE_S
    from familybot_trio.features import _common
    from familybot_trio.upstream.catalog import PRICE_TTL_S

    assert PRICE_TTL_S <= _common.STALE_PRICE_S
