"""The sandbox answers like the recorded bodies and the protobuf definitions say Steam does."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import trio

from familybot_trio import blocking
from familybot_trio.sandbox import Fault, Sandbox

#: A Steam EUR price string in the recorded bodies: "9,75€" (comma decimals, no space).
EUR = re.compile(r"^\d+,\d{2}€$")


def _ints(obj: Any, path: str = "") -> list[tuple[str, int]]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, int):
        return [(path, obj)]
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in _ints(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [x for v in obj for x in _ints(v, f"{path}[]")]
    return []


async def test_eur_price_strings_read_like_steams(sandbox: Sandbox, http: httpx.AsyncClient
                                                  ) -> None:
    sandbox.start_sale(1245620, 40)
    spec = {"ids": [{"appid": 1245620}], "context": {"language": "english", "country_code": "DE"},
            "data_request": {"include_basic_info": True}}
    with trio.fail_after(10):
        r = await http.get(sandbox.urls["steam_webapi"] + "/IStoreBrowseService/GetItems/v1",
                           params={"input_json": json.dumps(spec)})
        best = r.json()["response"]["store_items"][0]["best_purchase_option"]
        d = await http.get(sandbox.urls["storefront"] + "/api/appdetails",
                           params={"appids": 1245620, "cc": "DE"})
    overview = d.json()["1245620"]["data"]["price_overview"]
    for text in (best["formatted_final_price"], best["formatted_original_price"],
                 overview["final_formatted"], overview["initial_formatted"]):
        assert EUR.match(text), text


async def test_get_items_returns_reviews_when_asked(sandbox: Sandbox, http: httpx.AsyncClient
                                                    ) -> None:
    spec = {"ids": [{"appid": 1245620}, {"appid": 440}],
            "context": {"language": "english", "country_code": "US"},
            "data_request": {"include_reviews": True}}
    with trio.fail_after(10):
        r = await http.get(sandbox.urls["steam_webapi"] + "/IStoreBrowseService/GetItems/v1",
                           params={"input_json": json.dumps(spec)})
    for item in r.json()["response"]["store_items"]:  # the recorded sample's shape
        summary = item["reviews"]["summary_filtered"]
        assert set(summary) == {"review_count", "percent_positive", "review_score",
                                "review_score_label"}
        assert 0 <= summary["percent_positive"] <= 100 and summary["review_count"] > 0


async def test_64_bit_ids_are_strings_and_every_answer_has_an_eresult(
        sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    root, fam = sandbox.urls["steam_webapi"], sandbox.family
    token = {"access_token": sandbox.access_token}
    key = {"key": sandbox.api_key}
    calls = [
        ("/IFamilyGroupsService/GetFamilyGroupForUser/v1",
         token | {"include_family_group_response": "true"}),
        ("/IFamilyGroupsService/GetFamilyGroup/v1", token | {"family_groupid": fam.family_groupid}),
        ("/IFamilyGroupsService/GetSharedLibraryApps/v1",
         token | {"family_groupid": fam.family_groupid, "include_own": "true"}),
        ("/ISteamUser/GetPlayerSummaries/v2",
         key | {"steamids": ",".join(str(m.steamid) for m in fam.members)}),
        ("/IStoreBrowseService/GetItems/v1", {"input_json": json.dumps(
            {"ids": [{"appid": a} for a in list(fam.prices)[:50]],
             "data_request": {"include_basic_info": True}})}),
    ]
    with trio.fail_after(20):
        for path, params in calls:
            r = await http.get(root + path, params=params)
            assert r.status_code == 200 and r.headers["x-eresult"] == "1", path
            # parse and walk library-sized bodies off the loop (the loop-block guard)
            found = await blocking.run_sync("cpu", lambda: _ints(r.json()))
            big = [(p, v) for p, v in found if v >= 2**32]
            assert big == [], (path, big[:3])  # uint64/int64 are JSON strings in Steam's JSON
        sandbox.fail_next("steam_webapi.GetWishlist", Fault.ERESULT_ACCESS_DENIED)
        r = await http.get(root + "/IWishlistService/GetWishlist/v1",
                           params={"steamid": fam.members[0].steamid})
    assert r.status_code == 200 and r.headers["x-eresult"] == "15"
    assert r.json() == {"response": {}}


async def test_itad_other_shop_lower_low_and_keyless_lookup(sandbox: Sandbox,
                                                           http: httpx.AsyncClient) -> None:
    root, key = sandbox.urls["itad"], {"key": sandbox.itad_key}
    gid = sandbox.family.itad_ids[892970]
    sandbox.set_price(892970, 1999, 50)
    sandbox.set_historical_low(892970, 799)      # Steam's own low
    sandbox.set_other_shop_low(892970, 499)      # GOG once sold it for less
    with trio.fail_after(10):
        r = await http.post(root + "/lookup/id/shop/61/v1", json=["app/892970"])  # no key
        assert r.status_code == 200 and r.json() == {"app/892970": gid}
        r = await http.post(root + "/lookup/id/shop/61/v1", json=["app/892970"],
                            headers={"ITAD-API-Key": "wrong"})
        assert r.status_code == 403  # a key that is sent is still checked
        r = await http.post(root + "/games/prices/v3", params=key | {"country": "US",
                                                                     "shops": "61"}, json=[gid])
        (entry,) = r.json()
        assert entry["historyLow"]["all"]["amountInt"] == 499      # any store: GOG's
        (deal,) = entry["deals"]                                   # shops=61: Steam only
        assert deal["shop"]["id"] == 61 and deal["storeLow"]["amountInt"] == 799
        r = await http.post(root + "/games/prices/v3", params=key | {"country": "US"},
                            json=[gid])
        gog = next(d for d in r.json()[0]["deals"] if d["shop"]["id"] == 35)
        assert gog["storeLow"]["amountInt"] == 499
        r = await http.post(root + "/games/storelow/v2", params=key | {"shops": "61"},
                            json=[gid])
        assert r.json()[0]["lows"][0]["price"]["amountInt"] == 799
        r = await http.post(root + "/games/historylow/v1", params=key, json=[gid])
        assert r.json()[0]["low"]["price"]["amountInt"] == 499
        assert r.json()[0]["low"]["shop"]["id"] == 35
