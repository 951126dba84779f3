"""The Steam Web API client reads `x-eresult`; requests carry only fields their messages define."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from familybot_trio.errors import NotFound, RateLimited, Unauthorized, UpstreamError
from familybot_trio.sandbox import Fault, Sandbox
from familybot_trio.upstream import AccessTokenStore, SteamWebAPI
from familybot_trio.upstream._eresult import error_for_eresult, parse_eresult
from familybot_trio.upstream._http import Transient
from familybot_trio.upstream.models import AppId, FamilyGroupId, SteamID64
from familybot_trio.upstream.steam_webapi import get_items_input
from tests._clocks import thread_aware_autojump
from tests.upstream.conftest import AUTOJUMP_THRESHOLD_S, TEST_POLICY


#: Field names of the request messages, from SteamDatabase/Protobufs
#: steam/steammessages_storebrowse.steamclient.proto (CStoreBrowse_GetItems_Request and the
#: messages it holds). GetItems is asked for nothing else.
GET_ITEMS_REQUEST = {"ids", "context", "data_request"}
STORE_ITEM_ID = {"appid", "packageid", "bundleid", "tagid", "creatorid", "hubcategoryid"}
STORE_BROWSE_CONTEXT = {"language", "elanguage", "country_code"}
STORE_BROWSE_ITEM_DATA_REQUEST = {
    "include_assets", "include_release", "include_platforms", "include_all_purchase_options",
    "include_screenshots", "include_trailers", "include_ratings", "include_tag_count",
    "include_reviews", "include_basic_info", "include_supported_languages",
    "include_full_description", "include_included_items", "included_item_data_request",
    "include_assets_without_overrides", "apply_user_filters", "include_links"}


@pytest.fixture
def io_clock() -> Iterator[MockClock]:
    with thread_aware_autojump(AUTOJUMP_THRESHOLD_S) as clock:  # waits for threads
        yield clock


def test_get_items_asks_only_for_fields_the_request_message_defines() -> None:
    spec = get_items_input([AppId(440), AppId(730)], country="DE")
    assert set(spec) <= GET_ITEMS_REQUEST
    assert all(set(i) <= STORE_ITEM_ID for i in spec["ids"])
    assert set(spec["context"]) <= STORE_BROWSE_CONTEXT
    assert set(spec["data_request"]) <= STORE_BROWSE_ITEM_DATA_REQUEST  # no include_categories
    assert spec["data_request"]["include_reviews"] is True


@pytest.mark.parametrize(("eresult", "auth", "kind", "retried"), [
    (1, "key", None, False),
    (None, "key", None, False),
    (2, "key", UpstreamError, False),        # Fail
    (8, "none", UpstreamError, False),       # InvalidParam: our request is wrong
    (9, "key", NotFound, False),             # FileNotFound
    (15, "key", Unauthorized, False),        # AccessDenied
    (15, "token", Unauthorized, False),
    (20, "key", UpstreamError, True),        # ServiceUnavailable
    (84, "key", RateLimited, True),          # RateLimitExceeded
])
def test_eresult_table(eresult: int | None, auth: str, kind: type | None, retried: bool) -> None:
    got = error_for_eresult(eresult, upstream="steam_webapi", what="I/M", auth=auth,
                            policy=TEST_POLICY, auth_hint="check the key")
    if kind is None:
        assert got is None
        return
    assert isinstance(got, Transient) == retried
    error = got.error if isinstance(got, Transient) else got
    assert isinstance(error, kind)
    if kind is not RateLimited:  # RateLimited says how long to wait instead
        assert f"EResult {eresult}" in str(error)


def test_expired_or_revoked_token_eresults_are_token_expired() -> None:
    from familybot_trio.errors import TokenExpired
    for eresult in (21, 26, 27):
        got = error_for_eresult(eresult, upstream="steam_webapi", what="I/M", auth="token",
                                policy=TEST_POLICY, auth_hint="")
        assert isinstance(got, TokenExpired)
    assert parse_eresult(" 15 ") == 15 and parse_eresult("x") is None and parse_eresult(None) is None


async def test_a_200_with_access_denied_is_unauthorized_not_not_a_member(
        sandbox: Sandbox, steam_api: SteamWebAPI, tokens: AccessTokenStore) -> None:
    sandbox.fail_next("steam_webapi.GetFamilyGroupForUser", Fault.ERESULT_ACCESS_DENIED)
    with trio.fail_after(60), pytest.raises(Unauthorized) as info:
        await steam_api.get_family_group_for_user(tokens.current().steamid)
    assert "EResult 15" in str(info.value)
    assert sandbox.counts["steam_webapi.GetFamilyGroupForUser"] == 1  # not retried


async def test_a_200_with_fail_is_an_error_not_an_empty_library(
        sandbox: Sandbox, steam_api: SteamWebAPI) -> None:
    sandbox.fail_next("steam_webapi.GetSharedLibraryApps", Fault.ERESULT_FAIL)
    with trio.fail_after(60), pytest.raises(UpstreamError) as info:
        await steam_api.get_shared_library_apps(FamilyGroupId(int(sandbox.family.family_groupid)))
    assert "EResult 2" in str(info.value)


async def test_eresult_rate_limit_is_retried_then_rate_limited(
        sandbox: Sandbox, steam_api: SteamWebAPI, io_clock: MockClock) -> None:
    sid = SteamID64(sandbox.family.members[0].steamid)
    sandbox.fail_next("steam_webapi.GetWishlist", Fault.ERESULT_RATE_LIMITED, n=1)
    with trio.fail_after(600):
        wishlist = await steam_api.get_wishlist(sid)  # retried once, then the real answer
        assert wishlist.is_visible and wishlist.items
        sandbox.fail_next("steam_webapi.GetWishlist", Fault.ERESULT_RATE_LIMITED, n=5)
        with pytest.raises(RateLimited):
            await steam_api.get_wishlist(sid)
