"""Steam Web API `response` objects -> records. Pure functions, no I/O.

Web API JSON renders uint64 fields as strings ("family_groupid": "4223817") and enums as
ints (SOURCES.md). A shape we cannot read raises UpstreamError (via `guard`), never
KeyError/TypeError: a changed upstream must not crash a feature.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, ParamSpec, TypeVar

from familybot_trio.upstream._http import malformed
from familybot_trio.upstream.models import (
    AppId,
    FamilyGroup,
    FamilyGroupId,
    FamilyMember,
    FamilyMembership,
    GameDetails,
    OwnedGame,
    OwnedGames,
    PlayerSummary,
    PriceOverview,
    RecentGame,
    SharedApp,
    SteamID64,
    Wishlist,
    WishlistItem,
    utc_from_unix,
)

P = ParamSpec("P")
R = TypeVar("R")

# EStoreAppType (IStoreBrowseService StoreItem.type) -> our type names.
STORE_APP_TYPES: Final = {0: "game", 1: "demo", 2: "mod", 3: "video", 4: "dlc", 5: "other",
                          6: "software", 7: "video", 8: "video", 9: "video", 10: "hardware",
                          11: "music", 12: "other", 13: "software", 14: "other"}
GET_ITEMS_SUCCESS: Final = 1  # 15 = invalid app (comes back with appid 0)


def guard(what: str, upstream: str = "steam_webapi") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: KeyError/TypeError/ValueError/AttributeError in a parser -> UpstreamError."""

    def deco(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise malformed(upstream, what, f"{type(exc).__name__}: {exc}"[:120]) from exc

        return wrapper

    return deco


def _members(raw: list[dict[str, Any]]) -> tuple[FamilyMember, ...]:
    return tuple(
        FamilyMember(SteamID64(int(m["steamid"])), int(m.get("role", 0)),
                     utc_from_unix(m.get("time_joined")))
        for m in raw
    )


@guard("GetFamilyGroup")
def family_group(family_groupid: FamilyGroupId, r: dict[str, Any]) -> FamilyGroup:
    """GetFamilyGroup `response` (or GetFamilyGroupForUser's `family_group`)."""
    return FamilyGroup(
        family_groupid=family_groupid,
        name=str(r.get("name", "")),
        members=_members(r["members"]),
        free_spots=int(r.get("free_spots", 0)),
        country=str(r.get("country", "")),
    )


@guard("GetFamilyGroupForUser")
def family_membership(steamid: SteamID64, r: dict[str, Any]) -> FamilyMembership:
    """GetFamilyGroupForUser `response`; a non-member gets family_groupid None."""
    if r.get("is_not_member_of_any_group") or not r.get("family_groupid"):
        return FamilyMembership(steamid, None, None, None)
    gid = FamilyGroupId(int(r["family_groupid"]))
    group = family_group(gid, r["family_group"]) if r.get("family_group") else None
    return FamilyMembership(steamid, gid, int(r["role"]) if "role" in r else None, group)


@guard("GetSharedLibraryApps")
def shared_apps(r: dict[str, Any]) -> tuple[SharedApp, ...]:
    """GetSharedLibraryApps `response.apps[]`; a missing list means an empty library."""
    return tuple(
        SharedApp(
            appid=AppId(int(a["appid"])),
            name=str(a.get("name", "")),
            owner_steamids=tuple(SteamID64(int(s)) for s in a.get("owner_steamids", ())),
            exclude_reason=int(a.get("exclude_reason", 0)),
            app_type=int(a.get("app_type", 0)),
            rt_time_acquired=utc_from_unix(a.get("rt_time_acquired")),
            rt_last_played=utc_from_unix(a.get("rt_last_played")),
            rt_playtime_min=int(a.get("rt_playtime", 0)),
        )
        for a in r.get("apps", ())
    )


@guard("GetOwnedGames")
def owned_games(steamid: SteamID64, r: dict[str, Any]) -> OwnedGames:
    """GetOwnedGames `response`; `{}` means private game details."""
    if "games" not in r and "game_count" not in r:
        return OwnedGames(steamid, False, ())
    games = tuple(
        OwnedGame(AppId(int(g["appid"])), str(g.get("name", "")),
                  int(g.get("playtime_forever", 0)), int(g.get("playtime_2weeks", 0)),
                  utc_from_unix(g.get("rtime_last_played")))
        for g in r.get("games", ())
    )
    return OwnedGames(steamid, True, games)


@guard("GetWishlist")
def wishlist(steamid: SteamID64, r: dict[str, Any]) -> Wishlist:
    """GetWishlist `response`; `{}` means not publicly readable, `items: []` empty."""
    if "items" not in r:
        return Wishlist(steamid, False, ())
    items = tuple(
        WishlistItem(AppId(int(i["appid"])), int(i.get("priority", 0)),
                     utc_from_unix(i.get("date_added")))
        for i in r["items"]
    )
    return Wishlist(steamid, True, items)


@guard("GetPlayerSummaries")
def player_summaries(r: dict[str, Any]) -> dict[SteamID64, PlayerSummary]:
    """GetPlayerSummaries `response.players[]` keyed by SteamID64."""
    out = {}
    for p in r.get("players", ()):
        sid = SteamID64(int(p["steamid"]))
        gameid = str(p.get("gameid", ""))
        out[sid] = PlayerSummary(
            steamid=sid, personaname=str(p.get("personaname", "")),
            profileurl=str(p.get("profileurl", "")), avatarfull=str(p.get("avatarfull", "")),
            personastate=int(p.get("personastate", 0)),
            game_appid=AppId(int(gameid)) if gameid.isdigit() else None,
            game_name=p.get("gameextrainfo"),
        )
    return out


@guard("GetRecentlyPlayedGames")
def recent_games(r: dict[str, Any]) -> tuple[RecentGame, ...]:
    """GetRecentlyPlayedGames `response.games[]`."""
    return tuple(
        RecentGame(AppId(int(g["appid"])), str(g.get("name", "")),
                   int(g.get("playtime_2weeks", 0)), int(g.get("playtime_forever", 0)))
        for g in r.get("games", ())
    )


def _item_price(item: dict[str, Any]) -> PriceOverview | None:
    opt = item.get("best_purchase_option")
    if not isinstance(opt, dict) or "final_price_in_cents" not in opt:
        return None
    final = int(opt["final_price_in_cents"])
    initial = int(opt.get("original_price_in_cents", final))
    return PriceOverview(final_cents=final, initial_cents=initial,
                         discount_pct=int(opt.get("discount_pct", 0)), currency=None,
                         final_formatted=str(opt.get("formatted_final_price", "")))


@guard("IStoreBrowseService/GetItems")
def _parent_appid(item: dict[str, Any]) -> int | None:
    """A DLC's base game: StoreItem `related_items.parent_appid` (absent or 0: none)."""
    parent = (item.get("related_items") or {}).get("parent_appid")
    return int(parent) if parent else None


def store_items(r: dict[str, Any], country: str) -> dict[AppId, GameDetails]:
    """GetItems `response.store_items[]` -> GameDetails; items with success != 1 skipped."""
    out: dict[AppId, GameDetails] = {}
    for item in r.get("store_items", ()):
        if item.get("success") != GET_ITEMS_SUCCESS or not item.get("appid"):
            continue
        appid = AppId(int(item["appid"]))
        cats = item.get("categories") or {}
        category_ids = frozenset(int(c) for ids in cats.values() for c in ids)
        basic = item.get("basic_info") or {}
        assets = item.get("assets") or {}
        header = ""
        if assets.get("asset_url_format") and assets.get("header"):
            header = ("https://shared.akamai.steamstatic.com/store_item_assets/"
                      + assets["asset_url_format"].replace("${FILENAME}", assets["header"]))
        reviews = (item.get("reviews") or {}).get("summary_filtered") or {}
        price = _item_price(item)
        out[appid] = GameDetails(
            appid=appid, name=str(item.get("name", "")),
            type=STORE_APP_TYPES.get(int(item.get("type", 0)), "other"),
            is_free=bool(item.get("is_free", False)),
            category_ids=category_ids, price=price, country=country, source="getitems",
            short_description=str(basic.get("short_description", "")),
            header_image=header,
            developers=tuple(d["name"] for d in basic.get("developers", ())),
            publishers=tuple(d["name"] for d in basic.get("publishers", ())),
            review_pct_positive=(int(reviews["percent_positive"])
                                 if "percent_positive" in reviews else None),
            parent_appid=_parent_appid(item),
        )
    return out
