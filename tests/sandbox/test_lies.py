"""Sandbox lies (`Sandbox.lie_next`): a wishlist or library answer shrunk for a while, with
nothing changed in the family and nothing in `change_log` (a lie is not a change)."""

from __future__ import annotations

import httpx
import pytest
import trio

from familybot_trio.sandbox import Sandbox


async def _wishlist(sandbox: Sandbox, http: httpx.AsyncClient, steamid: int) -> list[int]:
    r = await http.get(sandbox.urls["steam_webapi"] + "/IWishlistService/GetWishlist/v1/",
                       params={"steamid": steamid})
    return [i["appid"] for i in r.json()["response"]["items"]]


async def _library(sandbox: Sandbox, http: httpx.AsyncClient, excluded: bool) -> list[int]:
    r = await http.get(
        sandbox.urls["steam_webapi"] + "/IFamilyGroupsService/GetSharedLibraryApps/v1/",
        params={"access_token": sandbox.access_token, "include_own": "true",
                "include_excluded": str(excluded).lower(),
                "family_groupid": sandbox.family.family_groupid})
    return [a["appid"] for a in r.json()["response"]["apps"]]


async def test_wishlist_comes_back_truncated_for_n_answers(sandbox: Sandbox,
                                                           http: httpx.AsyncClient) -> None:
    liar, honest = (m.steamid for m in sandbox.family.members[:2])
    real = await _wishlist(sandbox, http, liar)
    other = await _wishlist(sandbox, http, honest)
    assert len(real) > 50
    log_before = list(sandbox.change_log)
    rule = sandbox.lie_next("GetWishlist", keep=0.15, steamid=liar, n=2)
    with trio.fail_after(10):
        first = await _wishlist(sandbox, http, liar)
        second = await _wishlist(sandbox, http, liar)
        assert await _wishlist(sandbox, http, honest) == other  # only that member's
        after = await _wishlist(sandbox, http, liar)
    assert first == second == real[:int(len(real) * 0.15)]
    assert after == real  # the third answer is honest again
    assert rule.served == {"wishlist": 2} and rule.remaining == 0
    assert sandbox.change_log == log_before
    assert len(sandbox.family.wishlists[liar]) == len(real)


async def test_library_comes_back_halved_until_a_time(sandbox: Sandbox,
                                                      http: httpx.AsyncClient) -> None:
    real = await _library(sandbox, http, excluded=True)
    rule = sandbox.lie_next("GetSharedLibraryApps", keep=0.4, until_s=sandbox.now_s() + 3600)
    with trio.fail_after(10):
        lied = await _library(sandbox, http, excluded=True)
        plain = await _library(sandbox, http, excluded=False)
    assert lied == real[:int(len(real) * 0.4)] and len(lied) < len(real) / 2
    assert rule.served == {"include_excluded": 1, "plain": 1} and len(plain) < len(real) / 2
    assert sandbox.change_log == []
    rule.until_s = sandbox.now_s() - 1  # the streak is over: honest answers again
    with trio.fail_after(10):
        assert await _library(sandbox, http, excluded=True) == real


async def test_bad_lie_arguments_say_what_to_fix(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="GetWishlist or GetSharedLibraryApps"):
        sandbox.lie_next("GetOwnedGames", keep=0.5, n=1)
    with pytest.raises(ValueError, match="0..1"):
        sandbox.lie_next("GetWishlist", keep=2, n=1)
    with pytest.raises(ValueError, match="n .answers. or until_s"):
        sandbox.lie_next("GetWishlist", keep=0.5)
