"""The database layer: migrations, WAL, transactions under cancellation, reads beside writes."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest
import trio
import trio.testing

from familybot_trio import blocking
from familybot_trio.errors import StoreError
from familybot_trio.store import SCHEMA_VERSION, Store
from familybot_trio.store._schema import MIGRATIONS

EXPECTED_TABLES = {
    "members", "library_apps", "library_owners", "app_details", "prices", "itad_ids",
    "wishlist_items", "owned_games", "fetches", "outbox", "posted_free_games", "kv",
    "schedule_runs", "fetch_anomalies", "cache", "library_events", "dashboard_sessions", "dashboard_links",
    "alert_settings",
}


def _sql(path: Path, *statements: str) -> list[tuple]:
    """Run raw SQL on a separate connection (in a worker thread via the test)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        rows: list[tuple] = []
        for s in statements:
            rows = conn.execute(s).fetchall()
        return rows
    finally:
        conn.close()


async def test_migrates_from_zero_and_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "fb.db"  # the folder is created too
    with trio.fail_after(10):
        async with Store.open_ctx(path) as store:
            assert await store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
            counts = await store.row_counts()
            assert set(counts) == EXPECTED_TABLES and not any(counts.values())
            await store.state.set("marker", {"kept": True}, _now())
        async with Store.open_ctx(path) as store:  # second open: nothing to migrate, data kept
            assert await store.schema_version() == SCHEMA_VERSION
            assert await store.state.get("marker") == {"kept": True}
            assert await store.integrity_check() == []


async def test_migrates_stepwise_from_version_1(tmp_path: Path) -> None:
    path = tmp_path / "fb.db"
    await blocking.run_sync("files", _sql, path, *MIGRATIONS[0], "PRAGMA user_version = 1",
                            "INSERT INTO kv VALUES ('old', '1', 0)")
    with trio.fail_after(10):
        async with Store.open_ctx(path) as store:
            assert await store.schema_version() == SCHEMA_VERSION == 8
            assert await store.state.get("old") == 1
            assert "fetch_anomalies" in await store.row_counts()
            assert "library_events" in await store.row_counts()


async def test_v8_marks_the_first_anomaly_of_each_nature_as_a_streak_start(tmp_path: Path
                                                                          ) -> None:
    """Anomalies recorded before v8 get starts_streak by the first-of-its-nature rule."""
    path = tmp_path / "fb.db"
    rows = [("wishlist", "7", "came back empty, had 9", 9, 0), ("wishlist", "7", "again", 9, 0),
            ("wishlist", "7", "private", None, None), ("library", "family", "shrank", 40, 3)]
    await blocking.run_sync(
        "files", _sql, path, *(s for m in MIGRATIONS[:7] for s in m), "PRAGMA user_version = 7",
        *(f"INSERT INTO fetch_anomalies (kind, subject, reason, previous_count, new_count, at)"
          f" VALUES ('{k}', '{s}', '{r}', {p or 'NULL'}, {'NULL' if n is None else n}, {i})"
          for i, (k, s, r, p, n) in enumerate(rows)))
    with trio.fail_after(10):
        async with Store.open_ctx(path) as store:
            starts = await store.state.streak_starts(after_id=0)
    assert [a.reason for a in starts] == ["came back empty, had 9", "private", "shrank"]


async def test_newer_schema_is_refused_with_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "fb.db"
    await blocking.run_sync("files", _sql, path, "PRAGMA user_version = 99")
    with trio.fail_after(10), pytest.raises(StoreError, match="newer than this familybot-trio"):
        await Store.open(path)


async def test_wal_foreign_keys_and_busy_timeout_are_on(store: Store) -> None:
    pragmas = await store.run_read(lambda c: [c.execute(f"PRAGMA {p}").fetchone()[0] for p in
                                              ("journal_mode", "foreign_keys", "busy_timeout")])
    assert pragmas[0] == "wal" and pragmas[1] == 1 and pragmas[2] >= 1000
    writer = await store.run_write(lambda c: [c.execute(f"PRAGMA {p}").fetchone()[0] for p in
                                              ("journal_mode", "foreign_keys")])
    assert writer == ["wal", 1]
    with pytest.raises(StoreError, match="FOREIGN KEY"):
        await store.run_write(lambda c: c.execute(
            "INSERT INTO library_owners (appid, steamid) VALUES (1, 2)"))


async def test_cancelled_write_still_commits_fully(store: Store) -> None:
    token = trio.lowlevel.current_trio_token()
    started, proceed = trio.Event(), threading.Event()
    finished: list[str] = []

    def slow_write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO kv VALUES ('a', '1', 0)")
        trio.from_thread.run_sync(started.set, trio_token=token)
        proceed.wait(10)
        conn.execute("INSERT INTO kv VALUES ('b', '2', 0)")

    async def writer(scope: trio.CancelScope) -> None:
        with scope:
            await store.run_write(slow_write)
            finished.append("write returned")
            await trio.sleep(0)
            finished.append("not reached")  # the checkpoint above raises Cancelled

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            scope = trio.CancelScope()
            nursery.start_soon(writer, scope)
            await started.wait()
            scope.cancel()
            await trio.testing.wait_all_tasks_blocked()
            assert finished == []  # cancelled, but still waiting for the thread to commit
            proceed.set()
        assert finished == ["write returned"] and scope.cancelled_caught
        assert await store.state.get("a") == 1 and await store.state.get("b") == 2


async def test_failing_write_rolls_back_fully(store: Store) -> None:
    def half_write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO kv VALUES ('a', '1', 0)")
        raise ValueError("planner refused")

    with trio.fail_after(10):
        with pytest.raises(ValueError, match="planner refused"):
            await store.run_write(half_write)
        assert await store.state.get("a") is None
        await store.state.set("after", 1, _now())  # the writer is usable again
        assert await store.state.get("after") == 1


async def test_reads_run_while_a_write_is_open(store: Store) -> None:
    token = trio.lowlevel.current_trio_token()
    in_tx, proceed = trio.Event(), threading.Event()

    def long_write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO kv VALUES ('x', '\"new\"', 0)")
        trio.from_thread.run_sync(in_tx.set, trio_token=token)
        proceed.wait(10)

    with trio.fail_after(10):
        await store.state.set("x", "old", _now())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store.run_write, lambda c: (c.execute("DELETE FROM kv"), long_write(c)))
            await in_tx.wait()
            # several reads at once, all finishing while the write transaction is open
            seen: list[object] = []
            async with trio.open_nursery() as readers:
                for _ in range(4):
                    readers.start_soon(lambda: _append(seen, store.state.get("x")))
            assert seen == ["old"] * 4  # the snapshot before the write
            proceed.set()
        assert await store.state.get("x") == "new"


async def _append(out: list[object], aw) -> None:  # type: ignore[no-untyped-def]
    out.append(await aw)


async def test_sqlite_errors_become_store_errors_and_closed_store_refuses(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "fb.db")
    with pytest.raises(StoreError, match="no such table"):
        await store.run_read(lambda c: c.execute("SELECT * FROM nope").fetchall(), op="probe")
    with pytest.raises(StoreError, match="readonly|attempt to write"):
        await store.run_read(lambda c: c.execute("DELETE FROM kv"))  # readers are query_only
    await store.aclose()
    await store.aclose()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await store.state.get("a")
    with pytest.raises(StoreError, match="closed"):
        await store.state.set("a", 1, _now())


async def test_backup_integrity_and_row_counts(store: Store, tmp_path: Path) -> None:
    with trio.fail_after(10):
        await store.state.set("k", [1, 2], _now())
        dest = await store.backup(tmp_path / "backups" / "fb-1.db")
        assert dest.exists() and not dest.with_name(dest.name + ".tmp").exists()
        assert (await store.row_counts())["kv"] == 1
        async with Store.open_ctx(dest) as copy:
            assert await copy.state.get("k") == [1, 2]
            assert await copy.integrity_check() == []


def _now() -> dt.datetime:
    return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def test_reader_pool_stays_within_the_limiter(store: Store) -> None:
    size = blocking.limiter("sqlite_read").total_tokens
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            for i in range(5 * int(size)):
                nursery.start_soon(store.state.get, f"k{i}")
    assert 1 <= len(store._db._idle) <= size  # never more reader connections than tokens


async def test_aclose_closes_even_when_cancelled(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "fb.db")
    with trio.CancelScope() as scope:
        scope.cancel()
        await store.aclose()  # shielded, bounded: still closes
    assert store._db._writer is None
    async with Store.open_ctx(tmp_path / "fb.db") as again:  # the file is fine afterwards
        assert await again.integrity_check() == []


async def test_big_snapshot_does_not_hold_the_loop(store: Store) -> None:
    from familybot_trio.store import AppId, LibraryEntry, OutboxDraft, SteamID64

    owners = (SteamID64(76561198000000001), SteamID64(76561198000000002))
    snap = [LibraryEntry(AppId(a), owners, "game") for a in range(10, 10010, 2)]

    def plan(delta):  # type: ignore[no-untyped-def]
        return [OutboxDraft("new_game", f"n:{c.entry.appid}", 1, {"a": c.entry.appid})
                for c in delta.new]

    with trio.fail_after(60):
        result = await store.library.apply_snapshot(snap, _now(), plan=plan)
        assert len(result.new_appids) == 5_000 and len(result.outbox_ids) == 5_000
        assert len(await store.library.apps()) == 5_000
    # the loop-block detector (tests/conftest.py) fails this test if any step held the loop
