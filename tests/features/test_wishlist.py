"""Family wishlist end to end: the real bot against FakeDiscord + the sandbox."""

from __future__ import annotations

import datetime as dt

import trio

from familybot_trio.features.wishlist import WISHLIST_MESSAGES_KEY
from familybot_trio.sandbox import _family as F
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS

WL = CHANNELS["wishlist"]


def _expected_common(fam: F.SandboxFamily) -> dict[int, int]:
    """appid -> wanting count for games that should be listed (from the sandbox truth)."""
    wanting: dict[int, int] = {}
    for items in fam.wishlists.values():
        for appid in items:
            wanting[appid] = wanting.get(appid, 0) + 1
    out = {}
    for appid, n in wanting.items():
        info = fam.apps[appid]
        lib = fam.library.get(appid)
        if n < 2 or info.store_type != "game" or info.app_type != F.APP_TYPE_GAME:
            continue
        if lib is not None or 62 not in info.categories:
            continue
        out[appid] = n
    return out


def _text(world) -> str:
    return "\n".join(e.get("title", "") + "\n" + e.get("description", "")
                     for m in world.discord.messages(WL) if not m.deleted for e in m.embeds)


async def test_common_wishlist_created_pinned_then_edited_in_place(start_world) -> None:
    world = await start_world(features=["wishlist"])
    fam = world.sandbox.family
    with trio.fail_after(60):
        outcome = await world.app.scheduler.run_now("wishlist")
        assert outcome.ok, outcome.error
        first = world.discord.messages(WL)
        assert first and all(m.pinned for m in first)
        ids = [m.id for m in first]
        stored = await world.app.store.state.get(WISHLIST_MESSAGES_KEY)
        assert stored["message_ids"] == ids
        text = _text(world)
        expected = _expected_common(fam)
        assert expected
        for appid in expected:
            assert f"/app/{appid}/" in text, fam.apps[appid].name
        # a wished game the family library already has is never listed
        owned_wished = {a for wl in fam.wishlists.values() for a in wl if a in fam.library}
        assert owned_wished and not any(f"/app/{a}/" in text for a in owned_wished)
        # prices are babel-formatted USD for country US, per member too
        assert "$" in text and "each for" in text and "wanted by" in text

        # the second run changes nothing: no new message and no edit (payload hashes match)
        outcome = await world.app.scheduler.run_now("wishlist")
        assert outcome.ok, outcome.error
        second = world.discord.messages(WL)
        assert [m.id for m in second] == ids
        assert all(m.edits == 0 for m in second)

        # a new regular price in the last part changes that part only: it alone is edited
        last = "\n".join(e.get("description", "") for e in second[-1].embeds)
        target = next(a for a in expected if f"/app/{a}/" in last
                      and not fam.prices[a].discount_pct and not fam.prices[a].is_free)
        world.sandbox.set_price(target, fam.prices[target].initial_cents + 100)
        await world.app.store.cache.purge(world.app.now() + dt.timedelta(days=1),
                                          namespace_prefix="price:")
        outcome = await world.app.scheduler.run_now("wishlist")
        assert outcome.ok, outcome.error
    third = world.discord.messages(WL)
    assert [m.id for m in third] == ids
    changed = [m for m in third if m.edits]
    assert len(changed) < len(third)


async def test_same_wishers_order_by_deal_then_name_and_free_games_stand_apart(start_world
                                                                              ) -> None:
    world = await start_world(features=["wishlist"])
    sb, fam = world.sandbox, world.sandbox.family
    a, b = fam.members[0].steamid, fam.members[1].steamid
    # appids in the opposite order of the expected one (the old order was by appid)
    games = {999_303: ("beta Plain", 1999), 999_302: ("Alpha Plain", 1999),
             999_301: ("Zeta On Sale", 1999), 999_304: ("Gratis Arena", 0)}
    for appid, (name, cents) in games.items():
        sb.add_library_app(appid, a, name=name, price_cents=cents)
        sb.remove_library_app(appid)  # in the catalog, not in the family library
        sb.add_to_wishlist(a, appid)
        sb.add_to_wishlist(b, appid)
    sb.start_sale(999_301, 50)
    with trio.fail_after(60):
        assert (await world.app.scheduler.run_now("wishlist")).ok
    lines = _text(world).splitlines()
    ours = [next(i for i, l in enumerate(lines) if f"/app/{appid}/" in l and ":" in l)
            for appid in (999_301, 999_302, 999_303)]
    assert ours == sorted(ours)  # same wishers: the better deal first, then by name
    free = [l for l in lines if "/app/999304/" in l]
    assert len(free) == 1 and free[0].startswith("**Free to play, nothing to buy")
    assert "$" not in free[0] and "wanted by" not in free[0]


async def test_deleted_wishlist_message_is_recreated_and_pinned(start_world) -> None:
    world = await start_world(features=["wishlist"])
    job = next(j for j in world.app.scheduler.jobs if j.name == "wishlist")
    assert job.interval_s == world.config.schedules.wishlist_s
    assert job.first_delay_s is not None and job.first_delay_s < 600  # soon after start-up
    with trio.fail_after(60):
        assert (await world.app.scheduler.run_now("wishlist")).ok
        before = world.discord.messages(WL)
        assert len(before) >= 2  # the sample's common list needs two messages
        old = before[0]
        await world.app.rest.delete_message(WL, old.id)  # someone deleted part 1
        assert (await world.app.scheduler.run_now("wishlist")).ok
    every = world.discord.rest.messages(WL, include_deleted=True)
    live = [m for m in every if not m.deleted]
    # part 1 is posted anew; later parts are reposted after it (reading order), old ones deleted
    assert len(live) == len(before)
    assert not {m.id for m in before} & {m.id for m in live}
    assert len(every) == 2 * len(before)
    assert all(m.pinned for m in live)
    stored = await world.app.store.state.get(WISHLIST_MESSAGES_KEY)
    assert stored["message_ids"] == [m.id for m in live]  # parts in reading order
    assert old.id not in stored["message_ids"]


async def test_private_wishlist_keeps_the_cached_copy(start_world) -> None:
    world = await start_world(features=["wishlist"])
    fam = world.sandbox.family
    member = fam.members[1]
    with trio.fail_after(60):
        assert (await world.app.scheduler.run_now("wishlist")).ok
        before = await world.app.store.wishlist.items(member.steamid)
        assert len(before) == len(fam.wishlists[member.steamid])
        world.sandbox.clear_wishlist(member.steamid)  # suspicious empty answer
        assert (await world.app.scheduler.run_now("wishlist")).ok
        after = await world.app.store.wishlist.items(member.steamid)
    assert [i.appid for i in after] == [i.appid for i in before]
    anomalies = await world.app.store.state.anomalies()
    assert any(a.kind == "wishlist" and a.subject == str(member.steamid) for a in anomalies)


async def test_wishlist_command_marks_owned_games(start_world) -> None:
    world = await start_world(features=["wishlist"])
    fam = world.sandbox.family
    member = fam.members[2]
    wished = fam.wishlists[member.steamid]
    owned = [a for a in wished if a in fam.library]
    assert owned
    with trio.fail_after(60):
        handle = await world.discord.send_interaction(
            "wishlist", {"member": member.persona.lower()}, user_id=DISCORD_IDS[0],
            channel_id=WL)
        first = await handle.wait_response()
        assert member.persona in first.embeds[0]["title"]
        while len(_game_lines(handle)) < len(wished):  # follow-ups carry the rest
            await handle.state.changed.wait()
    lines = _game_lines(handle)
    assert len(lines) == len(wished)
    for appid in wished:
        line = next(x for x in lines if f"/app/{appid}/" in x)
        assert ("family library has it" in line) == (appid in owned), line
    assert f"{len(owned)} already in the family library" in first.embeds[0]["title"]


def _game_lines(handle) -> list[str]:
    return [line for r in handle.replies() for e in r.embeds
            for line in e.get("description", "").splitlines() if "/app/" in line]


async def test_wishlist_defaults_to_the_caller_and_explains_unlinked(start_world) -> None:
    world = await start_world(features=["wishlist"])
    fam = world.sandbox.family
    with trio.fail_after(60):
        await world.discord.send_message(WL, "!wishlist", author_id=DISCORD_IDS[3])
        msg = await world.discord.wait_for_message(WL, lambda m: bool(m.embeds))
        assert fam.members[3].persona in msg.embeds[0]["title"]
        handle = await world.discord.send_interaction("wishlist", user_id=1234, channel_id=WL)
        reply = await handle.wait_response()
    assert "not linked" in reply.content and reply.is_ephemeral


async def test_wishlist_member_by_mention_or_steamid64(start_world) -> None:
    world = await start_world(features=["wishlist"])
    fam = world.sandbox.family
    with trio.fail_after(60):
        for ref, member in ((f"<@{DISCORD_IDS[1]}>", fam.members[1]),
                            (str(fam.members[4].steamid), fam.members[4])):  # 4 is unlinked
            handle = await world.discord.send_interaction(
                "wishlist", {"member": ref}, user_id=DISCORD_IDS[0], channel_id=WL)
            reply = await handle.wait_response()
            assert reply.embeds[0]["title"].startswith(f"{member.persona}'s wishlist")
        outsider = "76561197960287930"  # a valid SteamID64 outside the family
        handle = await world.discord.send_interaction(
            "wishlist", {"member": outsider}, user_id=DISCORD_IDS[0], channel_id=WL)
        reply = await handle.wait_response()
    assert "not in the family" in reply.content and reply.is_ephemeral
    assert await world.app.store.wishlist.items(int(outsider)) == []


async def test_private_or_failing_wishlists_keep_their_cached_copies(start_world) -> None:
    world = await start_world(features=["wishlist"])
    fam = world.sandbox.family
    member = fam.members[1]
    with trio.fail_after(60):
        assert (await world.app.scheduler.run_now("wishlist")).ok
        before = [i.appid for i in await world.app.store.wishlist.items(member.steamid)]
        first_ids = [m.id for m in world.discord.messages(WL)]
        fam.private_wishlist.add(member.steamid)  # Steam now answers {}
        world.sandbox.remove_from_wishlist(member.steamid, before[0])
        assert (await world.app.scheduler.run_now("wishlist")).ok
        assert [i.appid for i in await world.app.store.wishlist.items(member.steamid)] == before
        anomalies = await world.app.store.state.anomalies()
        assert any("not public" in a.reason and a.subject == str(member.steamid)
                   for a in anomalies)

        fam.private_wishlist.discard(member.steamid)
        world.sandbox.fail_next("steam_webapi.GetWishlist", "403", n=len(fam.members))
        outcome = await world.app.scheduler.run_now("wishlist")
        assert outcome.ok, outcome.error  # every fetch failed: the list is still updated
        assert [i.appid for i in await world.app.store.wishlist.items(member.steamid)] == before
    assert [m.id for m in world.discord.messages(WL)] == first_ids
    assert all(m.edits == 0 for m in world.discord.messages(WL))  # nothing changed


async def test_a_deeper_discount_lists_first_even_against_a_small_lowest_ever(start_world
                                                                              ) -> None:
    world = await start_world(features=["wishlist"])
    fam = world.sandbox.family
    expected = _expected_common(fam)
    # two full-price paid games with the same number of wishers (same group of the list)
    by_count: dict[int, list[int]] = {}
    for appid, n in sorted(expected.items()):
        if not fam.prices[appid].discount_pct and not fam.prices[appid].is_free:
            by_count.setdefault(n, []).append(appid)
    small, deep = next(ids[:2] for ids in by_count.values() if len(ids) >= 2)
    world.sandbox.start_sale(small, 10)
    world.sandbox.set_historical_low(small)  # -10 %: its lowest price ever
    world.sandbox.start_sale(deep, 80)
    world.sandbox.set_historical_low(deep, 1)  # -80 %, far above its $0.01 low
    with trio.fail_after(60):
        outcome = await world.app.scheduler.run_now("wishlist")
        assert outcome.ok, outcome.error
    text = _text(world)
    assert "(-80%" in text and "(-10%" in text
    assert text.index(f"/app/{deep}/") < text.index(f"/app/{small}/")
