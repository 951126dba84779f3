"""One read of the library as the dashboard lists it: apps, owners and stored names.

`LibraryRepo.apps()` builds a record with three datetimes per app, and names live apart in
app_details; for a page that filters and sorts 2,000 apps on every request, one query with
the join and plain values (Unix seconds) is several times cheaper.
"""

from __future__ import annotations

import sqlite3
from typing import Final, NamedTuple

from familybot_trio.store._db import Database

#: The `Database.version` topic of everything `rows()` shows: library apps and owners,
#: stored names and types (app_details), member names. Writes to those tables name it.
VIEW_TOPIC: Final = "library_view"
#: `changes=` of those writes.
VIEW: Final = (VIEW_TOPIC,)


class LibraryRow(NamedTuple):
    """One app of the current library. Times are Unix seconds (UTC) or None.

    Attributes: appid; name and details_type (from app_details, None when not stored);
    app_type (from the library snapshot); exclude_reason; acquired_ts; first_seen_ts;
    owners (SteamID64s, ascending).
    """

    appid: int
    name: str | None
    details_type: str | None
    app_type: str | None
    exclude_reason: int
    acquired_ts: int | None
    first_seen_ts: int
    owners: tuple[int, ...]


class LibraryViewRepo:
    """Read-only listing of the current library for the dashboard."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def version(self) -> int:
        """Bumped by every write of this process that may change `rows()` (or member
        names); a read model built at version v is current while this equals v."""
        return self._db.version(VIEW_TOPIC)

    async def rows(self) -> list[LibraryRow]:
        """Every app in the library now (removed ones left out), ordered by appid.

        Raises: StoreError. Cancellation: waits for the read, then raises Cancelled.
        """
        def _read(c: sqlite3.Connection) -> list[LibraryRow]:
            owners: dict[int, list[int]] = {}
            for appid, steamid in c.execute("SELECT appid, steamid FROM library_owners"
                                            " ORDER BY appid, steamid"):
                owners.setdefault(appid, []).append(steamid)
            return [LibraryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                               tuple(owners.get(r[0], ())))
                    for r in c.execute(
                        "SELECT a.appid, d.name, d.app_type, a.app_type, a.exclude_reason,"
                        " a.rt_time_acquired, a.first_seen_at FROM library_apps a"
                        " LEFT JOIN app_details d ON d.appid = a.appid"
                        " WHERE a.removed_at IS NULL ORDER BY a.appid")]
        return await self._db.read(_read, "library_view.rows")
