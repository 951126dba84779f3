"""Personal alert settings: what each member wants to hear about, in a DM, and when.

One row per member (SteamID64). A member changes only their own row (`/notify` resolves the
caller's Discord id to their member first); nothing here takes a Discord id. Every option
is off until the member turns it on.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, fields, replace

from familybot_trio.store._db import Database
from familybot_trio.store.records import SteamID64, from_ts, to_ts


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """One member's personal alerts.

    Attributes: steamid; discount_pct (DM when a wished game is at least this % off; None
        off); at_low (DM when a wished game is at or below its historical low); on_library
        (DM when a wished game joins the family library); on_free (DM when a free game
        matches the wishlist); quiet_start / quiet_end (minutes after local midnight; alerts
        in between wait until quiet_end; None: no quiet hours); timezone (IANA name, e.g.
        "Europe/Berlin"); dm_channel_id (the member's DM channel, once opened); paused (their
        DMs are closed: nothing is sent until they run /notify again); since (UTC: only
        changes after this count, so turning alerts on does not replay the past).
    """

    steamid: SteamID64
    discount_pct: int | None = None
    at_low: bool = False
    on_library: bool = False
    on_free: bool = False
    quiet_start: int | None = None
    quiet_end: int | None = None
    timezone: str = "UTC"
    dm_channel_id: int | None = None
    paused: bool = False
    since: dt.datetime | None = None

    @property
    def any_on(self) -> bool:
        """True when at least one kind of alert is on."""
        return self.discount_pct is not None or self.at_low or self.on_library or self.on_free


_COLUMNS = tuple(f.name for f in fields(AlertSettings))


def _row(r: tuple) -> AlertSettings:
    values = dict(zip(_COLUMNS, r, strict=True))
    return AlertSettings(**{**values, "steamid": SteamID64(values["steamid"]),
                            "at_low": bool(values["at_low"]),
                            "on_library": bool(values["on_library"]),
                            "on_free": bool(values["on_free"]), "paused": bool(values["paused"]),
                            "since": from_ts(values["since"])})


class AlertsRepo:
    """The alert_settings table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, steamid: SteamID64) -> AlertSettings:
        """A member's settings (all off when never set). Raises: StoreError."""
        def _read(c: sqlite3.Connection) -> AlertSettings:
            r = c.execute(f"SELECT {', '.join(_COLUMNS)} FROM alert_settings WHERE steamid = ?",
                          (int(steamid),)).fetchone()
            return _row(r) if r else AlertSettings(SteamID64(steamid))
        return await self._db.read(_read, "alerts.get")

    async def all(self) -> list[AlertSettings]:
        """Every stored row, by SteamID64. Raises: StoreError."""
        return await self._db.read(lambda c: [_row(r) for r in c.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM alert_settings ORDER BY steamid")], "alerts.all")

    async def put(self, settings: AlertSettings, now: dt.datetime) -> AlertSettings:
        """Store a member's settings whole (insert or replace). Returns what was stored.

        Raises: StoreError. Cancellation: the write finishes before Cancelled.
        """
        stored = settings if settings.since is not None else replace(settings, since=now)
        values = [getattr(stored, c) for c in _COLUMNS]
        values = [to_ts(v) if isinstance(v, dt.datetime) else int(v) if isinstance(v, bool)
                  else v for v in values]
        marks = ", ".join("?" * len(_COLUMNS))
        await self._db.write(lambda c: c.execute(
            f"INSERT OR REPLACE INTO alert_settings ({', '.join(_COLUMNS)}) VALUES ({marks})",
            values), "alerts.put")
        return stored

    async def pause(self, steamid: SteamID64) -> bool:
        """Pause a member's alerts (their DMs are closed). Returns: True if it was running.

        A conditional update, so two refused DMs pause (and tell the member) only once.
        Raises: StoreError.
        """
        def _pause(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE alert_settings SET paused = 1 WHERE steamid = ? AND"
                             " paused = 0", (int(steamid),)).rowcount == 1
        return await self._db.write(_pause, "alerts.pause")
