"""SQLite connections under the concurrency policy: one writer, a small pool of readers.

Why this shape: SQLite allows one writer at a time, and in WAL mode readers see the last
committed state without waiting for the writer. So there is exactly one writer connection,
used only under the "sqlite_write" limiter (size 1), and readers come from a pool used under
"sqlite_read" (size N, so at most N reader connections ever exist). A connection is handed
to one worker thread at a time (`check_same_thread=False` is safe because of that).

Transactions: `write(fn)` runs `fn(conn)` inside BEGIN IMMEDIATE .. COMMIT in a worker
thread and rolls back if `fn` raises. It is not abandoned on cancellation: a write that
started always finishes (commit or rollback) before the caller sees `Cancelled`. `read(fn)`
runs `fn(conn)` inside a deferred transaction, so several SELECTs see one snapshot.

Versions: a write can name what it changes (`changes=("library_view",)`); `version(topic)`
counts those writes (bumped after the transaction ends, commit or not), so an in-memory read
model built at version v is current while `version(topic) == v` (this process's writes only).

No sqlite3 exception leaves this module: they become `StoreError` naming the operation.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

import trio

from familybot_trio import blocking, files, offloop
from familybot_trio.errors import StoreError
from familybot_trio.store._schema import MIGRATIONS, SCHEMA_VERSION

T = TypeVar("T")
log = logging.getLogger("familybot_trio.store")

BUSY_TIMEOUT_MS: Final = 5_000  # a backup or a foreign writer may hold the lock briefly
CLOSE_TIMEOUT_S: Final = 10.0   # aclose waits this long for an in-flight write, then gives up
SLOW_OP_S: Final = 1.0          # a read or write slower than this (queue included) logs a WARNING


def _connect(path: Path, *, reader: bool) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (Python's implicit transactions
    # would commit behind our back around DDL).
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False, factory=offloop.connection_factory())
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if reader:
        conn.execute("PRAGMA query_only = ON")
    else:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            conn.close()
            raise StoreError(f"cannot switch {path} to WAL mode (got {mode!r}); "
                             "put the data directory on a local disk, not a network share")
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster commits
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> tuple[int, int]:
    """Apply pending migrations, each in its own transaction. Returns (from, to) versions."""
    start = conn.execute("PRAGMA user_version").fetchone()[0]
    if start > SCHEMA_VERSION:
        raise StoreError(f"{path} has schema version {start}, newer than this familybot-trio "
                         f"knows ({SCHEMA_VERSION}); upgrade familybot-trio or restore a backup")
    for version in range(start + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("migrated database to schema version %d [path:%s]", version, path)
    return start, SCHEMA_VERSION


class Database:
    """One SQLite file: the writer connection, the reader pool, and transaction helpers.

    Build with `await Database.open(path)`; close with `await db.aclose()`.
    """

    def __init__(self, path: Path, writer: sqlite3.Connection) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = writer
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards _idle and _closed across worker threads
        self._closed = False
        self._versions: dict[str, int] = {}

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Open (creating if needed) and migrate the database at `path`.

        Raises: StoreError (cannot open, not WAL, schema newer than the code, bad file).
        Cancellation: waits for the migration to finish, then raises Cancelled.
        """
        path = Path(path)

        def _open() -> Database:
            try:  # 0600 in a 0700 folder whichever command opens it first; no symlinks
                files.precreate(path)
            except (files.UnsafePath, OSError) as exc:
                raise StoreError(f"cannot open the database: {exc}") from exc
            writer = _connect(path, reader=False)
            try:
                _migrate(writer, path)
            except BaseException:
                writer.close()
                raise
            return cls(path, writer)

        return await _guarded("sqlite_write", _open, f"open {path}")

    def version(self, topic: str) -> int:
        """How many writes naming `topic` in `changes` ended so far (0 at open)."""
        return self._versions.get(topic, 0)

    async def write(self, fn: Callable[[sqlite3.Connection], T], op: str, *,
                    changes: tuple[str, ...] = ()) -> T:
        """Run `fn(conn)` in one write transaction (BEGIN IMMEDIATE .. COMMIT).

        Args: fn: sync, runs in a worker thread; raise to roll back. op: name for errors/logs.
            changes: topics whose `version` this write bumps (after it ends, even on error).
        Returns: what fn returns. Raises: StoreError (sqlite3 failure or closed store);
            whatever non-sqlite exception fn raises (after rollback).
        Cancellation: never abandoned; the caller waits for commit or rollback, then sees
            Cancelled.
        """

        def _tx() -> T:
            conn = self._writer
            if conn is None:
                raise StoreError(f"{op}: the store is closed; open it again with Store.open")
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        try:
            return await _guarded("sqlite_write", _tx, op)
        finally:
            for topic in changes:
                self._versions[topic] = self._versions.get(topic, 0) + 1

    async def read(self, fn: Callable[[sqlite3.Connection], T], op: str) -> T:
        """Run `fn(conn)` on a reader connection inside one read transaction (one snapshot).

        Args: fn: sync, read-only (the connection is query_only). op: name for errors.
        Returns: what fn returns. Raises: StoreError.
        Cancellation: waits for the read to finish (it is short), then raises Cancelled; not
            abandoned so the connection is never used by two threads.
        """

        def _tx() -> T:
            conn = self._take_reader(op)
            try:
                conn.execute("BEGIN")
                try:
                    return fn(conn)
                finally:
                    conn.execute("COMMIT")
            finally:
                self._give_back(conn)

        return await _guarded("sqlite_read", _tx, op)

    def _take_reader(self, op: str) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise StoreError(f"{op}: the store is closed; open it again with Store.open")
            if self._idle:
                return self._idle.pop()
        return _connect(self.path, reader=True)  # at most sqlite_read of them exist

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    async def aclose(self) -> None:
        """Close every connection; idempotent. Waits for an in-flight write first.

        Cancellation: closes even when cancelled (bounded shield of CLOSE_TIMEOUT_S); readers
            in use close themselves when their read ends.
        """

        def _close() -> None:
            with self._lock:
                idle, self._idle = self._idle, []
                writer, self._writer = self._writer, None
            for conn in idle:
                conn.close()
            if writer is not None:
                writer.execute("PRAGMA optimize")
                writer.close()

        with self._lock:
            if self._closed:
                return
            self._closed = True
        with trio.move_on_after(CLOSE_TIMEOUT_S) as scope:
            scope.shield = True
            await _guarded("sqlite_write", _close, "close")
        if scope.cancelled_caught:
            log.warning("store close timed out, connections left to the OS [path:%s]", self.path)


async def _guarded(limiter: str, fn: Callable[[], T], op: str) -> T:
    """blocking.run_sync(limiter, fn) with sqlite3 errors translated to StoreError."""

    ran_s = 0.0

    def _call() -> T:
        nonlocal ran_s
        t0 = time.perf_counter()
        try:
            return fn()
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", exc.__class__.__name__)
            raise StoreError(f"{op} failed: {name}: {exc}; {_hint(exc)}") from exc
        finally:
            ran_s = time.perf_counter() - t0

    started = time.perf_counter()
    try:
        return await blocking.run_sync(limiter, _call, abandon_on_cancel=False)
    finally:
        total_s = time.perf_counter() - started
        if total_s > SLOW_OP_S:  # say whether the time went to the query or to the queue
            log.warning("database %s took %.1f s [queue_s:%.1f query_s:%.1f limiter:%s]",
                        op, total_s, total_s - ran_s, ran_s, limiter)
        else:
            log.debug("database %s done [ms:%.1f]", op, total_s * 1000)


def _hint(exc: sqlite3.Error) -> str:
    """The next step for a sqlite3 error, by kind."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "the data breaks a constraint (duplicate id or missing reference); check the input"
    if "locked" in str(exc) or "busy" in str(exc):
        return ("another process holds the database lock; stop other familybot-trio "
                "processes or tools using the file")
    if isinstance(exc, sqlite3.DatabaseError) and "malformed" in str(exc):
        return "the file is damaged; stop the bot and copy the newest backup over it"
    return "check free disk space and permissions, then run `familybot-trio db check`"
