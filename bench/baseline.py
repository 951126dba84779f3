"""The naive "before": how the published guide's bot refreshed, rebuilt here for comparison.

It does what the guide's "before" describes, on purpose, and nothing in the package does:
- the `steam` package (requests underneath) called directly from async code, ON the loop;
- sqlite3 called directly on the loop, one INSERT per row, a commit per call;
- one storefront `appdetails` request per app (`appids=<one id>`), one after another;
- no batching, no cache: every run fetches everything again.

Between two apps it awaits `trio.sleep(0)`, as the naive bot's `await` points did, so other
tasks (the gateway heartbeat) run between two blocking calls, never during one.

It does LESS than our bot: no ITAD historical lows (one more request per app in the guide's
bot), no messages posted. That makes every ratio against it conservative.

Upstream: IFamilyGroupsService/GetSharedLibraryApps/v1, IWishlistService/GetWishlist/v1
(steam.webapi.get); store.steampowered.com/api/appdetails?appids=N&cc=US&l=en (requests).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
import steam.webapi
import trio

#: The guide's deal rule (percentage reason only: the baseline has no historical lows).
DEAL_MIN_DISCOUNT_PCT: Final = 30
#: The guide's common wishlist: wanted by more than one member.
COMMON_MIN_MEMBERS: Final = 2

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS saved_games (appid INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS wishlist_cache (steam_id TEXT, appid INTEGER,
    PRIMARY KEY (steam_id, appid));
CREATE TABLE IF NOT EXISTS game_details (appid INTEGER PRIMARY KEY, name TEXT, type TEXT,
    final_cents INTEGER, discount_pct INTEGER);
"""


@dataclass(frozen=True, slots=True)
class Upstreams:
    """Where the naive bot looks: the sandbox's hosts and credentials.

    Attributes: apihost ("127.0.0.1:PORT" for the steam package), storefront (base URL),
    api_key, access_token, family_groupid, steamids (the members), country.
    """

    apihost: str
    storefront: str
    api_key: str
    access_token: str
    family_groupid: str
    steamids: tuple[int, ...]
    country: str = "US"


class NaiveBot:
    """The baseline bot: every call blocks the loop (see module docstring).

    Args: up: Upstreams; db_path: its own SQLite file (not the real bot's).
    Attributes: requests_made (upstream requests this bot sent).
    """

    def __init__(self, up: Upstreams, db_path: Path) -> None:
        self.up = up
        self.db = sqlite3.connect(db_path, check_same_thread=False)
        self.db.executescript(_SCHEMA)
        self.http = requests.Session()
        self.requests_made = 0

    def close(self) -> None:
        """Close the session and the database (blocking, like everything here)."""
        self.http.close()
        self.db.close()

    # ------------------------------------------------------------------ upstream, blocking
    def _webapi(self, interface: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.requests_made += 1
        body = steam.webapi.get(interface, method, 1, apihost=self.up.apihost, https=False,
                                session=self.http, params=params)
        return body.get("response", body)

    def _appdetails(self, appid: int) -> dict[str, Any] | None:
        self.requests_made += 1
        r = self.http.get(f"{self.up.storefront}/api/appdetails",
                          params={"appids": appid, "cc": self.up.country, "l": "en"},
                          timeout=20)
        r.raise_for_status()
        entry = (r.json() or {}).get(str(appid)) or {}
        return entry.get("data") if entry.get("success") else None

    # ------------------------------------------------------------------ the refreshes
    async def refresh_library(self) -> set[int]:
        """GetSharedLibraryApps on the loop, then one INSERT per app on the loop."""
        resp = self._webapi("IFamilyGroupsService", "GetSharedLibraryApps",
                            {"access_token": self.up.access_token,
                             "family_groupid": self.up.family_groupid, "include_own": True})
        appids = {int(a["appid"]) for a in resp.get("apps", [])}
        for appid in appids:
            self.db.execute("INSERT OR IGNORE INTO saved_games (appid) VALUES (?)", (appid,))
        self.db.commit()
        await trio.sleep(0)
        return appids

    async def refresh_wishlists(self) -> dict[int, list[int]]:
        """Each member's GetWishlist on the loop, one after another; rows stored one by one.

        Returns: appid -> SteamID64s wishing it.
        """
        wanted: dict[int, list[int]] = {}
        for sid in self.up.steamids:
            resp = self._webapi("IWishlistService", "GetWishlist",
                                {"key": self.up.api_key, "steamid": sid})
            self.db.execute("DELETE FROM wishlist_cache WHERE steam_id = ?", (str(sid),))
            for item in resp.get("items", []):
                appid = int(item["appid"])
                self.db.execute("INSERT OR IGNORE INTO wishlist_cache VALUES (?, ?)",
                                (str(sid), appid))
                wanted.setdefault(appid, []).append(sid)
            self.db.commit()
            await trio.sleep(0)
        return wanted

    async def details(self, appids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """One appdetails request per app, on the loop; each answer written at once."""
        out: dict[int, dict[str, Any]] = {}
        for appid in appids:
            data = self._appdetails(appid)
            if data is not None:
                out[appid] = data
                po = data.get("price_overview") or {}
                self.db.execute("INSERT OR REPLACE INTO game_details VALUES (?, ?, ?, ?, ?)",
                                (appid, data.get("name"), data.get("type"),
                                 po.get("final"), po.get("discount_percent")))
                self.db.commit()
            await trio.sleep(0)
        return out

    async def deal_check(self, appids: Sequence[int]) -> list[int]:
        """Deals among `appids`: details per app, then the percentage rule. Returns appids."""
        found = await self.details(appids)
        return [a for a, d in found.items()
                if (d.get("price_overview") or {}).get("discount_percent", 0)
                >= DEAL_MIN_DISCOUNT_PCT]

    async def wishlist_refresh(self, limit: int | None = None) -> list[int]:
        """Wishlists, then details of every game wanted by 2+ members and not owned.

        Args: limit: fetch details of at most this many games (quick runs only).
        Returns: the common wishlist's appids (games only).
        """
        wanted = await self.refresh_wishlists()
        owned = {r[0] for r in self.db.execute("SELECT appid FROM saved_games")}
        common = sorted((a for a, who in wanted.items()
                         if len(who) >= COMMON_MIN_MEMBERS and a not in owned), reverse=True)
        found = await self.details(common[:limit] if limit is not None else common)
        return [a for a, d in found.items() if d.get("type") == "game"]

    async def full_refresh(self) -> None:
        """Library, wishlists (common list with details), then deals on every wished game."""
        await self.refresh_library()
        await self.wishlist_refresh()
        wanted = await self.refresh_wishlists()
        owned = await self.refresh_library()
        await self.deal_check([a for a in wanted if a not in owned])

    def lookup_details(self, appid: int) -> tuple | None:
        """One cached-details read with sqlite3 on the loop (S4's baseline)."""
        return self.db.execute("SELECT appid, name, type, final_cents, discount_pct "
                               "FROM game_details WHERE appid = ?", (appid,)).fetchone()
