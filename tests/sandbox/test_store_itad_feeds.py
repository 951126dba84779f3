"""Storefront, ITAD, Epic and Reddit fakes: documented shapes over a real socket."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import trio

from familybot_trio.sandbox import Sandbox


async def test_appdetails_single_full_body(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    url = sandbox.urls["storefront"] + "/api/appdetails"
    with trio.fail_after(10):
        r = await http.get(url, params={"appids": 892970, "cc": "us", "l": "en"})
    data = r.json()["892970"]["data"]
    assert r.json()["892970"]["success"] is True
    assert data["name"] == "Valheim" and data["type"] == "game"
    assert data["price_overview"]["currency"] == "USD"
    assert data["price_overview"]["final"] == sandbox.family.prices[892970].final_cents
    assert {c["id"] for c in data["categories"]} >= {1, 9, 38, 62}
    assert "detailed_description" in data  # the recorded body, not a stub
    with trio.fail_after(10):
        free = (await http.get(url, params={"appids": 440})).json()["440"]["data"]
    assert free["is_free"] is True and "price_overview" not in free


async def test_appdetails_generated_app_and_currency(sandbox: Sandbox,
                                                     http: httpx.AsyncClient) -> None:
    fam = sandbox.family
    appid = next(a for a, i in fam.apps.items() if not i.fixture and not fam.prices[a].is_free
                 and i.app_type == 1)
    url = sandbox.urls["storefront"] + "/api/appdetails"
    with trio.fail_after(10):
        data = (await http.get(url, params={"appids": appid, "cc": "de"})).json()[str(appid)]["data"]
    assert data["name"] == fam.apps[appid].name and data["steam_appid"] == appid
    assert data["price_overview"]["currency"] == "EUR"
    assert data["price_overview"]["final_formatted"].endswith("€")
    assert [c["id"] for c in data["categories"]] == list(fam.apps[appid].categories)


async def test_appdetails_multi_rules(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    url = sandbox.urls["storefront"] + "/api/appdetails"
    with trio.fail_after(10):
        r = await http.get(url, params={"appids": "892970,440"})
        assert r.status_code == 400 and r.content == b"null"
        r = await http.get(url, params={"appids": "892970,440", "filters": "basic"})
        assert r.status_code == 400
        r = await http.get(url, params={"appids": "892970,440,999999999",
                                        "filters": "price_overview", "cc": "us"})
    body = r.json()
    assert set(body["892970"]["data"]) == {"price_overview"}
    assert body["440"] == {"success": True, "data": []}
    assert body["999999999"] == {"success": False}


async def test_mutations_show_in_prices(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    url = sandbox.urls["storefront"] + "/api/appdetails"
    params = {"appids": "892970", "filters": "price_overview", "cc": "us"}
    sandbox.set_price(892970, 1999)
    sandbox.start_sale(892970, 50)
    with trio.fail_after(10):
        po = (await http.get(url, params=params)).json()["892970"]["data"]["price_overview"]
        assert (po["initial"], po["final"], po["discount_percent"]) == (1999, 999, 50)
        assert po["initial_formatted"] == "$19.99" and po["final_formatted"] == "$9.99"
        sandbox.end_sale(892970)
        po = (await http.get(url, params=params)).json()["892970"]["data"]["price_overview"]
    assert po["final"] == 1999 and po["discount_percent"] == 0


async def test_mutations_library_and_wishlist(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    fam = sandbox.family
    m1, m2 = fam.members[0].steamid, fam.members[1].steamid
    lib = sandbox.urls["steam_webapi"] + "/IFamilyGroupsService/GetSharedLibraryApps/v1/"
    params = {"access_token": sandbox.access_token, "family_groupid": fam.family_groupid,
              "include_own": "true"}
    sandbox.add_library_app(4_000_001, m2, name="Sandbox Co-op Quest")
    sandbox.add_library_app(892970, m2)
    sandbox.clear_wishlist(m1)
    with trio.fail_after(10):
        apps = {a["appid"]: a for a in (await http.get(lib, params=params)).json()["response"]["apps"]}
        wl = await http.get(sandbox.urls["steam_webapi"] + "/IWishlistService/GetWishlist/v1/",
                            params={"steamid": m1})
    assert apps[4_000_001]["name"] == "Sandbox Co-op Quest"
    assert apps[4_000_001]["owner_steamids"] == [str(m2)]
    assert str(m2) in apps[892970]["owner_steamids"]
    assert wl.json() == {"response": {"items": []}}


async def test_itad_endpoints(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    root, key = sandbox.urls["itad"], {"key": sandbox.itad_key}
    fam = sandbox.family
    with trio.fail_after(10):
        r = await http.get(root + "/games/lookup/v1", params={"appid": 892970})
        assert r.status_code == 401 and r.json()["status_code"] == 401
        r = await http.get(root + "/games/lookup/v1", params=key | {"appid": 892970})
        assert r.json()["found"] is True and r.json()["game"]["title"] == "Valheim"
        gid = r.json()["game"]["id"]
        r = await http.post(root + "/lookup/id/shop/61/v1", json=["app/892970", "app/1"],
                            headers={"ITAD-API-Key": sandbox.itad_key})
        assert r.json() == {"app/892970": gid, "app/1": None}
        r = await http.post(root + "/lookup/id/shop/61/v1", params=key,
                            json=[f"app/{i}" for i in range(201)])
        assert r.status_code == 400
        sandbox.set_price(892970, 1999, 75)
        sandbox.set_historical_low(892970)
        r = await http.post(root + "/games/prices/v3", params=key | {"country": "US",
                                                                     "shops": "61"}, json=[gid])
        (entry,) = r.json()
        assert entry["id"] == gid and entry["historyLow"]["all"]["amountInt"] == 499
        (deal,) = entry["deals"]
        assert deal["shop"] == {"id": 61, "name": "Steam"} and deal["cut"] == 75
        assert deal["price"] == {"amount": 4.99, "amountInt": 499, "currency": "USD"}
        r = await http.post(root + "/games/historylow/v1", params=key, json=[gid])
        assert r.json()[0]["low"]["price"]["amountInt"] == 499
        r = await http.post(root + "/games/storelow/v2", params=key | {"shops": "61"}, json=[gid])
        assert r.json()[0]["lows"][0]["shop"]["id"] == 61
        r = await http.post(root + "/games/overview/v2", params=key, json=[gid])
        assert r.json()["prices"][0]["current"]["price"]["amountInt"] == 499
        assert r.json()["bundles"] == []
    assert fam.history_low_cents[892970] == 499


async def test_epic_feed_is_rebased(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    with trio.fail_after(10):
        r = await http.get(sandbox.urls["epic"] + "/freeGamesPromotions",
                           params={"locale": "en-US", "country": "US", "allowCountries": "US"})
    elements = r.json()["data"]["Catalog"]["searchStore"]["elements"]
    now = datetime.now(UTC)

    def parse(s: str) -> datetime:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))

    free_now = [e["title"] for e in elements if e["price"]["totalPrice"]["discountPrice"] == 0
                and any(parse(o["startDate"]) <= now < parse(o["endDate"])
                        and o["discountSetting"]["discountPercentage"] == 0
                        for g in (e.get("promotions") or {}).get("promotionalOffers", [])
                        for o in g["promotionalOffers"])]
    upcoming = [e["title"] for e in elements
                if (e.get("promotions") or {}).get("upcomingPromotionalOffers")
                and any(parse(o["startDate"]) > now
                        for g in e["promotions"]["upcomingPromotionalOffers"]
                        for o in g["promotionalOffers"])]
    titles = [e["title"] for e in elements]
    assert "Deliver Us Mars" in free_now
    assert "Mighty Fight Federation" in upcoming
    assert any(t.startswith("Mystery Game") for t in titles)
    assert any("VaultClosed" in str(e.get("keyImages")) for e in elements)


async def test_reddit_rss_and_json(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    root = sandbox.urls["reddit"] + "/r/FreeGameFindings/new"
    with trio.fail_after(10):
        rss = await http.get(root + "/.rss")
        listing = await http.get(root + "/.json")
    assert rss.headers["content-type"].startswith("application/atom+xml")
    assert "x-ratelimit-remaining" in rss.headers
    assert "[Epic Games] (Other) Firestone Online Idle RPG - Special Offer" in rss.text
    feed_updated = datetime.fromisoformat(rss.text.split("<updated>")[1].split("<")[0])
    assert abs((feed_updated - datetime.now(UTC)).total_seconds()) < 3600  # rebased to now
    posts = listing.json()["data"]["children"]
    assert len(posts) == 25 and all(p["kind"] == "t3" for p in posts)
    titles = [p["data"]["title"] for p in posts]
    assert "[Epic Games Mobile] (Game) Botanicula & Firestone Online Idle RPG" in titles
    assert all(p["data"]["permalink"].startswith("/r/FreeGameFindings/comments/") for p in posts)
    newest = max(p["data"]["created_utc"] for p in posts)
    assert abs(newest - datetime.now(UTC).timestamp()) < 86400
