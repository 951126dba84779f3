"""Dashboard sign-in state: server-side sessions and one-time sign-in links.

A session is a random cookie value held by the browser; the database keeps only its SHA-256
(`token_hash`), the Discord user it belongs to, its CSRF token and its expiry. Ending every
session (`/admin_dashboard revoke`, `familybot-trio dashboard revoke`) deletes the rows, so
every cookie in the wild stops working at its next request.

A one-time link carries a random token in its URL; `consume_link` marks it used in the same
transaction that checks it, so a link signs in once even when two requests race.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Final

from familybot_trio.store._db import Database
from familybot_trio.store.records import Snowflake, from_ts, to_ts

#: Random bytes of a session cookie / link token (base64url: 43 characters).
TOKEN_BYTES: Final = 32


def token_hash(token: str) -> str:
    """SHA-256 hex of a cookie or link token (what the database keeps instead of it)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """One signed-in browser. Attributes: discord_id, username, csrf_token, expires_at (UTC)."""

    discord_id: Snowflake
    username: str
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime


class SessionsRepo:
    """dashboard_sessions and dashboard_links."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, discord_id: int, username: str, now: dt.datetime, *, ttl_s: float
                     ) -> tuple[str, DashboardSession]:
        """Start a session. Returns: (cookie token, session); only the token's hash is kept.

        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        """
        token, csrf = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
        expires = now + dt.timedelta(seconds=ttl_s)

        def _insert(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", (to_ts(now),))
            c.execute("INSERT INTO dashboard_sessions (token_hash, discord_id, username,"
                      " csrf_token, created_at, expires_at, last_seen_at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (token_hash(token), int(discord_id), username, csrf, to_ts(now),
                       to_ts(expires), to_ts(now)))
        await self._db.write(_insert, "sessions.create")
        return token, DashboardSession(Snowflake(int(discord_id)), username, csrf, now, expires)

    async def get(self, token: str, now: dt.datetime) -> DashboardSession | None:
        """The unexpired session of a cookie token, or None. Raises: StoreError."""
        def _read(c: sqlite3.Connection) -> DashboardSession | None:
            r = c.execute("SELECT discord_id, username, csrf_token, created_at, expires_at"
                          " FROM dashboard_sessions WHERE token_hash = ? AND expires_at > ?",
                          (token_hash(token), to_ts(now))).fetchone()
            if r is None:
                return None
            return DashboardSession(Snowflake(r[0]), r[1], r[2], from_ts(r[3]), from_ts(r[4]))
        return await self._db.read(_read, "sessions.get")

    async def get_with_member(self, token: str, now: dt.datetime
                              ) -> tuple[DashboardSession, str | None] | None:
        """`get` and the name of the family member linked to the session's Discord user
        (None when not linked), in one read (the dashboard asks both on every request).

        Raises: StoreError.
        """
        def _read(c: sqlite3.Connection) -> tuple[DashboardSession, str | None] | None:
            r = c.execute("SELECT s.discord_id, s.username, s.csrf_token, s.created_at,"
                          " s.expires_at, m.name FROM dashboard_sessions s"
                          " LEFT JOIN members m ON m.discord_id = s.discord_id"
                          " WHERE s.token_hash = ? AND s.expires_at > ?",
                          (token_hash(token), to_ts(now))).fetchone()
            if r is None:
                return None
            return (DashboardSession(Snowflake(r[0]), r[1], r[2], from_ts(r[3]), from_ts(r[4])),
                    r[5])
        return await self._db.read(_read, "sessions.get_with_member")

    async def end(self, token: str) -> bool:
        """End one session (sign out). Returns: True if it existed. Raises: StoreError."""
        return await self._db.write(lambda c: c.execute(
            "DELETE FROM dashboard_sessions WHERE token_hash = ?",
            (token_hash(token),)).rowcount == 1, "sessions.end")

    async def end_all(self) -> int:
        """End every session and unused link. Returns: sessions ended. Raises: StoreError."""
        def _delete(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM dashboard_links")
            return c.execute("DELETE FROM dashboard_sessions").rowcount
        return await self._db.write(_delete, "sessions.end_all")

    async def count(self, now: dt.datetime) -> int:
        """Unexpired sessions. Raises: StoreError."""
        return await self._db.read(lambda c: c.execute(
            "SELECT count(*) FROM dashboard_sessions WHERE expires_at > ?",
            (to_ts(now),)).fetchone()[0], "sessions.count")

    async def create_link(self, discord_id: int, now: dt.datetime, *, ttl_s: float) -> str:
        """A one-time sign-in token for `discord_id`, valid `ttl_s` seconds.

        Returns: the token (put it in the link; only its hash is stored). Raises: StoreError.
        """
        token = secrets.token_urlsafe(TOKEN_BYTES)

        def _insert(c: sqlite3.Connection) -> None:
            c.execute("DELETE FROM dashboard_links WHERE expires_at <= ?", (to_ts(now),))
            c.execute("INSERT INTO dashboard_links (token_hash, discord_id, created_at,"
                      " expires_at) VALUES (?, ?, ?, ?)",
                      (token_hash(token), int(discord_id), to_ts(now),
                       to_ts(now + dt.timedelta(seconds=ttl_s))))
        await self._db.write(_insert, "sessions.create_link")
        return token

    async def consume_link(self, token: str, now: dt.datetime) -> Snowflake | None:
        """Use a one-time link: its Discord user id, or None when unknown, used or expired.

        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        """
        def _use(c: sqlite3.Connection) -> Snowflake | None:
            cur = c.execute("UPDATE dashboard_links SET used_at = ? WHERE token_hash = ?"
                            " AND used_at IS NULL AND expires_at > ? RETURNING discord_id",
                            (to_ts(now), token_hash(token), to_ts(now)))
            r = cur.fetchone()
            return None if r is None else Snowflake(r[0])
        return await self._db.write(_use, "sessions.consume_link")
