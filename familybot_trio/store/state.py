"""Small state: key-value pairs, schedule runs, posted free games, fetch anomalies."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from familybot_trio.store import _guard
from familybot_trio.store._db import Database
from familybot_trio.store.records import FetchAnomaly, ScheduleRun, from_ts, to_ts

MAX_ERROR_CHARS: Final = 500


class StateRepo:
    """kv, schedule_runs, posted_free_games and fetch_anomalies."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under `key`, or `default`. Raises: StoreError.

        Cancellation: waits for the (short) read, then raises Cancelled.
        """
        def _read(c: sqlite3.Connection) -> Any:
            r = c.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            return default if r is None else json.loads(r[0])
        return await self._db.read(_read, "state.get")

    async def set(self, key: str, value: Any, now: dt.datetime) -> None:
        """Store a JSON-serialisable value under `key` (None deletes it).

        Raises: StoreError; TypeError for a value JSON cannot encode.
        Cancellation: the write finishes before Cancelled is raised.
        """
        text = None if value is None else json.dumps(value)

        def _write(c: sqlite3.Connection) -> None:
            if text is None:
                c.execute("DELETE FROM kv WHERE key = ?", (key,))
            else:
                c.execute("INSERT OR REPLACE INTO kv (key, value, updated_at) VALUES (?, ?, ?)",
                          (key, text, to_ts(now)))
        await self._db.write(_write, "state.set")

    async def record_run(self, job: str, *, ok: bool, duration_s: float, now: dt.datetime,
                         error: str | None = None) -> ScheduleRun:
        """Record one finished schedule run.

        Args: job name; ok; duration_s (wall seconds); now (UTC end time); error (message,
            truncated, must hold no secret) when not ok.
        Returns: the job's updated ScheduleRun. Raises: StoreError.
        Cancellation: the write finishes before Cancelled is raised.
        """
        ts = to_ts(now)
        err = None if ok else (error or "failed")[:MAX_ERROR_CHARS]

        def _write(c: sqlite3.Connection) -> ScheduleRun:
            c.execute("INSERT OR IGNORE INTO schedule_runs (job) VALUES (?)", (job,))
            if ok:
                c.execute("UPDATE schedule_runs SET runs = runs + 1, last_ok_at = ?,"
                          " last_duration_s = ? WHERE job = ?", (ts, duration_s, job))
            else:
                c.execute("UPDATE schedule_runs SET runs = runs + 1, failures = failures + 1,"
                          " last_error = ?, last_error_at = ?, last_duration_s = ? WHERE job = ?",
                          (err, ts, duration_s, job))
            return _run(c.execute(_RUN_SQL + " WHERE job = ?", (job,)).fetchone())
        return await self._db.write(_write, "state.record_run")

    async def runs(self) -> list[ScheduleRun]:
        """Every job's last results, by job name. Raises: StoreError."""
        return await self._db.read(
            lambda c: [_run(r) for r in c.execute(_RUN_SQL + " ORDER BY job")], "state.runs")

    async def claim_free_game(self, dedupe_key: str, *, source: str, title: str,
                              url: str | None, now: dt.datetime,
                              repeat_after: dt.timedelta | None = None) -> bool:
        """Mark a free-game offer as posted; True when it is newly (or again) claimed.

        Args: dedupe_key: stable across sources (e.g. "steam:app/123" or a normalised store
            URL), so the same giveaway seen on Epic and Reddit is posted once.
            repeat_after: a key posted at least this long before `now` is claimed again
                (a later giveaway of the same game); None: once forever.
        Returns: True if newly claimed or re-claimed (post it), False if it was posted within
            `repeat_after` (or ever, when None). One conditional upsert: two claims racing for
            the same key cannot both win.
        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        """
        ts = to_ts(now)
        cutoff = ts - int(repeat_after.total_seconds()) if repeat_after is not None else None

        def _write(c: sqlite3.Connection) -> bool:
            return c.execute(
                "INSERT INTO posted_free_games (dedupe_key, source, title, url, posted_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO UPDATE SET"
                " source = excluded.source, title = excluded.title, url = excluded.url,"
                " posted_at = excluded.posted_at"
                " WHERE ? IS NOT NULL AND posted_free_games.posted_at <= ?",
                (dedupe_key, source, title, url, ts, cutoff, cutoff)).rowcount == 1
        return await self._db.write(_write, "state.claim_free_game")

    async def free_games_posted_at(self, keys: Sequence[str]) -> dict[str, dt.datetime]:
        """When each of these dedupe keys was last posted (keys never posted are absent).

        Raises: StoreError.
        """
        wanted = list(dict.fromkeys(keys))

        def _read(c: sqlite3.Connection) -> dict[str, dt.datetime]:
            out: dict[str, dt.datetime] = {}
            for i in range(0, len(wanted), 500):      # SQLite's variable limit, with room
                part = wanted[i:i + 500]
                out.update((k, from_ts(p)) for k, p in c.execute(
                    "SELECT dedupe_key, posted_at FROM posted_free_games WHERE dedupe_key IN"
                    f" ({', '.join('?' * len(part))})", part))
            return out
        return await self._db.read(_read, "state.free_games_posted_at")

    async def posted_free_games(self, limit: int = 20) -> list[tuple[str, str, str | None, dt.datetime]]:
        """Most recent posted free games: (dedupe_key, title, url, posted_at). Raises: StoreError."""
        return await self._db.read(
            lambda c: [(k, t, u, from_ts(p)) for k, t, u, p in c.execute(
                "SELECT dedupe_key, title, url, posted_at FROM posted_free_games"
                " ORDER BY posted_at DESC, rowid DESC LIMIT ?", (limit,))],
            "state.posted_free_games")

    async def record_fetch_failure(self, kind: str, subject: str, reason: str,
                                   now: dt.datetime) -> None:
        """Flag a fetch that failed outright (cached data untouched) for the admin report.

        Args: kind ("wishlist", "library", ...); subject (e.g. SteamID64 as text); reason
            (error text, no secret). Raises: StoreError.
        Cancellation: the write finishes before Cancelled is raised.
        """
        ts = to_ts(now)
        await self._db.write(
            lambda c: _guard.record(c, kind, subject, reason[:MAX_ERROR_CHARS], ts),
            "state.record_fetch_failure")

    async def anomalies(self, *, since: dt.datetime | None = None, limit: int = 50) -> list[FetchAnomaly]:
        """Recent fetch anomalies, newest first. Raises: StoreError."""
        since_ts = to_ts(since) if since is not None else 0
        return await self._db.read(
            lambda c: [_anomaly(r) for r in c.execute(
                _ANOMALY_SQL + " WHERE at >= ? ORDER BY id DESC LIMIT ?", (since_ts, limit))],
            "state.anomalies")

    async def streak_starts(self, *, after_id: int, limit: int = 50) -> list[FetchAnomaly]:
        """The anomalies that start a streak (starts_streak, decided when each was recorded:
        see store/_guard.py record) with id > after_id, oldest first, at most `limit`; page
        on with the last id returned. Raises: StoreError."""
        return await self._db.read(
            lambda c: [_anomaly(r) for r in c.execute(
                _ANOMALY_SQL + " WHERE id > ? AND starts_streak = 1 ORDER BY id LIMIT ?",
                (after_id, limit))],
            "state.streak_starts")


_ANOMALY_SQL: Final = ("SELECT id, kind, subject, reason, previous_count, new_count, at,"
                       " starts_streak FROM fetch_anomalies")


def _anomaly(r: tuple) -> FetchAnomaly:
    return FetchAnomaly(id=r[0], kind=r[1], subject=r[2], reason=r[3], previous_count=r[4],
                        new_count=r[5], at=from_ts(r[6]), starts_streak=bool(r[7]))


_RUN_SQL: Final = ("SELECT job, runs, failures, last_ok_at, last_error, last_error_at,"
                   " last_duration_s FROM schedule_runs")


def _run(r: tuple) -> ScheduleRun:
    return ScheduleRun(job=r[0], runs=r[1], failures=r[2], last_ok_at=from_ts(r[3]),
                       last_error=r[4], last_error_at=from_ts(r[5]), last_duration_s=r[6])
