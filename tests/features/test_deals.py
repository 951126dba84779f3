"""Deals end to end: the real bot against FakeDiscord + the sandbox, on a movable clock."""

from __future__ import annotations

import datetime as dt

import trio

import pytest

from familybot_trio.features import _deal_rules
from familybot_trio.features._money import Money
from familybot_trio.features.deals import DEALS_SALES_KEY, DIGEST_OVER
from familybot_trio.upstream.models import AppId, GamePrice, PriceOverview
from gateway.messages import EMBEDS_PER_MESSAGE_MAX, EMBED_DESCRIPTION_MAX, embed_length
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
    price = fam.prices[F.AppId(at_low)]
    assert posts[0].embeds[0]["title"].startswith("Lowest price ever: ")
    # the low that makes it "ever" (all stores), not only Steam's own
    assert f"lowest anywhere ${price.final_cents / 100:.2f}" in posts[0].embeds[0]["description"]
    assert _posts_for(world, above_low) == []
    assert await _keys(world) == [f"deal:{at_low}:1"]


async def test_steams_low_above_another_shops_low_says_so(start_world) -> None:
    clock = Clock()
    world = await start_world(features=["deals"], now=clock)
    fam = world.sandbox.family
    _quiet(fam)
    target = _targets(fam, 1)[0]
    world.sandbox.start_sale(target, 50)
    final = fam.prices[F.AppId(target)].final_cents
    world.sandbox.set_historical_low(target)              # Steam's own low: this price
    world.sandbox.set_other_shop_low(target, final - 200)  # another shop went $2 lower
    with trio.fail_after(60):
        await _run(world, clock)
    (post,) = _posts_for(world, target)
    embed = post.embeds[0]
    assert embed["title"].startswith("Lowest price ever on Steam: ")  # not "ever" anywhere
    assert f"Steam's low ${final / 100:.2f}" in embed["description"]


async def test_first_run_on_many_sales_posts_one_digest_within_discords_limits(start_world
                                                                               ) -> None:
    clock = Clock()
    world = await start_world(features=["deals"], now=clock)
    fam = world.sandbox.family
    targets = _targets(fam, 60)
    for appid in targets:  # every wished game on sale: far more than one alert each
        world.sandbox.start_sale(appid, 50)
    with trio.fail_after(60):
        await _run(world, clock)
        first = list(world.discord.messages(DEALS))
        await _run(world, clock)  # nothing new: the same sales
    posts = world.discord.messages(DEALS)
    assert len(posts) == len(first)
    sales = await world.app.store.state.get(DEALS_SALES_KEY)
    alerted = [int(a) for a, r in sales.items() if r["alerted"]]
    assert len(alerted) > DIGEST_OVER
    embeds = [e for m in posts for e in m.embeds]
    assert embeds[0]["title"] == f"{len(alerted)} new deals on the family's wishlists"
    assert all(e["title"].startswith(embeds[0]["title"]) for e in embeds)
    for m in posts:  # Discord's limits per message and per embed
        assert len(m.embeds) <= EMBEDS_PER_MESSAGE_MAX
        assert sum(embed_length(e) for e in m.embeds) <= 6000
        assert all(len(e["description"]) <= EMBED_DESCRIPTION_MAX for e in m.embeds)
    text = "\n".join(e["description"] for e in embeds)
    for appid in alerted:  # every deal named in the digest, once
        assert text.count(f"/app/{appid}/") == 1
    assert all(k.startswith("deals:digest:") for k in await _keys(world))


# One row per rule of _deal_rules.RULES (plus the cases no row takes), first match wins.
_TH = {"min_discount_pct": 30, "low_buffer": 1.2}


def _price(final: int, initial: int, *, any_low: int | None, steam_low: int | None,
           currency: str = "USD") -> GamePrice:
    pct = round(100 - final * 100 / initial)
    return GamePrice(AppId(10), "US", PriceOverview(final, initial, pct, "USD"), None,
                     history_low_cents=any_low, store_low_cents=steam_low, currency=currency)


@pytest.mark.parametrize(("price", "key", "headline"), [
    # at the all-store low (and Steam's): truly the lowest price anywhere, ever
    (_price(999, 3999, any_low=999, steam_low=999), "lowest_ever", "Lowest price ever"),
    # at Steam's low, but another shop once sold it for less: only Steam's lowest
    (_price(999, 3999, any_low=499, steam_low=999), "lowest_on_steam",
     "Lowest price ever on Steam"),
    # 10 % off, 1.11x Steam's low (<= the 1.2 buffer): near the low, not at it
    (_price(1799, 1999, any_low=1599, steam_low=1620), "near_low", "Near its historical low"),
    # no Steam low from ITAD: compared with the all-store low, 1.125x
    (_price(1799, 1999, any_low=1599, steam_low=None), "near_low", "Near its historical low"),
    # 75 % off but twice the low: a plain discount, said as a discount
    (_price(999, 3999, any_low=499, steam_low=499), "discount", "-75%"),
    # lows in another currency are never compared: a discount only
    (_price(999, 3999, any_low=999, steam_low=999, currency="EUR"), "discount", "-75%"),
])
def test_each_deal_rule_writes_its_headline(price: GamePrice, key: str, headline: str) -> None:
    rank, rule, facts = _deal_rules.judge(price, **_TH)
    assert (rule.key, rule.headline(facts, Money("en", "US"))) == (key, headline)
    assert _deal_rules.RULES[rank] is rule


@pytest.mark.parametrize("price", [
    _price(1999, 1999, any_low=1999, steam_low=1999),   # full price at its low: never a deal
    _price(1799, 1999, any_low=999, steam_low=999),     # 10 % off, 1.8x the low
    _price(1799, 1999, any_low=None, steam_low=None),   # 10 % off, no low known
])
def test_no_rule_holds_for_small_discounts_or_full_prices(price: GamePrice) -> None:
    assert _deal_rules.judge(price, **_TH) is None


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


@pytest.mark.parametrize(("price", "basis"), [
    (_price(999, 3999, any_low=999, steam_low=1299), (999, False)),  # "ever": all stores
    (_price(999, 3999, any_low=499, steam_low=999), (999, True)),    # "on Steam": Steam's
    (_price(1799, 1999, any_low=1599, steam_low=None), (1599, False)),
    (_price(999, 3999, any_low=499, steam_low=499), (499, True)),
])
def test_each_deal_rule_shows_the_low_its_headline_is_based_on(price: GamePrice,
                                                               basis: tuple[int, bool]) -> None:
    _, rule, facts = _deal_rules.judge(price, **_TH)
    assert rule.basis(facts) == basis
