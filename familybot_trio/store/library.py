"""The family library: which apps the family shares, who owns them, what changed.

`apply_snapshot` is the one way the library changes. It diffs a full snapshot from Steam
against the stored library, records the new state, and lets the caller plan outbox rows
from the diff, all in ONE write transaction: the new-games feature can never record a game
as seen without also queueing its announcement, nor announce one it did not record.

Removed apps keep their row with `removed_at` set, so an app that leaves (refund, owner
left the family) and comes back within RETURN_WINDOW is reported as `returned`, not `new`.
An app in the library whose stored exclude_reason was non-zero and is 0 in the snapshot
(a pre-order released, a pending purchase settled) is reported as `shareable`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from familybot_trio.store import _guard
from familybot_trio.store._db import Database
from familybot_trio.store.library_view import VIEW
from familybot_trio.store.library_events import record_events
from familybot_trio.store.outbox import insert_drafts
from familybot_trio.store.records import (
    AppId,
    LibraryApp,
    LibraryChange,
    LibraryDelta,
    LibraryEntry,
    OutboxDraft,
    SnapshotResult,
    SteamID64,
    from_ts,
    to_ts,
)

RETURN_WINDOW: Final = dt.timedelta(days=30)

#: Called inside the write transaction (in the writer thread) with the diff; returns the
#: outbox drafts to insert. Must be pure and quick: no trio calls, no network, no I/O.
Planner = Callable[[LibraryDelta], Sequence[OutboxDraft]]

_EMPTY: Final = LibraryDelta(new=(), returned=(), removed=(), is_initial=False)


def _active_state(c: sqlite3.Connection) -> dict[int, tuple[int, frozenset[int]]]:
    """appid -> (exclude_reason, owner SteamID64s) of every active app, before a snapshot."""
    owners: dict[int, set[int]] = {}
    for appid, steamid in c.execute("SELECT appid, steamid FROM library_owners"):
        owners.setdefault(appid, set()).add(steamid)
    return {a: (reason, frozenset(owners.get(a, ()))) for a, reason in c.execute(
        "SELECT appid, exclude_reason FROM library_apps WHERE removed_at IS NULL")}


def _changes(before: dict[int, tuple[int, frozenset[int]]], snapshot: dict[AppId, LibraryEntry]
             ) -> tuple[tuple[tuple[AppId, tuple[SteamID64, ...]], ...],
                        tuple[tuple[AppId, int], ...]]:
    """Extra copies and new exclusions among apps that were active before the snapshot."""
    copies, excluded = [], []
    for appid, e in sorted(snapshot.items()):
        old = before.get(appid)
        if old is None:
            continue
        added = sorted({int(s) for s in e.owner_steamids} - old[1])
        if added:
            copies.append((appid, tuple(SteamID64(s) for s in added)))
        if old[0] == 0 and e.exclude_reason != 0:
            excluded.append((appid, e.exclude_reason))
    return tuple(copies), tuple(excluded)


class LibraryRepo:
    """The family library table and its owners."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply_snapshot(self, entries: Iterable[LibraryEntry], now: dt.datetime, *,
                             plan: Planner | None = None, force: bool = False) -> SnapshotResult:
        """Record a full library snapshot and the outbox rows it causes, atomically.

        Args: entries: every app of the family library now (duplicates: last wins);
            now: UTC time of the fetch; plan: builds outbox drafts from the diff (see
            Planner), inserted in the same transaction; force: skip the shrink guard.
        Returns: SnapshotResult: applied=False with `anomaly` when the snapshot is
            suspicious (empty, or less than half of the library; the old library is kept,
            a fetch_anomalies row is written, a WARNING logged); else the delta and the
            outbox ids inserted (duplicates by dedupe_key skipped).
        Raises: StoreError; whatever `plan` raises (then nothing at all is written).
        Cancellation: the transaction finishes (commit or rollback) before Cancelled.
        Upstream: IFamilyGroupsService/GetSharedLibraryApps/v1.
        """
        entries = list(entries)  # a cheap copy on the loop; the diffing happens in the thread
        now_ts = to_ts(now)
        assert now_ts is not None

        def _apply(c: sqlite3.Connection) -> SnapshotResult:
            snapshot = {e.appid: e for e in entries}
            rows = c.execute("SELECT appid, removed_at, exclude_reason FROM library_apps").fetchall()
            known = {r[0]: r[1] for r in rows}
            excluded = {r[0] for r in rows if r[2] != 0}
            before = _active_state(c)
            active = [a for a, removed in known.items() if removed is None]
            accepted = _guard.take_acceptance(c, "library", "family") or force
            reason = None if accepted else _guard.judge(len(active), len(snapshot))
            if reason is not None:
                _guard.record(c, "library", "family", reason, now_ts, len(active), len(snapshot))
                return SnapshotResult(applied=False, delta=_EMPTY, anomaly=reason)
            new: list[LibraryChange] = []
            returned: list[LibraryChange] = []
            shareable: list[LibraryChange] = []
            for appid, e in snapshot.items():
                row = (e.app_type, e.exclude_reason, to_ts(e.rt_time_acquired), now_ts, appid)
                if appid not in known:
                    c.execute("INSERT INTO library_apps (app_type, exclude_reason, rt_time_acquired,"
                              " last_seen_at, appid, first_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                              (*row, now_ts))
                    new.append(LibraryChange(e))
                else:
                    c.execute("UPDATE library_apps SET app_type = ?, exclude_reason = ?,"
                              " rt_time_acquired = ?, last_seen_at = ?, removed_at = NULL"
                              " WHERE appid = ?", row)
                    removed_at = from_ts(known[appid])
                    if removed_at is not None:
                        change = LibraryChange(e, removed_at)
                        (returned if now - removed_at <= RETURN_WINDOW else new).append(change)
                    elif appid in excluded and e.exclude_reason == 0:
                        shareable.append(LibraryChange(e))
            gone = tuple(AppId(a) for a in active if a not in snapshot)
            c.executemany("UPDATE library_apps SET removed_at = ? WHERE appid = ?",
                          [(now_ts, a) for a in gone])
            c.execute("DELETE FROM library_owners")
            c.executemany("INSERT OR IGNORE INTO library_owners (appid, steamid) VALUES (?, ?)",
                          [(a, int(s)) for a, e in snapshot.items() for s in e.owner_steamids])
            _guard.note_fetch(c, "library", "family", len(snapshot), now_ts)
            copies, newly_excluded = _changes(before, snapshot)
            delta = LibraryDelta(new=tuple(new), returned=tuple(returned), removed=gone,
                                 is_initial=not known, shareable=tuple(shareable),
                                 copies_added=copies, excluded=newly_excluded)
            if known:
                record_events(c, delta, now_ts)
            ids = insert_drafts(c, plan(delta), now) if plan is not None else []
            return SnapshotResult(applied=True, delta=delta, outbox_ids=tuple(ids))

        return await self._db.write(_apply, "library.apply_snapshot", changes=VIEW)

    async def apps(self, *, include_removed: bool = False) -> list[LibraryApp]:
        """The stored library, ordered by appid.

        Args: include_removed: also list apps that left (removed_at set).
        Returns: LibraryApp list. Raises: StoreError.
        Cancellation: waits for the (short) read, then raises Cancelled.
        """
        where = "" if include_removed else " WHERE a.removed_at IS NULL"

        def _read(c: sqlite3.Connection) -> list[LibraryApp]:
            owners: dict[int, list[SteamID64]] = {}
            for appid, steamid in c.execute("SELECT appid, steamid FROM library_owners"
                                            " ORDER BY appid, steamid"):
                owners.setdefault(appid, []).append(SteamID64(steamid))
            return [LibraryApp(appid=AppId(r[0]), owner_steamids=tuple(owners.get(r[0], ())),
                               app_type=r[1], exclude_reason=r[2], rt_time_acquired=from_ts(r[3]),
                               first_seen_at=from_ts(r[4]), removed_at=from_ts(r[5]))
                    for r in c.execute("SELECT a.appid, a.app_type, a.exclude_reason,"
                                       " a.rt_time_acquired, a.first_seen_at, a.removed_at"
                                       f" FROM library_apps a{where} ORDER BY a.appid")]

        return await self._db.read(_read, "library.apps")

    async def get(self, appid: AppId) -> LibraryApp | None:
        """One app (removed or not), or None if never seen. Raises: StoreError."""
        apps = await self.apps(include_removed=True)  # small table; one code path
        return next((a for a in apps if a.appid == appid), None)

    async def unknown_appids(self, appids: Iterable[AppId]) -> list[AppId]:
        """Which of `appids` apply_snapshot would report as new or returning.

        Use it to fetch app details for likely-new apps before apply_snapshot, so the
        planner can decide from cached details. Returns: appids not active in the library.
        Raises: StoreError. Cancellation: waits for the read, then raises Cancelled.
        """
        wanted = list(dict.fromkeys(appids))

        def _read(c: sqlite3.Connection) -> list[AppId]:
            active = {r[0] for r in c.execute(
                "SELECT appid FROM library_apps WHERE removed_at IS NULL")}
            return [a for a in wanted if a not in active]

        return await self._db.read(_read, "library.unknown_appids")
