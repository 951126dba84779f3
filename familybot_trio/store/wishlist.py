"""Members' wishlists and owned games: per-member app lists replaced as a whole.

Both are refreshed by fetching one member's full list and replacing the stored one, behind
the suspicious-fetch guard (see `_guard`): a wishlist of 300 that comes back empty is kept,
flagged in fetch_anomalies and reported as `applied=False`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence

from familybot_trio.store import _guard
from familybot_trio.store._db import Database
from familybot_trio.store.records import (
    AppId,
    OwnedGame,
    ReplaceResult,
    SteamID64,
    WishlistItem,
    from_ts,
    to_ts,
)


def _result(reason: str | None, previous: int, new: int, added: tuple, removed: tuple) -> ReplaceResult:
    return ReplaceResult(applied=reason is None, previous_count=previous, new_count=new,
                         anomaly=reason, added=tuple(AppId(a) for a in added),
                         removed=tuple(AppId(a) for a in removed))


async def _last_fetch(db: Database, kind: str, steamid: SteamID64) -> dt.datetime | None:
    def _read(c: sqlite3.Connection) -> dt.datetime | None:
        r = c.execute("SELECT fetched_at FROM fetches WHERE kind = ? AND subject = ?",
                      (kind, str(steamid))).fetchone()
        return None if r is None else from_ts(r[0])
    return await db.read(_read, f"{kind}.last_fetch")


class WishlistRepo:
    """Wishlist items per member, and the family-wide view."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def replace(self, steamid: SteamID64, items: Iterable[WishlistItem], now: dt.datetime,
                      *, force: bool = False) -> ReplaceResult:
        """Replace one member's wishlist with a fresh fetch, unless the fetch looks wrong.

        Args: steamid; items: the whole wishlist now; now: UTC time of the fetch;
            force: skip the guard (an admin confirmed the change is real).
        Returns: ReplaceResult; applied=False (old rows kept, anomaly recorded and logged)
            when the answer is empty or less than half of a big wishlist.
        Raises: StoreError. Cancellation: the write finishes before Cancelled is raised.
        Upstream: IWishlistService/GetWishlist/v1.
        """
        rows = {int(i.appid): (i.priority, to_ts(i.date_added)) for i in items}
        now_ts = to_ts(now)

        def _write(c: sqlite3.Connection) -> ReplaceResult:
            reason, prev, added, removed = _guard.replace_rows(
                c, kind="wishlist", table="wishlist_items", steamid=int(steamid), rows=rows,
                columns=("priority", "date_added"), now_ts=now_ts, force=force)
            return _result(reason, prev, len(rows), added, removed)

        return await self._db.write(_write, "wishlist.replace")

    async def items(self, steamid: SteamID64) -> list[WishlistItem]:
        """One member's wishlist, by priority then appid. Raises: StoreError.

        Cancellation: waits for the (short) read, then raises Cancelled.
        """
        def _read(c: sqlite3.Connection) -> list[WishlistItem]:
            return [WishlistItem(AppId(r[0]), r[1], from_ts(r[2])) for r in c.execute(
                "SELECT appid, priority, date_added FROM wishlist_items WHERE steamid = ?"
                " ORDER BY priority IS NULL, priority, appid", (int(steamid),))]
        return await self._db.read(_read, "wishlist.items")

    async def common(self, min_members: int = 2) -> list[tuple[AppId, tuple[SteamID64, ...]]]:
        """Apps wished for by at least `min_members` members, most wanted first.

        Returns: (appid, steamids wanting it) pairs, by member count desc then appid desc.
        Raises: StoreError. Cancellation: waits for the read, then raises Cancelled.
        """
        def _read(c: sqlite3.Connection) -> list[tuple[AppId, tuple[SteamID64, ...]]]:
            rows = c.execute(
                "SELECT appid, group_concat(steamid) FROM wishlist_items GROUP BY appid"
                " HAVING count(*) >= ? ORDER BY count(*) DESC, appid DESC", (min_members,))
            return [(AppId(a), tuple(sorted(SteamID64(int(s)) for s in ids.split(","))))
                    for a, ids in rows]
        return await self._db.read(_read, "wishlist.common")

    async def last_fetched_at(self, steamid: SteamID64) -> dt.datetime | None:
        """When this member's wishlist was last accepted (None = never). Raises: StoreError."""
        return await _last_fetch(self._db, "wishlist", steamid)


class OwnedGamesRepo:
    """Games each member owns (with playtime), for common-games and profile commands."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def replace(self, steamid: SteamID64, games: Iterable[OwnedGame], now: dt.datetime,
                      *, force: bool = False) -> ReplaceResult:
        """Replace one member's owned games, behind the same guard as wishlists.

        Returns: ReplaceResult (applied=False keeps the old rows). Raises: StoreError.
        Cancellation: the write finishes before Cancelled is raised.
        Upstream: IPlayerService/GetOwnedGames/v1.
        """
        rows = {int(g.appid): (g.playtime_min,) for g in games}
        now_ts = to_ts(now)

        def _write(c: sqlite3.Connection) -> ReplaceResult:
            reason, prev, added, removed = _guard.replace_rows(
                c, kind="owned_games", table="owned_games", steamid=int(steamid), rows=rows,
                columns=("playtime_min",), now_ts=now_ts, force=force)
            return _result(reason, prev, len(rows), added, removed)

        return await self._db.write(_write, "owned_games.replace")

    async def games(self, steamid: SteamID64) -> list[OwnedGame]:
        """One member's owned games, most played first. Raises: StoreError."""
        def _read(c: sqlite3.Connection) -> list[OwnedGame]:
            return [OwnedGame(AppId(a), p) for a, p in c.execute(
                "SELECT appid, playtime_min FROM owned_games WHERE steamid = ?"
                " ORDER BY playtime_min DESC, appid", (int(steamid),))]
        return await self._db.read(_read, "owned_games.games")

    async def common(self, steamids: Sequence[SteamID64]) -> list[AppId]:
        """Apps owned by every one of `steamids` (empty input -> []), by appid.

        Raises: StoreError. Cancellation: waits for the read, then raises Cancelled.
        """
        ids = sorted({int(s) for s in steamids})
        if not ids:
            return []

        def _read(c: sqlite3.Connection) -> list[AppId]:
            marks = ", ".join("?" * len(ids))
            return [AppId(r[0]) for r in c.execute(
                f"SELECT appid FROM owned_games WHERE steamid IN ({marks}) GROUP BY appid"
                " HAVING count(*) = ? ORDER BY appid", (*ids, len(ids)))]
        return await self._db.read(_read, "owned_games.common")

    async def last_fetched_at(self, steamid: SteamID64) -> dt.datetime | None:
        """When this member's owned games were last accepted (None = never)."""
        return await _last_fetch(self._db, "owned_games", steamid)
