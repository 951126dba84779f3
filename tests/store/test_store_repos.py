"""Members, catalog (details, prices, ITAD ids), wishlists, owned games and small state."""

from __future__ import annotations

import datetime as dt

import pytest
import trio

from familybot_trio.errors import StoreError
from familybot_trio.store import (
    AppDetails,
    AppId,
    MemberRecord,
    OwnedGame,
    Price,
    Snowflake,
    SteamID64,
    Store,
    WishlistItem,
)

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
ALICE, BOB, CAROL = (SteamID64(76561198000000001 + i) for i in range(3))


async def test_wishlist_of_300_survives_an_empty_fetch(store: Store) -> None:
    items = [WishlistItem(AppId(a), a % 7, T0) for a in range(1000, 1300)]
    with trio.fail_after(10):
        first = await store.wishlist.replace(ALICE, items, T0)
        assert first.applied and first.new_count == 300 and len(first.added) == 300
        empty = await store.wishlist.replace(ALICE, [], T0 + dt.timedelta(hours=2))
        assert not empty.applied and empty.previous_count == 300 and empty.new_count == 0
        assert len(await store.wishlist.items(ALICE)) == 300
        assert await store.wishlist.last_fetched_at(ALICE) == T0  # the good fetch
        [anomaly] = await store.state.anomalies()
        assert (anomaly.kind, anomaly.subject, anomaly.previous_count) == ("wishlist", str(ALICE), 300)
        # a normal change goes through and reports what moved
        changed = await store.wishlist.replace(ALICE, items[1:] + [WishlistItem(AppId(5))], T0)
        assert changed.applied and changed.added == (5,) and changed.removed == (1000,)
        # a small wishlist may empty for real
        await store.wishlist.replace(BOB, [WishlistItem(AppId(1))], T0)
        assert (await store.wishlist.replace(BOB, [], T0)).applied


async def test_common_wishlist(store: Store) -> None:
    with trio.fail_after(10):
        await store.wishlist.replace(ALICE, [WishlistItem(AppId(a)) for a in (1, 2, 3)], T0)
        await store.wishlist.replace(BOB, [WishlistItem(AppId(a)) for a in (2, 3)], T0)
        await store.wishlist.replace(CAROL, [WishlistItem(AppId(a)) for a in (3,)], T0)
        assert await store.wishlist.common(2) == [(3, (ALICE, BOB, CAROL)), (2, (ALICE, BOB))]
        assert await store.wishlist.common(3) == [(3, (ALICE, BOB, CAROL))]


async def test_owned_games_guard_and_common(store: Store) -> None:
    with trio.fail_after(10):
        await store.owned.replace(ALICE, [OwnedGame(AppId(a), a) for a in range(1, 41)], T0)
        await store.owned.replace(BOB, [OwnedGame(AppId(a)) for a in (5, 6, 99)], T0)
        shrunk = await store.owned.replace(ALICE, [OwnedGame(AppId(1))], T0)
        assert not shrunk.applied and len(await store.owned.games(ALICE)) == 40
        assert (await store.owned.games(ALICE))[0] == OwnedGame(AppId(40), 40)
        assert await store.owned.common([ALICE, BOB]) == [5, 6]
        assert await store.owned.common([]) == []


async def test_members_sync_and_links(store: Store) -> None:
    with trio.fail_after(10):
        added = await store.members.sync([MemberRecord(ALICE, "Alice", Snowflake(10**17)),
                                          MemberRecord(BOB, "Bob")], T0)
        assert added == [ALICE, BOB]
        linked = await store.members.link_discord(BOB, Snowflake(10**17 + 1))
        assert linked.discord_id == 10**17 + 1
        with pytest.raises(StoreError, match="already linked"):
            await store.members.link_discord(BOB, Snowflake(10**17))
        with pytest.raises(StoreError, match="not a family member"):
            await store.members.link_discord(CAROL, Snowflake(5 * 10**17))
        # resync: Bob's runtime link survives, Alice renamed, Carol added, nobody dropped wrongly
        await store.members.sync([MemberRecord(ALICE, "Alicia", Snowflake(10**17)),
                                  MemberRecord(BOB, "Bob"), MemberRecord(CAROL, "Carol")], T0)
        assert await store.members.by_discord_id(Snowflake(10**17 + 1)) == MemberRecord(
            BOB, "Bob", Snowflake(10**17 + 1))
        await store.members.sync([MemberRecord(ALICE, "Alicia")], T0)
        assert [m.name for m in await store.members.all()] == ["Alicia"]


async def test_details_ttl(store: Store) -> None:
    fresh = AppDetails(AppId(1), "Portal", "game", False, T0, ("Single-player",), "https://x/1.jpg", True)
    old = AppDetails(AppId(2), "Old", "dlc", True, T0 - dt.timedelta(days=3))
    with trio.fail_after(10):
        assert await store.catalog.put_details([fresh, old]) == 2
        got = await store.catalog.details([AppId(1), AppId(2), AppId(3)], now=T0, max_age_s=86400)
        assert got == {AppId(1): fresh}
        assert set(await store.catalog.details([AppId(1), AppId(2)])) == {1, 2}  # stale too
        assert (await store.catalog.purge(details=True)) == {"app_details": 2}


async def test_prices_keep_the_sale_marker_for_one_sale(store: Store) -> None:
    def price(discount: int, at: dt.datetime) -> Price:
        return Price(AppId(7), "US", at, 999 * (100 - discount) // 100, 999, "USD", discount,
                     "018d-itad", 499)
    with trio.fail_after(10):
        s1 = await store.catalog.put_prices([price(0, T0)])
        assert s1[AppId(7)].sale_started_at is None
        day = dt.timedelta(days=1)
        s2 = await store.catalog.put_prices([price(50, T0 + day)])
        s3 = await store.catalog.put_prices([price(60, T0 + 2 * day)])
        assert s2[AppId(7)].sale_started_at == s3[AppId(7)].sale_started_at == T0 + day
        await store.catalog.put_prices([price(0, T0 + 3 * day)])
        s5 = await store.catalog.put_prices([price(40, T0 + 4 * day)])
        assert s5[AppId(7)].sale_started_at == T0 + 4 * day  # a new sale
        got = await store.catalog.prices([AppId(7), AppId(8)], "US")
        assert got == {AppId(7): s5[AppId(7)]}
        assert await store.catalog.prices([AppId(7)], "FR") == {}
        assert await store.catalog.prices([AppId(7)], "US", now=T0 + 30 * day, max_age_s=3600) == {}


async def test_itad_ids_are_kept(store: Store) -> None:
    with trio.fail_after(10):
        await store.catalog.put_itad_ids({AppId(1): "018d-a", AppId(2): None}, T0)
        await store.catalog.purge(details=True, prices=True)
        many = [AppId(a) for a in range(0, 1200)]  # more than one IN chunk
        assert await store.catalog.itad_ids(many) == {AppId(1): "018d-a", AppId(2): None}


async def test_kv_schedule_runs_and_free_games(store: Store) -> None:
    with trio.fail_after(10):
        await store.state.set("token_exp", {"at": 123}, T0)
        assert await store.state.get("token_exp") == {"at": 123}
        await store.state.set("token_exp", None, T0)
        assert await store.state.get("token_exp", "none") == "none"

        await store.state.record_run("deals", ok=True, duration_s=1.5, now=T0)
        run = await store.state.record_run("deals", ok=False, duration_s=0.5, now=T0,
                                           error="itad 429")
        assert (run.runs, run.failures, run.last_ok_at, run.last_error) == (2, 1, T0, "itad 429")
        assert [r.job for r in await store.state.runs()] == ["deals"]

        key = "steam:app/1234"
        assert await store.state.claim_free_game(key, source="epic", title="X", url=None, now=T0)
        assert not await store.state.claim_free_game(key, source="reddit", title="X", url="u", now=T0)
        assert [k for k, *_ in await store.state.posted_free_games()] == [key]
        # a later giveaway of the same game: claimed again only once repeat_after has passed
        repeat = dt.timedelta(days=180)
        for later, won in ((dt.timedelta(days=179), False), (repeat, True),
                           (repeat + dt.timedelta(hours=1), False)):
            assert await store.state.claim_free_game(
                key, source="reddit", title="X", url="u", now=T0 + later,
                repeat_after=repeat) is won, later
        assert await store.state.free_games_posted_at([key, "steam:app/1"]) == {key: T0 + repeat}

        await store.state.record_fetch_failure("wishlist", str(ALICE), "HTTP 503", T0)
        [a] = await store.state.anomalies(since=T0)
        assert (a.reason, a.previous_count) == ("HTTP 503", None)


async def test_config_discord_id_clash_is_a_store_error_with_a_hint(store: Store) -> None:
    with trio.fail_after(10):
        await store.members.sync([MemberRecord(ALICE, "Alice", Snowflake(10**17))], T0)
        with pytest.raises(StoreError, match="UNIQUE.*breaks a constraint"):
            await store.members.sync([MemberRecord(ALICE, "Alice", Snowflake(10**17)),
                                      MemberRecord(BOB, "Bob", Snowflake(10**17))], T0)
        assert [m.name for m in await store.members.all()] == ["Alice"]  # rolled back


async def test_generic_cache_expires_and_purges(store: Store) -> None:
    with trio.fail_after(10):
        await store.cache.put_many("details:US", {"1": '{"n":1}', "2": '{"n":2}'}, ttl_s=3600, now=T0)
        await store.cache.put_many("price:US", {"1": "x"}, ttl_s=60, now=T0)
        got = await store.cache.get_many("details:US", ["1", "2", "3"], T0 + dt.timedelta(minutes=59))
        assert got == {"1": '{"n":1}', "2": '{"n":2}'}
        assert await store.cache.get_many("details:US", ["1"], T0 + dt.timedelta(hours=1)) == {}
        assert await store.cache.get_many("price:US", ["1"], T0) == {"1": "x"}
        assert await store.cache.purge(T0 + dt.timedelta(minutes=2)) == 1  # the price expired
        assert await store.cache.purge(T0, namespace_prefix="details:") == 2
        assert (await store.row_counts())["cache"] == 0
