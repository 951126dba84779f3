"""The SQLite store: schema, migrations and one repository per concept.

    async with Store.open_ctx(config.db_path) as store:
        result = await store.library.apply_snapshot(entries, now, plan=plan_new_games)
        for row in await store.outbox.pending():
            ...

Every call goes through the concurrency policy (familybot_trio.blocking): writes run on the
single writer connection under "sqlite_write" and are never abandoned on cancellation;
reads use a pool of reader connections under "sqlite_read" (WAL lets them run beside a
write). No sqlite3 error escapes: they become familybot_trio.errors.StoreError.
Repositories: members, library, catalog (details, prices, ITAD ids), wishlist, owned,
outbox, state (kv, schedule runs, posted free games, fetch anomalies), cache (generic
expiring text cache backing upstream.CatalogCache), sessions (dashboard sign-in).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self, TypeVar

from familybot_trio import files
from familybot_trio import errors as _errors
from familybot_trio.store import _db
from familybot_trio.store._db import _guarded
from familybot_trio.store._schema import SCHEMA_VERSION
from familybot_trio.store.cache import CacheRepo
from familybot_trio.store.catalog import CatalogRepo
from familybot_trio.store.library import RETURN_WINDOW, LibraryRepo, Planner
from familybot_trio.store.alerts import AlertSettings, AlertsRepo
from familybot_trio.store.library_events import LibraryEventsRepo
from familybot_trio.store.members import MembersRepo
from familybot_trio.store.outbox import OutboxRepo, insert_drafts
from familybot_trio.store.records import (
    AppDetails,
    AppId,
    FetchAnomaly,
    LibraryApp,
    LibraryChange,
    LibraryDelta,
    LibraryEntry,
    LibraryEvent,
    MemberRecord,
    OutboxDraft,
    OutboxId,
    OutboxRow,
    OwnedGame,
    Price,
    ReplaceResult,
    ScheduleRun,
    Snowflake,
    SnapshotResult,
    SteamID64,
    WishlistItem,
)
from familybot_trio.store.library_view import VIEW_TOPIC as _VIEW_TOPIC
from familybot_trio.store.library_view import LibraryRow, LibraryViewRepo
from familybot_trio.store.sessions import DashboardSession, SessionsRepo
from familybot_trio.store.state import StateRepo
from familybot_trio.store.wishlist import OwnedGamesRepo, WishlistRepo

_T = TypeVar("_T")

__all__ = [
    "RETURN_WINDOW", "SCHEMA_VERSION", "AlertSettings", "AppDetails", "AppId",
    "DashboardSession", "FetchAnomaly", "LibraryApp", "LibraryChange", "LibraryDelta",
    "LibraryEntry", "LibraryRow", "LibraryEvent", "MemberRecord", "OutboxDraft", "OutboxId", "OutboxRow",
    "OwnedGame", "Planner", "Price", "ReplaceResult", "ScheduleRun", "SnapshotResult",
    "Snowflake", "SteamID64", "Store", "WishlistItem", "insert_drafts",
    # the repositories: the types of Store's attributes (store.library, store.catalog, ...)
    "AlertsRepo", "CacheRepo", "CatalogRepo", "LibraryEventsRepo", "LibraryRepo", "LibraryViewRepo",
    "MembersRepo", "OutboxRepo", "OwnedGamesRepo", "SessionsRepo", "StateRepo", "WishlistRepo",
]


class Store:
    """The open database and its repositories. Build with `await Store.open(path)`."""

    def __init__(self, db: _db.Database) -> None:
        self._db = db
        self.path = db.path
        self.members = MembersRepo(db)
        self.library = LibraryRepo(db)
        self.library_events = LibraryEventsRepo(db)
        self.alerts = AlertsRepo(db)
        self.catalog = CatalogRepo(db)
        self.wishlist = WishlistRepo(db)
        self.owned = OwnedGamesRepo(db)
        self.outbox = OutboxRepo(db)
        self.state = StateRepo(db)
        self.cache = CacheRepo(db)
        self.sessions = SessionsRepo(db)
        self.library_view = LibraryViewRepo(db)

    @classmethod
    async def open(cls, path: Path) -> Self:
        """Open (create) the database at `path` and migrate it to SCHEMA_VERSION.

        Raises: StoreError (cannot open, cannot use WAL, schema newer than this code).
        Cancellation: the migration finishes before Cancelled is raised.
        """
        return cls(await _db.Database.open(Path(path)))

    @classmethod
    @asynccontextmanager
    async def open_ctx(cls, path: Path) -> AsyncIterator[Self]:
        """`async with Store.open_ctx(path) as store:`; closes on exit, even when cancelled."""
        store = await cls.open(path)
        try:
            yield store
        finally:
            await store.aclose()

    async def aclose(self) -> None:
        """Close all connections; idempotent; waits for an in-flight write (bounded)."""
        await self._db.aclose()

    async def run_write(self, fn: Callable[[sqlite3.Connection], _T], *, op: str = "") -> _T:
        """Escape hatch: run `fn(conn)` in one write transaction on the writer connection.

        Args: fn: sync, runs in the writer thread; raise to roll back everything it did;
            may call `insert_drafts(conn, drafts, now)` to queue announcements atomically.
            op: a name for errors and logs (default: fn's name).
        Returns: what fn returns. Raises: StoreError for sqlite3 errors; fn's own errors.
        Cancellation: never abandoned; commit or rollback happens before Cancelled.
        """
        return await self._db.write(fn, op or getattr(fn, "__name__", "run_write"),
                                    changes=(_VIEW_TOPIC,))  # it may touch anything

    async def run_read(self, fn: Callable[[sqlite3.Connection], _T], *, op: str = "") -> _T:
        """Escape hatch: run `fn(conn)` on a query_only reader inside one read snapshot.

        Returns: what fn returns. Raises: StoreError.
        Cancellation: waits for the read, then raises Cancelled.
        """
        return await self._db.read(fn, op or getattr(fn, "__name__", "run_read"))

    async def backup(self, dest: Path) -> Path:
        """Copy the live database to `dest` with SQLite's online backup API.

        Writes `dest` + ".tmp" first and renames, so `dest` is always a complete database.
        Returns: dest. Raises: StoreError.
        Cancellation: the copy finishes before Cancelled is raised.
        """
        dest = Path(dest)
        tmp = dest.with_name(dest.name + ".tmp")

        def _backup(conn: sqlite3.Connection) -> Path:
            try:  # the backups folder 0700 (a planted symlink refused), the copy 0600
                files.precreate(tmp, strict=False)
            except (files.UnsafePath, OSError) as exc:
                raise _errors.StoreError(f"cannot write the backup: {exc}") from exc
            target = sqlite3.connect(tmp)
            try:
                conn.backup(target)
            finally:
                target.close()
            tmp.replace(dest)
            return dest

        # Not inside read(): backup() must not run within an open transaction on conn.
        def _with_reader() -> Path:
            reader = self._db._take_reader("backup")
            try:
                return _backup(reader)
            finally:
                self._db._give_back(reader)

        return await _guarded("sqlite_read", _with_reader, f"backup to {dest}")

    async def integrity_check(self) -> list[str]:
        """PRAGMA integrity_check. Returns: problems found ([] = healthy). Raises: StoreError."""
        rows = await self.run_read(
            lambda c: [r[0] for r in c.execute("PRAGMA integrity_check")], op="integrity_check")
        return [] if rows == ["ok"] else rows

    async def row_counts(self) -> dict[str, int]:
        """Rows per table (sqlite_* internals excluded), by table name. Raises: StoreError."""
        def _count(c: sqlite3.Connection) -> dict[str, int]:
            names = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            return {n: c.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        return await self.run_read(_count, op="row_counts")

    async def schema_version(self) -> int:
        """PRAGMA user_version of the open database."""
        return await self.run_read(lambda c: c.execute("PRAGMA user_version").fetchone()[0],
                                   op="schema_version")
