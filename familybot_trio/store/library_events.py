"""Library events: the changes of the family library that are not new games.

A game leaving the library, a member buying an extra copy of a game the family had, and a
game that stops being shareable are recorded by `LibraryRepo.apply_snapshot` in the
snapshot's own transaction (`record_events`), so no change is recorded twice or missed.
The daily digest (features/library_digest.py) reads the pending events and, in ONE write
transaction, queues its outbox rows and marks the events digested (`digest`): exactly one
digest mentions each event.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence

from familybot_trio.store._db import Database
from familybot_trio.store.outbox import insert_drafts
from familybot_trio.store.records import (
    AppId,
    LibraryDelta,
    LibraryEvent,
    OutboxDraft,
    OutboxId,
    SteamID64,
    from_ts,
    to_ts,
)

#: Builds the digest's outbox drafts from the pending events (in the writer thread: pure,
#: quick, no trio calls). An empty result leaves the events pending.
DigestPlanner = Callable[[Sequence[LibraryEvent]], Sequence[OutboxDraft]]


def record_events(c: sqlite3.Connection, delta: LibraryDelta, now_ts: int) -> None:
    """Write the delta's removals, extra copies and exclusions (inside apply_snapshot)."""
    rows = [("removed", int(a), "", 0) for a in delta.removed]
    rows += [("copy_added", int(a), ",".join(str(int(s)) for s in owners), 0)
             for a, owners in delta.copies_added]
    rows += [("excluded", int(a), "", int(reason)) for a, reason in delta.excluded]
    c.executemany("INSERT INTO library_events (kind, appid, owners, exclude_reason, at)"
                  " VALUES (?, ?, ?, ?, ?)", [(*r, now_ts) for r in rows])


def _read_pending(c: sqlite3.Connection) -> list[LibraryEvent]:
    return [LibraryEvent(id=r[0], kind=r[1], appid=AppId(r[2]),
                         owners=tuple(SteamID64(int(s)) for s in r[3].split(",") if s),
                         exclude_reason=r[4], at=from_ts(r[5]))  # type: ignore[arg-type]
            for r in c.execute("SELECT id, kind, appid, owners, exclude_reason, at"
                               " FROM library_events WHERE digested_at IS NULL ORDER BY id")]


class LibraryEventsRepo:
    """The library_events table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def pending(self) -> list[LibraryEvent]:
        """Events no digest has mentioned yet, oldest first. Raises: StoreError."""
        return await self._db.read(_read_pending, "library_events.pending")

    async def digest(self, plan: DigestPlanner, now: dt.datetime) -> list[OutboxId]:
        """Queue the digest of every pending event and mark them digested, atomically.

        Args: plan: events -> outbox drafts (see DigestPlanner); now: UTC time.
        Returns: the outbox ids inserted ([] when nothing was pending or plan gave nothing).
        Raises: StoreError; whatever `plan` raises (then nothing is written).
        Cancellation: the transaction finishes before Cancelled.
        """
        now_ts = to_ts(now)

        def _write(c: sqlite3.Connection) -> list[OutboxId]:
            events = _read_pending(c)
            drafts = plan(events) if events else []
            if not drafts:
                return []
            ids = insert_drafts(c, drafts, now)
            c.execute("UPDATE library_events SET digested_at = ? WHERE digested_at IS NULL"
                      " AND id <= ?", (now_ts, events[-1].id))
            return ids

        return await self._db.write(_write, "library_events.digest")
