"""Library snapshots with the outbox in one transaction, returns, and the outbox lifecycle."""

from __future__ import annotations

import datetime as dt

import pytest
import trio

from familybot_trio.store import (
    AppId,
    LibraryDelta,
    LibraryEntry,
    OutboxDraft,
    Snowflake,
    SteamID64,
    Store,
    insert_drafts,
)

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
ALICE, BOB = SteamID64(76561198000000001), SteamID64(76561198000000002)
CHANNEL = Snowflake(222222222222222221)


def entries(*appids: int, owner: SteamID64 = ALICE) -> list[LibraryEntry]:
    return [LibraryEntry(AppId(a), (owner,), "game", 0, T0) for a in appids]


def announce(delta: LibraryDelta) -> list[OutboxDraft]:
    return [OutboxDraft("new_game", f"new_game:{c.entry.appid}", CHANNEL,
                        {"appid": c.entry.appid}) for c in delta.new]


async def test_snapshot_records_state_and_outbox_together(store: Store) -> None:
    with trio.fail_after(10):
        first = await store.library.apply_snapshot(entries(10, 20), T0, plan=announce)
        assert first.applied and first.delta.is_initial
        assert sorted(first.new_appids) == [10, 20] and len(first.outbox_ids) == 2

        later = T0 + dt.timedelta(hours=1)
        snap = entries(10, 20) + [LibraryEntry(AppId(30), (ALICE, BOB), "game", 0, later)]
        second = await store.library.apply_snapshot(snap, later, plan=announce)
        assert second.new_appids == [30] and not second.delta.is_initial
        pending = await store.outbox.pending()
        assert [r.payload["appid"] for r in pending] == [10, 20, 30]
        assert pending[2].dedupe_key == "new_game:30" and pending[2].channel_id == CHANNEL
        assert len({r.nonce for r in pending}) == 3 and all(len(r.nonce) <= 25 for r in pending)
        apps = {a.appid: a for a in await store.library.apps()}
        assert apps[AppId(30)].owner_steamids == (ALICE, BOB)
        assert apps[AppId(10)].first_seen_at == T0


async def test_planner_failure_writes_nothing(store: Store) -> None:
    def broken(delta: LibraryDelta) -> list[OutboxDraft]:
        raise RuntimeError("no details cached")

    with trio.fail_after(10):
        await store.library.apply_snapshot(entries(10), T0, plan=announce)
        with pytest.raises(RuntimeError, match="no details cached"):
            await store.library.apply_snapshot(entries(10, 20), T0, plan=broken)
        # neither the new state nor any outbox row: the next run will see 20 as new again
        assert [a.appid for a in await store.library.apps()] == [10]
        assert [r.dedupe_key for r in await store.outbox.pending()] == ["new_game:10"]
        assert await store.library.unknown_appids([AppId(10), AppId(20)]) == [20]
        again = await store.library.apply_snapshot(entries(10, 20), T0, plan=announce)
        assert again.new_appids == [20]


async def test_removed_app_back_within_30_days_is_returned_not_new(store: Store) -> None:
    with trio.fail_after(10):
        await store.library.apply_snapshot(entries(1, 2, 3), T0, plan=announce)
        gone = await store.library.apply_snapshot(entries(1, 2), T0 + dt.timedelta(days=1))
        assert gone.delta.removed == (3,)
        app3 = await store.library.get(AppId(3))
        assert app3 is not None and app3.removed_at == T0 + dt.timedelta(days=1)
        assert [a.appid for a in await store.library.apps()] == [1, 2]

        back = await store.library.apply_snapshot(entries(1, 2, 3), T0 + dt.timedelta(days=10),
                                                  plan=announce)
        assert back.new_appids == [] and [c.entry.appid for c in back.delta.returned] == [3]
        assert back.delta.returned[0].removed_at == T0 + dt.timedelta(days=1)
        assert back.outbox_ids == ()
        app3 = await store.library.get(AppId(3))
        assert app3 is not None and app3.removed_at is None and app3.first_seen_at == T0

        await store.library.apply_snapshot(entries(1, 2), T0 + dt.timedelta(days=11))
        late = await store.library.apply_snapshot(entries(1, 2, 3), T0 + dt.timedelta(days=50),
                                                  plan=announce)
        assert late.new_appids == [3]  # gone for 39 days: new again
        assert late.outbox_ids == ()   # ... but its dedupe key was used: no second announcement


async def test_library_shrinking_by_more_than_half_is_kept(store: Store) -> None:
    with trio.fail_after(10):
        await store.library.apply_snapshot(entries(*range(1, 21)), T0)
        result = await store.library.apply_snapshot(entries(1, 2, 3), T0 + dt.timedelta(hours=1),
                                                    plan=announce)
        assert not result.applied and "shrank from 20 to 3" in result.anomaly
        assert len(await store.library.apps()) == 20
        empty = await store.library.apply_snapshot([], T0 + dt.timedelta(hours=2))
        assert not empty.applied and "empty" in empty.anomaly
        assert len(await store.library.apps()) == 20
        flagged = await store.state.anomalies()
        assert [(a.kind, a.previous_count, a.new_count) for a in flagged] == [
            ("library", 20, 0), ("library", 20, 3)]
        forced = await store.library.apply_snapshot(entries(1, 2, 3), T0, force=True)
        assert forced.applied and len(forced.delta.removed) == 17


async def test_outbox_lifecycle_and_dedupe(store: Store) -> None:
    with trio.fail_after(10):
        ids = await store.outbox.enqueue([
            OutboxDraft("deal", "deal:1:US:1", CHANNEL, {"text": "1 is on sale"}),
            OutboxDraft("deal", "deal:2:US:1", CHANNEL, {"text": "2 is on sale"})], T0)
        assert len(ids) == 2
        assert await store.outbox.enqueue([OutboxDraft("deal", "deal:1:US:1", CHANNEL)], T0) == []
        assert await store.outbox.mark_failed(ids[0], "HTTP 500 from Discord") == 1
        assert await store.outbox.mark_sent(ids[1], Snowflake(999), T0) is True
        assert await store.outbox.mark_sent(ids[1], Snowflake(1000), T0) is False
        pending = await store.outbox.pending()
        assert [(r.id, r.attempts, r.last_error) for r in pending] == [
            (ids[0], 1, "HTTP 500 from Discord")]
        assert await store.outbox.pending(max_attempts=1) == []
        sent = await store.outbox.get(ids[1])
        assert sent is not None and sent.message_id == 999 and sent.sent_at == T0


async def test_custom_transaction_with_outbox_is_atomic(store: Store) -> None:
    def claim_and_announce(conn):  # type: ignore[no-untyped-def]
        conn.execute("INSERT INTO kv VALUES ('wishlist_pin', '1', 0)")
        insert_drafts(conn, [OutboxDraft("wishlist", "wishlist:1", CHANNEL, {})], T0)
        raise KeyError("crash before commit")

    with trio.fail_after(10):
        with pytest.raises(KeyError):
            await store.run_write(claim_and_announce)
        assert await store.outbox.pending() == []
        assert await store.state.get("wishlist_pin") is None
