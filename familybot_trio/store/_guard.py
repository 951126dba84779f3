"""The suspicious-fetch guard: a bad answer never overwrites good cached data.

Steam sometimes answers a wishlist or a library with nothing (a private profile for a
moment, a flaky backend, an expired token that yields an empty list instead of a 401). If
we stored that, the bot would "forget" every wishlist and then re-announce everything when
the data came back. So every replace_* method asks `judge(previous, new)` first:

- previous >= EMPTY_MIN_PREVIOUS rows and the new answer is empty, or
- previous >= SHRINK_MIN_PREVIOUS rows and the new answer has fewer than half of them

is suspicious: the old rows stay, a `fetch_anomalies` row is written (in the same
transaction) and a WARNING is logged; the caller gets `applied=False`. A real big change
(someone cleared their wishlist) goes through with `force=True`, or once an admin accepted
it (`/admin_accept`, `familybot-trio accept`): that writes the kv key `accept_key(kind,
subject)`, and the next answer for that subject is stored whatever it holds (the key is
consumed in the same transaction).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Final

log = logging.getLogger("familybot_trio.store.guard")

EMPTY_MIN_PREVIOUS: Final = 5     # a wishlist of 1-4 emptied is plausible; of 5+ is not
SHRINK_MIN_PREVIOUS: Final = 10   # small lists swing by half legitimately
SHRINK_FACTOR: Final = 0.5        # keep the old rows when the new count < previous x this


def accept_key(kind: str, subject: str) -> str:
    """The kv key that makes the next `kind` fetch of `subject` be accepted as real."""
    return f"guard.accept:{kind}:{subject}"


def take_acceptance(conn: sqlite3.Connection, kind: str, subject: str) -> bool:
    """True (and the acceptance consumed) if an admin accepted the next fetch of `subject`.
    Call inside the write transaction that stores the fetch."""
    cur = conn.execute("DELETE FROM kv WHERE key = ?", (accept_key(kind, subject),))
    if cur.rowcount:
        log.info("%s fetch accepted by an admin, storing it as is [subject:%s]", kind, subject)
    return cur.rowcount > 0


def judge(previous: int, new: int) -> str | None:
    """Why replacing `previous` rows by `new` rows looks wrong, or None if it looks fine."""
    if new == 0 and previous >= EMPTY_MIN_PREVIOUS:
        return f"came back empty, had {previous}"
    if previous >= SHRINK_MIN_PREVIOUS and new < previous * SHRINK_FACTOR:
        return f"shrank from {previous} to {new} (more than half)"
    return None


def record(conn: sqlite3.Connection, kind: str, subject: str, reason: str, now_ts: int,
           previous: int | None = None, new: int | None = None) -> None:
    """Insert a fetch_anomalies row and log a WARNING (call inside a write transaction).

    The row's starts_streak is decided here, against the fetches of this moment: True when no
    earlier anomaly of its nature (a failed fetch, new = None, or a suspicious answer) exists
    for kind and subject, or a fetch of that subject was accepted at or after the latest one.
    Failures and suspicious answers are streaks apart: a 401 just before a wishlist comes
    back shrunk must not hide the shrink from the admins.
    """
    prev = conn.execute("SELECT max(at) FROM fetch_anomalies WHERE kind = ? AND subject = ?"
                        " AND (new_count IS NULL) = ?", (kind, subject, new is None)).fetchone()[0]
    ok = conn.execute("SELECT fetched_at FROM fetches WHERE kind = ? AND subject = ?",
                      (kind, subject)).fetchone()
    starts = prev is None or (ok is not None and ok[0] >= prev)
    conn.execute(
        "INSERT INTO fetch_anomalies (kind, subject, reason, previous_count, new_count, at,"
        " starts_streak) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, subject, reason, previous, new, now_ts, int(starts)))
    log.warning("%s fetch looks wrong, keeping cached data [subject:%s reason:%s]",
                kind, subject, reason)


def note_fetch(conn: sqlite3.Connection, kind: str, subject: str, count: int, now_ts: int) -> None:
    """Remember an accepted fetch (when, how many rows) in `fetches`."""
    conn.execute(
        "INSERT INTO fetches (kind, subject, fetched_at, row_count) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, subject) DO UPDATE SET fetched_at = excluded.fetched_at,"
        " row_count = excluded.row_count", (kind, subject, now_ts, count))


def replace_rows(conn: sqlite3.Connection, *, kind: str, table: str, steamid: int,
                 rows: dict[int, tuple], columns: tuple[str, ...], now_ts: int,
                 force: bool) -> tuple[str | None, int, tuple[int, ...], tuple[int, ...]]:
    """Replace one member's rows of `table` (keyed by steamid, appid) unless it looks wrong.

    Args: rows: appid -> values for `columns` (after steamid, appid). Call inside a write
        transaction. Returns: (anomaly reason or None, previous count, added, removed appids).
    """
    previous = {r[0] for r in conn.execute(f"SELECT appid FROM {table} WHERE steamid = ?",
                                           (steamid,))}
    force = take_acceptance(conn, kind, str(steamid)) or force
    reason = None if force else judge(len(previous), len(rows))
    if reason is not None:
        record(conn, kind, str(steamid), reason, now_ts, len(previous), len(rows))
        return reason, len(previous), (), ()
    conn.execute(f"DELETE FROM {table} WHERE steamid = ?", (steamid,))
    marks = ", ".join("?" * (len(columns) + 2))
    conn.executemany(f"INSERT INTO {table} (steamid, appid, {', '.join(columns)}) VALUES ({marks})",
                     [(steamid, appid, *values) for appid, values in rows.items()])
    note_fetch(conn, kind, str(steamid), len(rows), now_ts)
    added = tuple(sorted(set(rows) - previous))
    removed = tuple(sorted(previous - set(rows)))
    return None, len(previous), added, removed
