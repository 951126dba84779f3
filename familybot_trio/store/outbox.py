"""The announcement outbox: state changes and the messages they cause commit together.

A feature never posts straight to Discord after changing state: if the bot crashed between
the commit and the post, the announcement would be lost; in the other order, it would be
posted twice. Instead the feature inserts outbox rows in the same transaction that records
the new state (`insert_drafts(conn, ...)` inside `Store.run_write`, or a repository method
that takes a planner, like `LibraryRepo.apply_snapshot`). A sender task reads `pending()`,
posts each row with its `nonce` (Discord's `enforce_nonce` makes a retry after a crash post
once) and calls `mark_sent`.

`dedupe_key` is UNIQUE for good: the same announcement drafted twice (two overlapping runs,
a game back in the library) is silently dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Final

from familybot_trio.store._db import Database
from familybot_trio.store.records import (
    OutboxDraft,
    OutboxId,
    OutboxRow,
    Snowflake,
    from_ts,
    to_ts,
)

NONCE_BYTES: Final = 12  # 24 hex chars; Discord accepts nonces up to 25 characters
MAX_ERROR_CHARS: Final = 500

_COLUMNS: Final = ("id, kind, dedupe_key, channel_id, payload, nonce, created_at, sent_at,"
                   " message_id, attempts, last_error, next_attempt_at, claimed_at, failed_at,"
                   " dropped_at")
#: Row states as SQL conditions (see OutboxRow.status).
_WHERE: Final = {
    "pending": "sent_at IS NULL AND dropped_at IS NULL AND failed_at IS NULL",
    "failed": "sent_at IS NULL AND dropped_at IS NULL AND failed_at IS NOT NULL",
    "dropped": "sent_at IS NULL AND dropped_at IS NOT NULL",
    "sent": "sent_at IS NOT NULL",
    "unsent": "sent_at IS NULL AND dropped_at IS NULL",
}
#: What `rows()` and the admin views accept as a status filter.
STATUSES: Final = tuple(_WHERE)


def insert_drafts(conn: sqlite3.Connection, drafts: Sequence[OutboxDraft],
                  now: dt.datetime, *, not_before: dt.datetime | None = None) -> list[OutboxId]:
    """Insert drafts inside the caller's write transaction; duplicates are skipped.

    Args: conn: the writer connection inside `Store.run_write` (or a planner callback);
        drafts; now: UTC time of creation; not_before: UTC time before which the sender
        leaves the rows alone (a member's quiet hours); None: due at once.
    Returns: ids of the rows actually inserted (a dedupe_key seen before yields nothing).
    Raises: sqlite3.Error (translated to StoreError by run_write); TypeError if a payload
        is not JSON-serialisable.
    """
    ids: list[OutboxId] = []
    for draft in drafts:
        cur = conn.execute(
            "INSERT INTO outbox (kind, dedupe_key, channel_id, payload, nonce, created_at,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
            (draft.kind, draft.dedupe_key, int(draft.channel_id),
             json.dumps(dict(draft.payload), separators=(",", ":")),
             secrets.token_hex(NONCE_BYTES), to_ts(now), to_ts(not_before)))
        if cur.rowcount:
            ids.append(OutboxId(cur.lastrowid))
    return ids


def _row(r: tuple) -> OutboxRow:
    return OutboxRow(id=OutboxId(r[0]), kind=r[1], dedupe_key=r[2], channel_id=Snowflake(r[3]),
                     payload=json.loads(r[4]), nonce=r[5], created_at=from_ts(r[6]),
                     sent_at=from_ts(r[7]), message_id=None if r[8] is None else Snowflake(r[8]),
                     attempts=r[9], last_error=r[10], next_attempt_at=from_ts(r[11]),
                     claimed_at=from_ts(r[12]), failed_at=from_ts(r[13]),
                     dropped_at=from_ts(r[14]))


class OutboxRepo:
    """Outbox rows: enqueue, list pending or due, claim, mark sent / failed / refused, retry, drop."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, drafts: Sequence[OutboxDraft], now: dt.datetime) -> list[OutboxId]:
        """Insert drafts in their own transaction (use insert_drafts to join a bigger one).

        Returns: ids inserted (duplicates by dedupe_key skipped). Raises: StoreError.
        Cancellation: the write finishes (commit) before Cancelled is raised.
        """
        return await self._db.write(lambda c: insert_drafts(c, drafts, now), "outbox.enqueue")

    async def pending(self, limit: int = 50, *, max_attempts: int | None = None) -> list[OutboxRow]:
        """Rows waiting to be posted (not sent, refused or dropped), oldest first.

        Args: limit: max rows; max_attempts: skip rows that failed this many times or more.
        Returns: OutboxRow list. Raises: StoreError.
        Cancellation: waits for the (short) read, then raises Cancelled.
        """
        sql = f"SELECT {_COLUMNS} FROM outbox WHERE {_WHERE['pending']}"
        args: list[int] = []
        if max_attempts is not None:
            sql += " AND attempts < ?"
            args.append(max_attempts)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit)
        return await self._db.read(
            lambda c: [_row(r) for r in c.execute(sql, args)], "outbox.pending")

    async def get(self, outbox_id: OutboxId) -> OutboxRow | None:
        """One row by id, or None. Raises: StoreError. Cancellation: as pending()."""
        def _get(c: sqlite3.Connection) -> OutboxRow | None:
            r = c.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
            return None if r is None else _row(r)
        return await self._db.read(_get, "outbox.get")

    async def mark_sent(self, outbox_id: OutboxId, message_id: Snowflake, now: dt.datetime) -> bool:
        """Record that Discord created the message for this row.

        Args: outbox_id; message_id: the snowflake Discord returned; now: UTC.
        Returns: False if the row was unknown or already marked sent (nothing changed).
        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        """
        def _mark(c: sqlite3.Connection) -> bool:
            cur = c.execute("UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1"
                            " WHERE id = ? AND sent_at IS NULL",
                            (to_ts(now), int(message_id), outbox_id))
            return cur.rowcount == 1
        return await self._db.write(_mark, "outbox.mark_sent")

    async def due(self, now: dt.datetime, *, retry_failed_since: dt.datetime,
                  limit: int = 50) -> list[OutboxRow]:
        """Rows to try now, oldest first: pending rows whose backoff is over, and refused rows
        whose hourly retry is due and that were first refused after `retry_failed_since`.

        Args: now: UTC; retry_failed_since: refused rows older than this are left alone
            (an admin can still `retry` them); limit: max rows.
        Returns: OutboxRow list. Raises: StoreError. Cancellation: as pending().
        """
        sql = (f"SELECT {_COLUMNS} FROM outbox WHERE {_WHERE['unsent']}"
               " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
               " AND (failed_at IS NULL OR failed_at >= ?) ORDER BY id LIMIT ?")
        args = (to_ts(now), to_ts(retry_failed_since), limit)
        return await self._db.read(
            lambda c: [_row(r) for r in c.execute(sql, args)], "outbox.due")

    async def rows(self, status: str = "unsent", *, limit: int = 100) -> list[OutboxRow]:
        """Rows in one state, oldest first (for /admin_outbox, the CLI and the dashboard).

        Args: status: one of STATUSES ("pending", "failed", "dropped", "sent", "unsent" =
            pending + failed); limit: max rows.
        Raises: ValueError for an unknown status; StoreError.
        """
        if status not in _WHERE:
            raise ValueError(f"unknown outbox status {status!r}; use one of {', '.join(STATUSES)}")
        sql = f"SELECT {_COLUMNS} FROM outbox WHERE {_WHERE[status]} ORDER BY id LIMIT ?"
        return await self._db.read(
            lambda c: [_row(r) for r in c.execute(sql, (limit,))], "outbox.rows")

    async def count(self, status: str = "unsent") -> int:
        """How many rows are in one state (what `rows()` would list without a limit).

        Args: status: one of STATUSES. Raises: ValueError for an unknown status; StoreError.
        """
        if status not in _WHERE:
            raise ValueError(f"unknown outbox status {status!r}; use one of {', '.join(STATUSES)}")
        sql = f"SELECT COUNT(*) FROM outbox WHERE {_WHERE[status]}"
        return await self._db.read(lambda c: int(c.execute(sql).fetchone()[0]), "outbox.count")

    async def move(self, outbox_id: OutboxId, channel_id: Snowflake) -> None:
        """Send an unsent row to another channel (the config now names another one for its
        kind; see _outbox_channels.KIND_CHANNELS). A sent row is left alone.
        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised."""
        await self._db.write(lambda c: c.execute(
            "UPDATE outbox SET channel_id = ? WHERE id = ? AND sent_at IS NULL",
            (int(channel_id), outbox_id)), "outbox.move")

    async def claim(self, outbox_id: OutboxId, now: dt.datetime) -> None:
        """Record that a create-message request for this row is about to be sent.

        A row with claimed_at set and no sent_at may have reached Discord (the bot stopped or
        the answer was lost): the sender looks for it in the channel before posting again.
        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        """
        await self._db.write(lambda c: c.execute(
            "UPDATE outbox SET claimed_at = ? WHERE id = ? AND sent_at IS NULL",
            (to_ts(now), outbox_id)), "outbox.claim")

    async def mark_failed(self, outbox_id: OutboxId, error: str, *, counted: bool = True,
                          retry_at: dt.datetime | None = None) -> int:
        """Note a failed send that will be retried; keep its error text (truncated, no secret).

        Args: counted: False for a pause (no request was sent): attempts stay; retry_at: no
            retry before this UTC time (None: at the next pass).
        Returns: the row's attempts so far (0 if unknown). Raises: StoreError.
        Cancellation: the write finishes before Cancelled is raised.
        """
        def _fail(c: sqlite3.Connection) -> int:
            c.execute("UPDATE outbox SET attempts = attempts + ?, last_error = ?,"
                      " next_attempt_at = ? WHERE id = ? AND sent_at IS NULL",
                      (int(counted), error[:MAX_ERROR_CHARS], to_ts(retry_at), outbox_id))
            r = c.execute("SELECT attempts FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
            return 0 if r is None else r[0]
        return await self._db.write(_fail, "outbox.mark_failed")


    async def mark_refused(self, outbox_id: OutboxId, reason: str, now: dt.datetime,
                           retry_at: dt.datetime) -> None:
        """Discord refused the row for good (permission, unknown channel, invalid body).

        Args: reason: what was wrong and how to fix it (no secret); now: UTC, kept as
            failed_at the first time; retry_at: when to try again (the cause may be fixed).
        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        """
        await self._db.write(lambda c: c.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
            " failed_at = COALESCE(failed_at, ?) WHERE id = ? AND sent_at IS NULL",
            (reason[:MAX_ERROR_CHARS], to_ts(retry_at), to_ts(now), outbox_id)),
            "outbox.mark_refused")

    async def retry(self, outbox_ids: Sequence[OutboxId] | None = None) -> list[OutboxId]:
        """Make unsent rows (failed or dropped) due at once again.

        Args: outbox_ids: the rows; None = every failed row.
        Returns: ids changed (sent or unknown ids are skipped). Raises: StoreError.
        """
        def _retry(c: sqlite3.Connection) -> list[OutboxId]:
            if outbox_ids is None:
                ids = [r[0] for r in c.execute(f"SELECT id FROM outbox WHERE {_WHERE['failed']}")]
            else:
                ids = [i for i in outbox_ids if c.execute(
                    "SELECT 1 FROM outbox WHERE id = ? AND sent_at IS NULL", (i,)).fetchone()]
            c.executemany("UPDATE outbox SET failed_at = NULL, dropped_at = NULL,"
                          " next_attempt_at = NULL WHERE id = ?", [(i,) for i in ids])
            return [OutboxId(i) for i in ids]
        return await self._db.write(_retry, "outbox.retry")

    async def drop(self, outbox_ids: Sequence[OutboxId], now: dt.datetime) -> list[OutboxId]:
        """Give up on unsent rows: never posted, and their dedupe_key stays used.

        Returns: ids dropped (sent, already dropped or unknown ids are skipped).
        Raises: StoreError.
        """
        def _drop(c: sqlite3.Connection) -> list[OutboxId]:
            done = []
            for i in outbox_ids:
                cur = c.execute("UPDATE outbox SET dropped_at = ? WHERE id = ? AND sent_at IS NULL"
                                " AND dropped_at IS NULL", (to_ts(now), i))
                if cur.rowcount:
                    done.append(OutboxId(i))
            return done
        return await self._db.write(_drop, "outbox.drop")
