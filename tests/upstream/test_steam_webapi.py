"""SteamWebAPI against the sandbox over real sockets: the steam package in threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trio
from trio.testing import MockClock

from familybot_trio import blocking
from familybot_trio.errors import NotFound, TokenExpired, Unauthorized, UpstreamError
from familybot_trio.sandbox import Fault, Sandbox
from familybot_trio.upstream import AccessTokenStore, SteamWebAPI
from familybot_trio.upstream.models import AppId, FamilyGroupId, SteamID64
from familybot_trio.upstream.tokens import TOKEN_FILE_NAME
from tests._clocks import thread_aware_autojump
from tests.upstream.conftest import AUTOJUMP_THRESHOLD_S, TEST_POLICY, make_token


@pytest.fixture
def io_clock() -> Iterator[MockClock]:
    """Autojump clock safe with sockets and threads (see conftest)."""
    with thread_aware_autojump(AUTOJUMP_THRESHOLD_S) as clock:  # waits for threads
        yield clock


async def test_family_flow_matches_the_sandbox(sandbox: Sandbox, steam_api: SteamWebAPI,
                                               tokens: AccessTokenStore) -> None:
    with trio.fail_after(60):
        me = tokens.current().steamid
        membership = await steam_api.get_family_group_for_user(me)
        fam = sandbox.family
        assert membership.family_groupid == int(fam.family_groupid)
        group = await steam_api.get_family_group(membership.family_groupid)
        assert group.steamids == tuple(m.steamid for m in fam.members)
        apps = await steam_api.get_shared_library_apps(membership.family_groupid)
    assert apps and all(a.appid in fam.library for a in apps)
    for a in apps[:50]:
        assert set(a.owner_steamids) == set(fam.library[a.appid].owners)
    assert sandbox.counts["steam_webapi.GetSharedLibraryApps"] == 1


async def test_401_from_shared_library_is_token_expired(
        sandbox: Sandbox, steam_api: SteamWebAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.expire_access_token()  # Steam revoked it: 401 with the HTML page
    with trio.fail_after(60), pytest.raises(TokenExpired) as info:
        await steam_api.get_shared_library_apps(FamilyGroupId(int(sandbox.family.family_groupid)))
    assert "token set" in str(info.value)
    assert sandbox.counts["steam_webapi.GetSharedLibraryApps"] == 1  # not retried
    assert sandbox.access_token not in str(info.value) + caplog.text


async def test_expired_token_raises_before_any_request(
        sandbox: Sandbox, session: requests.Session, tmp_path: Path) -> None:
    expired = make_token(exp=1_600_000_000)
    await trio.Path(tmp_path / TOKEN_FILE_NAME).write_text(expired)
    store = AccessTokenStore(tmp_path)
    await store.load()
    api = SteamWebAPI(session, tokens=store, apihost=sandbox.apihost, https=False)
    with trio.fail_after(60), pytest.raises(TokenExpired, match="2020-09-13"):
        await api.get_family_group(FamilyGroupId(1))
    assert sum(sandbox.counts.values()) == 0


async def test_calls_run_in_threads_under_the_steam_webapi_limiter(
        sandbox: Sandbox, tokens: AccessTokenStore) -> None:
    trio_thread = threading.get_ident()
    seen: list[tuple[int, int]] = []
    in_flight = [0, 0]  # now, max
    lock = threading.Lock()

    class Watching(requests.Session):
        def get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            lim = trio.from_thread.run_sync(lambda: blocking.limiter("steam_webapi").borrowed_tokens)
            with lock:
                seen.append((threading.get_ident(), lim))
                in_flight[0] += 1
                in_flight[1] = max(in_flight[1], in_flight[0])
            try:
                return super().get(*args, **kwargs)
            finally:
                with lock:
                    in_flight[0] -= 1

    with Watching() as session:
        api = SteamWebAPI(session, tokens=tokens, apihost=sandbox.apihost, https=False)
        appids = [AppId(a) for a in list(sandbox.family.library)[:900]]
        with trio.fail_after(120):
            items = await api.get_items(appids, country="US")
    assert len(items) >= 850
    assert sandbox.counts["steam_webapi.GetItems"] == 9  # 100 per call
    assert len(seen) == 9 and all(tid != trio_thread for tid, _ in seen)
    assert all(1 <= borrowed <= blocking.LIMITS["steam_webapi"] for _, borrowed in seen)
    assert in_flight[1] <= blocking.LIMITS["steam_webapi"]


@pytest.mark.parametrize("fault", [Fault.MALFORMED_JSON, Fault.HTML])
async def test_malformed_body_is_upstream_error(sandbox: Sandbox, steam_api: SteamWebAPI,
                                                fault: Fault) -> None:
    member = sandbox.family.members[0].steamid
    sandbox.fail_next("steam_webapi.GetOwnedGames", fault)
    with trio.fail_after(60), pytest.raises(UpstreamError, match="not JSON"):
        await steam_api.get_owned_games(SteamID64(member))
    owned = await steam_api.get_owned_games(SteamID64(member))  # next call is fine
    assert owned.is_visible or member in sandbox.family.private_owned


async def test_bad_key_is_unauthorized_and_never_echoed(
        sandbox: Sandbox, session: requests.Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api = SteamWebAPI(session, api_key=sandbox.bad_api_key, apihost=sandbox.apihost,
                      https=False)
    with trio.fail_after(60), pytest.raises(Unauthorized) as info:
        await api.get_player_summaries([SteamID64(sandbox.family.members[0].steamid)])
    assert info.value.status == 403 and "STEAM_API_KEY" in str(info.value)
    assert sandbox.bad_api_key not in str(info.value) + repr(api) + caplog.text
    assert info.value.__cause__ is None or sandbox.bad_api_key not in str(info.value.__cause__)


async def test_5xx_then_success_is_retried(sandbox: Sandbox, steam_api: SteamWebAPI,
                                           io_clock: MockClock) -> None:
    members = [SteamID64(m.steamid) for m in sandbox.family.members]
    sandbox.fail_next("steam_webapi.GetPlayerSummaries", Fault.UNAVAILABLE)
    t0 = trio.current_time()
    with trio.fail_after(400):
        players = await steam_api.get_player_summaries(members)
    assert set(players) == set(members)
    assert sandbox.counts["steam_webapi.GetPlayerSummaries"] == 2
    assert 1.0 <= trio.current_time() - t0 < TEST_POLICY.timeout_s  # one backoff, no timeout


async def test_player_calls(sandbox: Sandbox, steam_api: SteamWebAPI) -> None:
    m = sandbox.family.members[1]
    with trio.fail_after(60):
        assert await steam_api.resolve_vanity_url(m.vanity) == m.steamid
        with pytest.raises(NotFound, match="no-such-vanity"):
            await steam_api.resolve_vanity_url("no-such-vanity")
        wl = await steam_api.get_wishlist(SteamID64(m.steamid))
        recent = await steam_api.get_recently_played_games(SteamID64(m.steamid))
    wished = sandbox.family.wishlists.get(m.steamid, ())
    if wl.is_visible:
        assert {i.appid for i in wl.items} == {getattr(w, "appid", w) for w in wished}
    assert all(g.appid > 0 for g in recent)


async def test_a_wrong_family_group_id_names_the_config_key(steam_api: SteamWebAPI) -> None:
    with trio.fail_after(60), pytest.raises(UpstreamError, match="family.group_id") as info:
        await steam_api.get_shared_library_apps(FamilyGroupId(1234567))
    assert info.value.status == 400
