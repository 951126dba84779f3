"""Steam Web API fakes: real paths, auth rules and body shapes, over a real socket."""

from __future__ import annotations

import base64
import json

import httpx
import trio
from steam.steamid import SteamID

from familybot_trio import blocking
from familybot_trio.sandbox import Sandbox, _family
from familybot_trio.sandbox._data import load_static

FAMILY = "/IFamilyGroupsService"


def _claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


async def test_sample_family_shape(sandbox: Sandbox) -> None:
    fam = sandbox.family
    assert len(fam.members) == 5
    assert all(SteamID(m.steamid).is_valid() for m in fam.members)
    assert 1900 <= len(fam.library) <= 2100
    assert any(len(a.owners) > 1 for a in fam.library.values())
    assert any(a.exclude_reason != 0 for a in fam.library.values())
    assert any(fam.apps[a].app_type != 1 for a in fam.library)
    wished = [a for wl in fam.wishlists.values() for a in wl]
    assert 250 <= len(set(wished)) <= 400
    assert any(wished.count(a) >= 2 for a in set(wished))
    for appid in (892970, 413150, 440, 730, 570, 322330, 1604030, 1245620):
        assert appid in fam.apps
    on_sale = [a for a, p in fam.prices.items() if p.discount_pct]
    at_low = [a for a in on_sale if fam.history_low_cents.get(a) == fam.prices[a].final_cents]
    assert on_sale and at_low
    again = await blocking.run_sync("files", _family.generate_family, 1, 0,
                                    sandbox.static.appdetails)
    assert again.library == fam.library  # deterministic for a seed


async def test_each_sandbox_gets_its_own_copy_of_the_cached_family(monkeypatch) -> None:
    bodies = (await blocking.run_sync("files", load_static)).appdetails
    assert (await blocking.run_sync("files", load_static)).appdetails is bodies  # read once
    now = 1_800_000_000
    fresh = await blocking.run_sync("files", _family.generate_family, 1, now, bodies)
    first = await blocking.run_sync("files", _family.build_family, 1, now, bodies)
    assert first == fresh  # every field, the wishlists dated from `now`
    appid = next(iter(first.library))
    first.library.pop(appid)
    first.prices[appid] = _family.Price(1, 0)
    next(iter(first.wishlists.values())).clear()
    first.members.pop()
    first.private_owned.add(first.members[0].steamid)
    first.playtimes.clear()
    first.other_shop_low_cents[appid] = 1
    second = await blocking.run_sync("files", _family.build_family, 1, now, bodies)
    assert second == fresh  # knobs on one sandbox never show in the next
    later_fresh = await blocking.run_sync("files", _family.generate_family, 1, now + 50, bodies)

    def generate_again(*args: object) -> None:
        raise AssertionError("build_family generated the family again: its cache missed")
    monkeypatch.setattr(_family, "generate_family", generate_again)
    later = await blocking.run_sync("files", _family.build_family, 1, now + 50, bodies)
    assert later == later_fresh


async def test_shared_library_needs_access_token(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    base = sandbox.urls["steam_webapi"] + FAMILY + "/GetSharedLibraryApps/v1/"
    gid = sandbox.family.family_groupid
    with trio.fail_after(10):
        r = await http.get(base, params={"key": sandbox.api_key, "family_groupid": gid})
        assert r.status_code == 401 and "Unauthorized" in r.text
        r = await http.get(base, params={"access_token": "eyJ.bogus.x", "family_groupid": gid})
        assert r.status_code == 401
        ok = {"access_token": sandbox.access_token, "family_groupid": gid,
              "include_own": "true", "include_free": "false", "format": "json"}
        r = await http.get(base, params=ok)
        assert r.status_code == 200
        body = r.json()["response"]
        member1 = str(sandbox.family.members[0].steamid)
        assert body["owner_steamid"] == member1
        apps = {a["appid"]: a for a in body["apps"]}
        assert 892970 in apps and apps[892970]["name"] == "Valheim"
        assert all(isinstance(o, str) for a in apps.values() for o in a["owner_steamids"])
        assert all(a["app_type"] == 1 for a in apps.values())
        assert {a["exclude_reason"] for a in apps.values()} <= {0, 3}
        everything = await http.get(base, params=ok | {"include_excluded": "true",
                                                       "include_free": "true",
                                                       "include_non_games": "true"})
        assert len(everything.json()["response"]["apps"]) > len(apps)
        not_own = await http.get(base, params=ok | {"include_own": "false"})
        assert all(member1 not in a["owner_steamids"]
                   for a in not_own.json()["response"]["apps"])
        sandbox.expire_access_token()
        r = await http.get(base, params=ok)
        assert r.status_code == 401


async def test_access_token_claims_and_renewal(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    claims = _claims(sandbox.access_token)
    assert claims["sub"] == str(sandbox.family.members[0].steamid)
    assert claims["aud"] == ["web:store"]
    assert 86000 < claims["exp"] - claims["iat"] <= 86400
    old = sandbox.access_token
    sandbox.expire_access_token()
    with trio.fail_after(10):
        r = await http.get(sandbox.urls["steam_auth"] + "/pointssummary/ajaxgetasyncconfig")
    new = r.json()["data"]["webapi_token"]
    assert r.json()["success"] == 1 and new != old and new == sandbox.access_token


async def test_family_group_calls(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    root = sandbox.urls["steam_webapi"] + FAMILY
    fam = sandbox.family
    with trio.fail_after(10):
        r = await http.get(root + "/GetFamilyGroupForUser/v1/", params={
            "access_token": sandbox.access_token, "steamid": fam.members[0].steamid,
            "include_family_group_response": "true"})
        body = r.json()["response"]
        assert body["family_groupid"] == fam.family_groupid
        assert body["is_not_member_of_any_group"] is False
        assert len(body["family_group"]["members"]) == 5
        r = await http.get(root + "/GetFamilyGroupForUser/v1/", params={
            "access_token": sandbox.access_token, "steamid": "76561197960287930"})
        assert r.json() == {"response": {"is_not_member_of_any_group": True,
                                         "cooldown_seconds_remaining": 0}}
        r = await http.get(root + "/GetFamilyGroup/v1/", params={
            "access_token": sandbox.access_token, "family_groupid": fam.family_groupid})
        assert [m["steamid"] for m in r.json()["response"]["members"]] == [
            str(m.steamid) for m in fam.members]


async def test_keyed_calls_and_bad_key(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    root = sandbox.urls["steam_webapi"]
    fam = sandbox.family
    sid = fam.members[1].steamid
    with trio.fail_after(10):
        r = await http.get(root + "/IPlayerService/GetOwnedGames/v1/",
                           params={"key": sandbox.bad_api_key, "steamid": sid})
        assert r.status_code == 403 and "Forbidden" in r.text
        r = await http.get(root + "/IPlayerService/GetOwnedGames/v1/", params={"steamid": sid})
        assert r.status_code == 401
        r = await http.get(root + "/IPlayerService/GetOwnedGames/v1/", params={
            "key": "anything", "steamid": sid, "include_appinfo": "1"})
        games = r.json()["response"]["games"]
        assert r.json()["response"]["game_count"] == len(games) > 100
        owned = set(fam.owned_appids(sid))
        assert {g["appid"] for g in games} <= owned and "name" in games[0]
        assert owned == set(fam.owned[sid])
        r = await http.get(root + "/IPlayerService/GetOwnedGames/v1/", params={
            "key": "k", "steamid": sid, "appids_filter[0]": games[0]["appid"],
            "include_extended_appinfo": "true"})
        (only,) = r.json()["response"]["games"]
        assert only["appid"] == games[0]["appid"] and "has_dlc" in only
        fam.private_owned.add(sid)
        r = await http.get(root + "/IPlayerService/GetOwnedGames/v1/",
                           params={"key": "k", "steamid": sid})
        assert r.json() == {"response": {}}
        fam.private_owned.clear()
        r = await http.get(root + "/IPlayerService/GetRecentlyPlayedGames/v1/",
                           params={"key": "k", "steamid": sid, "count": 3})
        assert len(r.json()["response"]["games"]) <= 3
        r = await http.get(root + "/IWishlistService/GetWishlist/v1/", params={"steamid": sid})
        items = r.json()["response"]["items"]
        assert {i["appid"] for i in items} == set(fam.wishlists[sid])
        assert set(items[0]) == {"appid", "priority", "date_added"}
        r = await http.get(root + "/ISteamUser/GetPlayerSummaries/v2/", params={
            "key": "k", "steamids": f"{sid},76561197960287930"})
        players = r.json()["response"]["players"]
        assert [p["steamid"] for p in players] == [str(sid)]
        r = await http.get(root + "/ISteamUser/ResolveVanityURL/v1/",
                           params={"key": "k", "vanityurl": fam.members[1].vanity})
        assert r.json() == {"response": {"steamid": str(sid), "success": 1}}
        r = await http.get(root + "/ISteamUser/ResolveVanityURL/v1/",
                           params={"key": "k", "vanityurl": "nobody_here"})
        assert r.json() == {"response": {"success": 42, "message": "No match"}}


async def test_get_items_keyless(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    url = sandbox.urls["steam_webapi"] + "/IStoreBrowseService/GetItems/v1"
    sandbox.start_sale(1245620, 40)
    spec = {"ids": [{"appid": 1245620}, {"appid": 440}, {"appid": 1}],
            "context": {"language": "english", "country_code": "US"},
            "data_request": {"include_basic_info": True}}
    with trio.fail_after(10):
        r = await http.get(url, params={"input_json": json.dumps(spec)})
        items = {i["id"]: i for i in r.json()["response"]["store_items"]}
        elden = items[1245620]
        assert elden["success"] == 1 and elden["name"] == "ELDEN RING"
        assert 38 in elden["categories"]["supported_player_categoryids"]
        assert elden["best_purchase_option"]["final_price_in_cents"] == str(3999 * 60 // 100)
        assert elden["best_purchase_option"]["discount_pct"] == 40
        assert "basic_info" in elden
        assert items[440].get("is_free") is True and "best_purchase_option" not in items[440]
        assert items[1]["success"] == 15 and items[1]["appid"] == 0
        too_many = {"ids": [{"appid": i} for i in range(101)]}
        r = await http.get(url, params={"input_json": json.dumps(too_many)})
        assert r.status_code == 400


async def test_steam_package_client(sandbox: Sandbox) -> None:
    """The `steam` package (requests, in a thread) talks to the sandbox as to Steam."""
    import steam.webapi

    def call() -> dict:
        return steam.webapi.get("IWishlistService", "GetWishlist", 1, apihost=sandbox.apihost,
                                https=False, params={"key": sandbox.api_key,
                                                     "steamid": sandbox.family.members[0].steamid})
    with trio.fail_after(20):
        body = await blocking.run_sync("steam_webapi", call)
    assert len(body["response"]["items"]) == len(
        sandbox.family.wishlists[sandbox.family.members[0].steamid])


async def test_steam_package_family_library_with_token(sandbox: Sandbox) -> None:
    """The reference call shape: GetSharedLibraryApps with access_token through `steam`."""
    import steam.webapi

    def call() -> dict:
        return steam.webapi.get("IFamilyGroupsService", "GetSharedLibraryApps", 1,
                                apihost=sandbox.apihost, https=False, params={
                                    "access_token": sandbox.access_token,
                                    "family_groupid": sandbox.family.family_groupid,
                                    "include_own": True, "include_free": False,
                                    "language": "english"})
    with trio.fail_after(20):
        body = await blocking.run_sync("steam_webapi", call)
    listed = {a["appid"] for a in body["response"]["apps"]}
    assert 413150 in listed and len(listed) > 1500


async def test_close_stops_serving() -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            sandbox = await nursery.start(Sandbox(seed=2).serve)
            assert sandbox.urls["storefront"].endswith("/store")
            sandbox.close()
        # leaving the nursery means serve() returned after close()
