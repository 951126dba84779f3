"""Fake api.steampowered.com: family groups, owned games, wishlists, users, GetItems.

Paths are the real ones (`/<Interface>/<Method>/v<N>/`, trailing slash optional). Auth as on
Steam: a non-empty `key` (a configured bad key -> 403 HTML), or a valid user `access_token`;
the three IFamilyGroupsService calls need the access token (key only -> 401 HTML, as probed).
uint64 fields (steamids, family_groupid) are JSON strings, as Steam renders them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from familybot_trio.sandbox import _family as F

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox  # what _server meets

MAX_GETITEMS_IDS = 100
MAX_SUMMARY_IDS = 100


def _flag(params: Any, name: str, default: bool = False) -> bool:
    raw = params.get(name)
    return default if raw is None else raw.lower() in ("1", "true")


def _int(params: Any, name: str) -> int | None:
    try:
        return int(params.get(name, ""))
    except ValueError:
        return None


def _family_group(sb: Sandbox) -> dict[str, Any]:
    fam = sb.family
    return {"name": fam.name,
            "members": [{"steamid": str(m.steamid), "role": m.role, "time_joined": m.time_joined,
                         "cooldown_seconds_remaining": 0} for m in fam.members],
            "pending_invites": [], "free_spots": 6 - len(fam.members), "country": "US",
            "slot_cooldown_remaining_seconds": 0, "former_members": [],
            "slot_cooldown_overrides": 0}


async def get_family_group_for_user(sb: Sandbox, req: Request) -> Response:
    """IFamilyGroupsService/GetFamilyGroupForUser/v1 (steamid, include_family_group_response)."""
    caller = sb.check_access_token(req)
    if isinstance(caller, Response):
        return caller
    p = req.query_params
    steamid = _int(p, "steamid") or caller
    member = sb.family.member(steamid)
    if member is None:
        return sb.json({"response": {"is_not_member_of_any_group": True,
                                     "cooldown_seconds_remaining": 0}})
    gid = sb.family.family_groupid
    body: dict[str, Any] = {
        "family_groupid": gid, "is_not_member_of_any_group": False,
        "latest_time_joined": member.time_joined, "latest_joined_family_groupid": gid,
        "pending_group_invites": [], "role": member.role, "cooldown_seconds_remaining": 0}
    if _flag(p, "include_family_group_response"):
        body["family_group"] = _family_group(sb)
    body["can_undelete_last_joined_family"] = False
    body["membership_history"] = [{"family_groupid": gid, "rtime_joined": member.time_joined,
                                   "rtime_left": 0, "role": member.role, "participated": True}]
    return sb.json({"response": body})


async def get_family_group(sb: Sandbox, req: Request) -> Response:
    """IFamilyGroupsService/GetFamilyGroup/v1 (family_groupid)."""
    caller = sb.check_access_token(req)
    if isinstance(caller, Response):
        return caller
    if req.query_params.get("family_groupid") != sb.family.family_groupid:
        return sb.html_error(400)
    return sb.json({"response": _family_group(sb)})


async def get_shared_library_apps(sb: Sandbox, req: Request) -> Response:
    """IFamilyGroupsService/GetSharedLibraryApps/v1.

    Filters as probed on a real family: include_own=false drops apps only the caller owns and
    removes the caller from co-owned apps' owner_steamids; exclude_reason 3 (free games) shows
    with include_own or include_free; other reasons need include_excluded; app_type != 1 needs
    include_non_games. rt_playtime (minutes) is the caller's.
    """
    caller = sb.check_access_token(req)
    if isinstance(caller, Response):
        return caller
    p = req.query_params
    if p.get("family_groupid") != sb.family.family_groupid:
        return sb.html_error(400)
    steamid = _int(p, "steamid") or caller
    own, excluded = _flag(p, "include_own"), _flag(p, "include_excluded")
    free, non_games = _flag(p, "include_free"), _flag(p, "include_non_games")
    via = "include_excluded" if excluded else "plain"
    return await sb.json_big(lambda: {"response": {
        "apps": sb.told("GetSharedLibraryApps", None,
                        _library_apps(sb, steamid, own, excluded, free, non_games), via),
        "owner_steamid": str(steamid)}})


def _library_apps(sb: Sandbox, steamid: int, own: bool, excluded: bool, free: bool,
                  non_games: bool) -> list[dict[str, Any]]:
    fam = sb.family
    apps = []
    for lib in list(fam.library.values()):
        info = fam.apps[lib.appid]
        owners = [o for o in lib.owners if own or o != steamid]
        if not owners:
            continue
        if info.app_type != F.APP_TYPE_GAME and not non_games:
            continue
        if lib.exclude_reason == F.EXCLUDE_FREE_GAME:
            if not (free or (own and steamid in lib.owners)):
                continue
        elif lib.exclude_reason not in (F.EXCLUDE_NONE, F.EXCLUDE_WRONG_APP_TYPE) and not excluded:
            continue
        play = fam.playtimes.get((steamid, lib.appid))
        apps.append({
            "appid": lib.appid, "owner_steamids": [str(o) for o in owners], "name": info.name,
            "sort_as": info.name.lower(), "capsule_filename": "library_600x900.jpg",
            "img_icon_hash": f"{lib.appid:040x}", "exclude_reason": lib.exclude_reason,
            "rt_time_acquired": lib.rt_time_acquired,
            "rt_last_played": play.rtime_last_played if play else 0,
            "rt_playtime": play.forever_min if play else 0, "app_type": info.app_type,
            "content_descriptors": []})
    return apps


def _owned_game(sb: Sandbox, sid: int, appid: int, appinfo: bool,
                extended: bool = False) -> dict[str, Any]:
    info = sb.family.apps[F.AppId(appid)]
    play = sb.family.playtimes.get((F.SteamID64(sid), F.AppId(appid))) or F.Playtime(0, 0, 0)
    game: dict[str, Any] = {"appid": appid}
    if appinfo:
        game |= {"name": info.name, "img_icon_url": f"{appid:040x}",
                 "has_community_visible_stats": True}
    if play.two_weeks_min:
        game["playtime_2weeks"] = play.two_weeks_min
    game |= {"playtime_forever": play.forever_min, "playtime_windows_forever": play.forever_min,
             "playtime_mac_forever": 0, "playtime_linux_forever": 0, "playtime_deck_forever": 0,
             "rtime_last_played": play.rtime_last_played, "playtime_disconnected": 0}
    if extended:  # include_extended_appinfo
        game |= {"capsule_filename": "library_600x900.jpg", "sort_as": info.name.lower(),
                 "has_workshop": appid % 4 == 0, "has_market": appid % 7 == 0,
                 "has_dlc": appid % 3 == 0, "has_leaderboards": appid % 5 == 0}
    return game


async def get_owned_games(sb: Sandbox, req: Request) -> Response:
    """IPlayerService/GetOwnedGames/v1 (steamid, include_appinfo, include_played_free_games,
    appids_filter[N]). A private profile answers {"response":{}}."""
    denied = sb.check_key_or_token(req)
    if denied:
        return denied
    p = req.query_params
    sid = _int(p, "steamid")
    fam = sb.family
    if sid is None:
        return sb.html_error(400)
    if sid in fam.private_owned or fam.member(sid) is None:
        return sb.json({"response": {}})
    wanted = {int(v) for k, v in p.items() if k.startswith("appids_filter[")}
    free_ok = _flag(p, "include_played_free_games")
    appinfo, extended = _flag(p, "include_appinfo"), _flag(p, "include_extended_appinfo")

    def build() -> dict[str, Any]:
        games = []
        for appid in fam.owned_appids(sid):
            lib, info = fam.library[appid], fam.apps[appid]
            if info.app_type != F.APP_TYPE_GAME or (wanted and appid not in wanted):
                continue
            if lib.exclude_reason == F.EXCLUDE_FREE_GAME and not free_ok:
                continue
            games.append(_owned_game(sb, sid, appid, appinfo, extended))
        return {"response": {"game_count": len(games), "games": games}}

    return await sb.json_big(build)


async def get_recently_played_games(sb: Sandbox, req: Request) -> Response:
    """IPlayerService/GetRecentlyPlayedGames/v1 (steamid, count): games with playtime_2weeks."""
    denied = sb.check_key_or_token(req)
    if denied:
        return denied
    p = req.query_params
    sid = _int(p, "steamid")
    if sid is None or sb.family.member(sid) is None or sid in sb.family.private_owned:
        return sb.json({"response": {}})
    recent = [_owned_game(sb, sid, a, True) for a in sb.family.owned_appids(sid)]
    recent = [g for g in recent if g.get("playtime_2weeks")]
    recent.sort(key=lambda g: -g["rtime_last_played"])
    count = _int(p, "count") or len(recent)
    return sb.json({"response": {"total_count": len(recent), "games": recent[:count]}})


async def get_wishlist(sb: Sandbox, req: Request) -> Response:
    """IWishlistService/GetWishlist/v1 (steamid): items[{appid, priority, date_added}].
    Keyless works, as on Steam; private -> {"response":{}}."""
    sid = _int(req.query_params, "steamid")
    fam = sb.family
    if sid is None:
        return sb.html_error(400)
    if sid in fam.private_wishlist:
        return sb.json({"response": {}})
    items = sb.told("GetWishlist", sid, sorted(fam.wishlists.get(F.SteamID64(sid), {}).values(),
                                               key=lambda w: w.priority), "wishlist")
    return sb.json({"response": {"items": [
        {"appid": w.appid, "priority": w.priority, "date_added": w.date_added} for w in items]}})


async def get_player_summaries(sb: Sandbox, req: Request) -> Response:
    """ISteamUser/GetPlayerSummaries/v2 (steamids: comma list, <= 100)."""
    denied = sb.check_key_or_token(req)
    if denied:
        return denied
    ids = [s for s in req.query_params.get("steamids", "").split(",") if s.strip()]
    if not ids or len(ids) > MAX_SUMMARY_IDS:
        return sb.html_error(400)
    players = []
    for raw in ids:
        member = sb.family.member(int(raw)) if raw.strip().isdigit() else None
        if member is None:
            continue
        p = dict(sb.static.summary_template)
        n = sb.family.members.index(member) + 1
        p |= {"steamid": str(member.steamid), "personaname": member.persona,
              "profileurl": f"https://steamcommunity.com/id/{member.vanity}/",
              "realname": f"Test User {n}", "personastate": 1 if n % 2 else 0}
        if n != 1:  # only member 1 is in game (the recorded body's Stardew Valley session)
            p.pop("gameid", None)
            p.pop("gameextrainfo", None)
        players.append(p)
    return sb.json({"response": {"players": players}})


async def resolve_vanity_url(sb: Sandbox, req: Request) -> Response:
    """ISteamUser/ResolveVanityURL/v1 (vanityurl): success 1 + steamid, or 42 "No match"."""
    denied = sb.check_key_or_token(req)
    if denied:
        return denied
    vanity = req.query_params.get("vanityurl", "")
    member = next((m for m in sb.family.members if m.vanity == vanity), None)
    if member is None:
        return sb.json({"response": {"success": 42, "message": "No match"}})
    return sb.json({"response": {"steamid": str(member.steamid), "success": 1}})


async def get_items(sb: Sandbox, req: Request) -> Response:
    """IStoreBrowseService/GetItems/v1 (input_json: ids[{appid}] <= 100, context, data_request).

    Keyless. Unknown apps come back as success 15 with appid 0 (probed live). best_purchase_option
    is sent for every priced app; basic_info/assets only when data_request asks.
    """
    try:
        spec = json.loads(req.query_params.get("input_json", ""))
        ids = [int(i["appid"]) for i in spec.get("ids", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        return sb.html_error(400)
    if not ids or len(ids) > MAX_GETITEMS_IDS:
        return sb.html_error(400)
    want = spec.get("data_request") or {}
    cc = str((spec.get("context") or {}).get("country_code") or "US")
    return await sb.json_big(lambda: {"response": {
        "store_items": [sb.store.store_item(appid, want, cc) for appid in ids]}})


ROUTES: dict[str, tuple[str, Any]] = {  # path -> (counter name, handler)
    "/IFamilyGroupsService/GetFamilyGroupForUser/v1": ("GetFamilyGroupForUser", get_family_group_for_user),
    "/IFamilyGroupsService/GetFamilyGroup/v1": ("GetFamilyGroup", get_family_group),
    "/IFamilyGroupsService/GetSharedLibraryApps/v1": ("GetSharedLibraryApps", get_shared_library_apps),
    "/IPlayerService/GetOwnedGames/v1": ("GetOwnedGames", get_owned_games),
    "/IPlayerService/GetRecentlyPlayedGames/v1": ("GetRecentlyPlayedGames", get_recently_played_games),
    "/IWishlistService/GetWishlist/v1": ("GetWishlist", get_wishlist),
    "/ISteamUser/GetPlayerSummaries/v2": ("GetPlayerSummaries", get_player_summaries),
    "/ISteamUser/ResolveVanityURL/v1": ("ResolveVanityURL", resolve_vanity_url),
    "/IStoreBrowseService/GetItems/v1": ("GetItems", get_items),
}
