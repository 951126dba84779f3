"""What the store knows about apps: details (TTL cache), prices per country, ITAD ids.

App details and prices are caches with a time to live chosen by the caller (`max_age_s`);
an expired row is still returned by `*_any_age` so a feature can fall back to stale data
when the upstream fails. ITAD ids never change, so that map is kept for good.

Prices carry the deals feature's "active sale" marker: `sale_started_at` is set the first
time a discount is stored and kept while the discount lasts, and cleared when it ends, so
`deal:{appid}:{country}:{sale_started_at}` names one sale exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Final

from familybot_trio.store._db import Database
from familybot_trio.store.library_view import VIEW
from familybot_trio.store.records import AppDetails, AppId, Price, from_ts, to_ts

_CHUNK: Final = 500  # SQLite's default max host parameters is 32766; stay far below
_DETAIL_COLS: Final = ("appid, name, app_type, is_free, fetched_at, categories, capsule_url,"
                       " is_family_shared")
_PRICE_COLS: Final = ("appid, country, fetched_at, price_cents, initial_cents, currency,"
                      " discount_pct, itad_id, history_low_cents, sale_started_at")


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _details(r: tuple) -> AppDetails:
    return AppDetails(appid=AppId(r[0]), name=r[1], app_type=r[2], is_free=bool(r[3]),
                      fetched_at=from_ts(r[4]), categories=tuple(json.loads(r[5])),
                      capsule_url=r[6], is_family_shared=None if r[7] is None else bool(r[7]))


def _price(r: tuple) -> Price:
    return Price(appid=AppId(r[0]), country=r[1], fetched_at=from_ts(r[2]), price_cents=r[3],
                 initial_cents=r[4], currency=r[5], discount_pct=r[6], itad_id=r[7],
                 history_low_cents=r[8], sale_started_at=from_ts(r[9]))


class CatalogRepo:
    """App details, prices and ITAD ids."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def details(self, appids: Iterable[AppId], *, now: dt.datetime | None = None,
                      max_age_s: float | None = None) -> dict[AppId, AppDetails]:
        """Cached details for `appids`; with now and max_age_s, only rows younger than that.

        Returns: appid -> AppDetails for the ones found (missing/expired are absent: fetch them).
        Raises: StoreError. Cancellation: waits for the read, then raises Cancelled.
        """
        ids = sorted({int(a) for a in appids})
        oldest = None if now is None or max_age_s is None else to_ts(now) - max_age_s

        def _read(c: sqlite3.Connection) -> dict[AppId, AppDetails]:
            out: dict[AppId, AppDetails] = {}
            for chunk in _chunks(ids):
                sql = (f"SELECT {_DETAIL_COLS} FROM app_details"
                       f" WHERE appid IN ({', '.join('?' * len(chunk))})")
                for r in c.execute(sql, chunk):
                    if oldest is None or r[4] >= oldest:
                        out[AppId(r[0])] = _details(r)
            return out

        return await self._db.read(_read, "catalog.details")

    async def put_details(self, details: Iterable[AppDetails]) -> int:
        """Insert or refresh details rows. Returns: rows written. Raises: StoreError.

        Cancellation: the write finishes before Cancelled is raised.
        Upstream: store.steampowered.com/api/appdetails.
        """
        rows = [(d.appid, d.name, d.app_type, int(d.is_free), to_ts(d.fetched_at),
                 json.dumps(list(d.categories)), d.capsule_url,
                 None if d.is_family_shared is None else int(d.is_family_shared)) for d in details]

        def _write(c: sqlite3.Connection) -> int:
            c.executemany(f"INSERT OR REPLACE INTO app_details ({_DETAIL_COLS})"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            return len(rows)

        return await self._db.write(_write, "catalog.put_details", changes=VIEW)

    async def prices(self, appids: Iterable[AppId], country: str, *, now: dt.datetime | None = None,
                     max_age_s: float | None = None) -> dict[AppId, Price]:
        """Cached prices of `appids` in `country` (ISO alpha-2), optionally only fresh ones.

        Returns: appid -> Price. Raises: StoreError.
        Cancellation: waits for the read, then raises Cancelled.
        """
        ids = sorted({int(a) for a in appids})
        oldest = None if now is None or max_age_s is None else to_ts(now) - max_age_s

        def _read(c: sqlite3.Connection) -> dict[AppId, Price]:
            out: dict[AppId, Price] = {}
            for chunk in _chunks(ids):
                sql = (f"SELECT {_PRICE_COLS} FROM prices WHERE country = ?"
                       f" AND appid IN ({', '.join('?' * len(chunk))})")
                for r in c.execute(sql, (country, *chunk)):
                    if oldest is None or r[2] >= oldest:
                        out[AppId(r[0])] = _price(r)
            return out

        return await self._db.read(_read, "catalog.prices")

    async def put_prices(self, prices: Iterable[Price]) -> dict[AppId, Price]:
        """Store fresh prices, maintaining each row's active-sale marker.

        Args: prices (their sale_started_at is ignored: the store decides it: kept from the
            stored row while discount_pct > 0, set to fetched_at when a sale starts, cleared
            when it ends).
        Returns: appid -> Price as stored (with the marker). Raises: StoreError.
        Cancellation: the write finishes before Cancelled is raised.
        Upstream: storefront price_overview and ITAD /games/prices/v3, merged by the caller.
        """
        items = list(prices)

        def _write(c: sqlite3.Connection) -> dict[AppId, Price]:
            out: dict[AppId, Price] = {}
            for p in items:
                old = c.execute("SELECT sale_started_at FROM prices WHERE appid = ? AND country = ?",
                                (p.appid, p.country)).fetchone()
                on_sale = p.discount_pct > 0
                started = (old[0] if old and old[0] is not None else to_ts(p.fetched_at)) \
                    if on_sale else None
                row = (p.appid, p.country, to_ts(p.fetched_at), p.price_cents, p.initial_cents,
                       p.currency, p.discount_pct, p.itad_id, p.history_low_cents, started)
                c.execute(f"INSERT OR REPLACE INTO prices ({_PRICE_COLS})"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                out[p.appid] = _price(row)
            return out

        return await self._db.write(_write, "catalog.put_prices")

    async def itad_ids(self, appids: Iterable[AppId]) -> dict[AppId, str | None]:
        """Known ITAD ids; None values mean ITAD was asked and does not know the app.

        Returns: appid -> ITAD id or None; appids never looked up are absent.
        Raises: StoreError. Cancellation: waits for the read, then raises Cancelled.
        """
        ids = sorted({int(a) for a in appids})

        def _read(c: sqlite3.Connection) -> dict[AppId, str | None]:
            out: dict[AppId, str | None] = {}
            for chunk in _chunks(ids):
                sql = f"SELECT appid, itad_id FROM itad_ids WHERE appid IN ({', '.join('?' * len(chunk))})"
                out.update({AppId(a): i for a, i in c.execute(sql, chunk)})
            return out

        return await self._db.read(_read, "catalog.itad_ids")

    async def put_itad_ids(self, mapping: Mapping[AppId, str | None], now: dt.datetime) -> int:
        """Remember appid -> ITAD id (None = not on ITAD). Returns rows written.

        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        Upstream: ITAD /lookup/id/shop/61/v1 (61 = Steam).
        """
        rows = [(int(a), i, to_ts(now)) for a, i in mapping.items()]

        def _write(c: sqlite3.Connection) -> int:
            c.executemany("INSERT OR REPLACE INTO itad_ids (appid, itad_id, looked_up_at)"
                          " VALUES (?, ?, ?)", rows)
            return len(rows)

        return await self._db.write(_write, "catalog.put_itad_ids")

    async def purge(self, *, details: bool = False, prices: bool = False) -> dict[str, int]:
        """Delete cached details and/or prices (admin purge). ITAD ids are kept.

        Returns: table -> rows deleted. Raises: StoreError.
        Cancellation: the write finishes before Cancelled is raised.
        """
        tables = [t for t, on in (("app_details", details), ("prices", prices)) if on]

        def _write(c: sqlite3.Connection) -> dict[str, int]:
            return {t: c.execute(f"DELETE FROM {t}").rowcount for t in tables}

        return await self._db.write(_write, "catalog.purge", changes=VIEW)
