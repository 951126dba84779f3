"""A generic expiring text cache (namespace, key) -> text, kept across restarts.

It backs `familybot_trio.upstream.CatalogCache`: the upstream layer serialises its records
with its own codec and stores text here, so the store never imports upstream. Expiry uses
wall-clock UTC seconds (`now` is passed in, so tests control it).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Final

from familybot_trio.store._db import Database
from familybot_trio.store.records import to_ts

_CHUNK: Final = 500


class CacheRepo:
    """The cache table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_many(self, namespace: str, keys: Iterable[str], now: dt.datetime) -> dict[str, str]:
        """Unexpired values among `keys` in `namespace`; misses and expired keys are absent.

        Raises: StoreError. Cancellation: waits for the (short) read, then raises Cancelled.
        """
        wanted = sorted(set(keys))
        now_ts = to_ts(now)

        def _read(c: sqlite3.Connection) -> dict[str, str]:
            out: dict[str, str] = {}
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i:i + _CHUNK]
                out.update(c.execute(
                    "SELECT key, value FROM cache WHERE namespace = ? AND expires_at > ?"
                    f" AND key IN ({', '.join('?' * len(chunk))})", (namespace, now_ts, *chunk)))
            return out

        return await self._db.read(_read, "cache.get_many")

    async def put_many(self, namespace: str, items: Mapping[str, str], *, ttl_s: float,
                       now: dt.datetime) -> int:
        """Store values expiring `ttl_s` seconds after `now`. Returns: rows written.

        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        """
        expires = int(to_ts(now) + ttl_s)
        rows = [(namespace, k, v, expires) for k, v in items.items()]

        def _write(c: sqlite3.Connection) -> int:
            c.executemany("INSERT OR REPLACE INTO cache (namespace, key, value, expires_at)"
                          " VALUES (?, ?, ?, ?)", rows)
            return len(rows)

        return await self._db.write(_write, "cache.put_many")

    async def purge(self, now: dt.datetime, *, namespace_prefix: str | None = None) -> int:
        """Delete expired rows (or, with namespace_prefix, every row of those namespaces).

        Returns: rows deleted. Raises: StoreError.
        Cancellation: the write finishes before Cancelled is raised.
        """
        def _write(c: sqlite3.Connection) -> int:
            if namespace_prefix is not None:
                return c.execute("DELETE FROM cache WHERE substr(namespace, 1, ?) = ?",
                                 (len(namespace_prefix), namespace_prefix)).rowcount
            return c.execute("DELETE FROM cache WHERE expires_at <= ?", (to_ts(now),)).rowcount

        return await self._db.write(_write, "cache.purge")
