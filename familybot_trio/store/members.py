"""Family members: SteamID64, display name, optional Discord link.

config.toml is the source of truth for who is in the family; `sync` makes the table match
it at start-up. A link made at runtime (`link_discord`, e.g. a `/register` command) lives
here and survives restarts unless the config names a different Discord id.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence

from familybot_trio.errors import StoreError
from familybot_trio.store._db import Database
from familybot_trio.store.library_view import VIEW
from familybot_trio.store.records import MemberRecord, Snowflake, SteamID64, to_ts


def _member(r: tuple) -> MemberRecord:
    return MemberRecord(SteamID64(r[0]), r[1], None if r[2] is None else Snowflake(r[2]))


class MembersRepo:
    """The members table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def sync(self, members: Sequence[MemberRecord], now: dt.datetime) -> list[SteamID64]:
        """Make the table match the configured members (add, rename, drop the others).

        Args: members: from config; a None discord_id keeps a runtime link already stored.
        Returns: SteamID64s added. Raises: StoreError (e.g. two members with one Discord id).
        Cancellation: the write finishes before Cancelled is raised.
        """
        def _write(c: sqlite3.Connection) -> list[SteamID64]:
            known = {r[0] for r in c.execute("SELECT steamid FROM members")}
            wanted = {int(m.steamid) for m in members}
            c.executemany("DELETE FROM members WHERE steamid = ?", [(s,) for s in known - wanted])
            for m in members:
                c.execute("INSERT INTO members (steamid, name, discord_id, added_at)"
                          " VALUES (?, ?, ?, ?) ON CONFLICT (steamid) DO UPDATE SET"
                          " name = excluded.name,"
                          " discord_id = coalesce(excluded.discord_id, members.discord_id)",
                          (int(m.steamid), m.name, m.discord_id, to_ts(now)))
            return [SteamID64(s) for s in sorted(wanted - known)]

        return await self._db.write(_write, "members.sync", changes=VIEW)

    async def all(self) -> list[MemberRecord]:
        """Every member, by name. Raises: StoreError.

        Cancellation: waits for the (short) read, then raises Cancelled.
        """
        return await self._db.read(
            lambda c: [_member(r) for r in c.execute(
                "SELECT steamid, name, discord_id FROM members ORDER BY name COLLATE NOCASE")],
            "members.all")

    async def by_discord_id(self, discord_id: Snowflake) -> MemberRecord | None:
        """The member linked to this Discord user, or None. Raises: StoreError."""
        def _read(c: sqlite3.Connection) -> MemberRecord | None:
            r = c.execute("SELECT steamid, name, discord_id FROM members WHERE discord_id = ?",
                          (int(discord_id),)).fetchone()
            return None if r is None else _member(r)
        return await self._db.read(_read, "members.by_discord_id")

    async def claim(self, steamid: SteamID64, discord_id: Snowflake) -> MemberRecord | None:
        """Link `discord_id` to a member that has no Discord account yet, atomically.

        One conditional UPDATE (`... WHERE steamid = ? AND discord_id IS NULL`), never a read
        then a write: of two claims racing for one member exactly one gets the row; the
        UNIQUE discord_id column keeps one Discord account on one member.
        Returns: the linked member, or None when the member is already linked (to anyone).
        Raises: StoreError if `discord_id` is linked to another member already.
        Cancellation: the write finishes before Cancelled is raised.
        """
        def _write(c: sqlite3.Connection) -> MemberRecord | None:
            if not c.execute("UPDATE members SET discord_id = ? WHERE steamid = ?"
                             " AND discord_id IS NULL", (int(discord_id), int(steamid))).rowcount:
                return None
            return _member(c.execute("SELECT steamid, name, discord_id FROM members"
                                     " WHERE steamid = ?", (int(steamid),)).fetchone())

        return await self._db.write(_write, "members.claim", changes=VIEW)

    async def link_discord(self, steamid: SteamID64, discord_id: Snowflake | None) -> MemberRecord:
        """Link (or with None, unlink) a Discord user to a member.

        Returns: the updated member.
        Raises: StoreError if the SteamID64 is not a member, or the Discord user is already
            linked to another member.
        Cancellation: the write finishes before Cancelled is raised.
        """
        def _write(c: sqlite3.Connection) -> MemberRecord:
            other = c.execute("SELECT steamid FROM members WHERE discord_id = ? AND steamid != ?",
                              (discord_id, int(steamid))).fetchone()
            if discord_id is not None and other is not None:
                raise StoreError(f"Discord user {discord_id} is already linked to member "
                                 f"{other[0]}; unlink it there first")
            if not c.execute("UPDATE members SET discord_id = ? WHERE steamid = ?",
                             (discord_id, int(steamid))).rowcount:
                raise StoreError(f"{steamid} is not a family member; add it to [[members]] "
                                 "in config.toml")
            return _member(c.execute("SELECT steamid, name, discord_id FROM members"
                                     " WHERE steamid = ?", (int(steamid),)).fetchone())

        return await self._db.write(_write, "members.link_discord", changes=VIEW)
