"""The Steam Web API through the `steam` package, every call in a worker thread.

`steam.webapi.get` is a blocking requests call, so each attempt runs in
`blocking.run_sync("steam_webapi", ...)` on one long-lived `requests.Session` (connection
reuse); nothing happens in the constructor (the reference bot's `WebAPI(key)` fetched the
interface list on the loop, P21). Host and scheme are settings so the sandbox can stand in.

Auth: the API key (`key=`) for player/user calls; the user's access token (`access_token=`,
from the token store) for the IFamilyGroupsService calls, which refuse keys (HTTP 401).
An expired token raises TokenExpired *before* any call; a 401 from a family call becomes
TokenExpired too. Both secrets are query parameters, so no URL and no requests exception
text ever reaches a log line or an error message.
"""

from __future__ import annotations

import functools
import logging
import types
from collections.abc import Sequence
from collections.abc import Callable
from typing import Any, Final, TypeVar

import requests
import steam.webapi

from familybot_trio import blocking, offloop
from familybot_trio.errors import NotFound, TokenExpired, Unauthorized, UpstreamError
from familybot_trio.upstream import _steam_parse as parse
from familybot_trio.upstream._eresult import error_for_eresult, parse_eresult
from familybot_trio.upstream._http import (
    RetryPolicy,
    Transient,
    call_with_retry,
    error_for_status,
    install_urllib3_redaction,
    malformed,
    side_by_side,
)
from familybot_trio.upstream.models import (
    AppId,
    FamilyGroup,
    FamilyGroupId,
    FamilyMembership,
    GameDetails,
    OwnedGames,
    PlayerSummary,
    RecentGame,
    SharedApp,
    SteamID64,
    Wishlist,
)
from familybot_trio.upstream.tokens import AccessTokenStore

T = TypeVar("T")
log = logging.getLogger("familybot_trio.upstream.steam_webapi")

UPSTREAM: Final = "steam_webapi"
PUBLIC_HOST: Final = "api.steampowered.com"
GET_ITEMS_BATCH: Final = 100  # IStoreBrowseService/GetItems: <= 100 ids per call (SOURCES.md)
PLAYER_SUMMARIES_BATCH: Final = 100  # GetPlayerSummaries accepts <= 100 steamids
KEY_HINT: Final = "check STEAM_API_KEY (steamcommunity.com/dev/apikey)"


def get_items_input(appids: Sequence[AppId], *, country: str, language: str = "english"
                    ) -> dict[str, Any]:
    """The `input_json` of IStoreBrowseService/GetItems: a CStoreBrowse_GetItems_Request.

    Only fields the request messages define (SteamDatabase/Protobufs
    steam/steammessages_storebrowse.steamclient.proto): `ids` (StoreItemID.appid), `context`
    (StoreBrowseContext), `data_request` (StoreBrowseItemDataRequest). Categories need no
    flag: StoreItem.categories always comes (the message has no include_categories).
    """
    return {"ids": [{"appid": int(a)} for a in appids],
            "context": {"language": language, "country_code": country},
            "data_request": {"include_basic_info": True, "include_assets": True,
                             "include_reviews": True}}


class SteamWebAPI:
    """Typed Steam Web API calls; one instance per bot.

    Args: session: one long-lived requests.Session; api_key: Web API key ("" for keyless
        calls only); tokens: the access token store (family calls); apihost: "host[:port]";
        https: scheme; policy: retries and per-attempt timeout.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        api_key: str = "",
        tokens: AccessTokenStore | None = None,
        apihost: str = PUBLIC_HOST,
        https: bool = True,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._session = offloop.guard_requests_session(session)  # tests: never on the loop
        self._api_key = api_key
        self._tokens = tokens
        self._apihost = apihost
        self._https = https
        self._policy = policy or RetryPolicy(attempts=3, timeout_s=20.0)
        install_urllib3_redaction()  # urllib3 logs request URLs, secrets included

    def __repr__(self) -> str:  # never show the key
        return f"SteamWebAPI(apihost={self._apihost!r}, https={self._https})"

    # ------------------------------------------------------------------ plumbing

    def _blocking_get(self, path: tuple[str, str, int], params: dict[str, Any],
                      parse: Callable[[dict[str, Any]], T], auth: str = "key") -> T:
        """Runs in a worker thread: one GET through the steam package, the `x-eresult`
        header checked (`_eresult`), then `parse` of the `response` object (parsing big
        bodies here keeps it off the loop). Never on the loop.
        """
        interface, method, version = path
        what = f"{interface}/{method}"
        params = dict(params, http_timeout=self._policy.timeout_s)
        caller = types.SimpleNamespace(last_response=None)  # the package keeps the response
        body = steam.webapi.get(
            interface, method, version, apihost=self._apihost, https=self._https,
            caller=caller, session=self._session, params=params,
        )
        headers = getattr(caller.last_response, "headers", None) or {}
        error = error_for_eresult(parse_eresult(headers.get("x-eresult")), upstream=UPSTREAM,
                                  what=what, auth=auth, policy=self._policy, auth_hint=KEY_HINT)
        if error is not None:
            raise error
        if not isinstance(body, dict):
            raise malformed(UPSTREAM, what, f"top level is {type(body).__name__}")
        response = body.get("response", body)
        if not isinstance(response, dict):
            raise malformed(UPSTREAM, what, "'response' is not an object")
        return parse(response)

    async def call(
        self,
        interface: str,
        method: str,
        version: int,
        params: dict[str, Any],
        parse: Callable[[dict[str, Any]], T],
        *,
        auth: str = "key",
    ) -> T:
        """One Web API call; returns `parse(response)` (parse runs in the worker thread).

        Args: interface/method/version: e.g. ("IPlayerService", "GetOwnedGames", 1);
            params: query params (lists and dicts are serialised by the steam package);
            parse: pure function of the body's "response" dict (or the whole body if it has
            none) -> record(s); raise UpstreamError on a bad shape;
            auth: "key" (API key), "token" (access token, family calls) or "none".
        Returns: what parse returns.
        Raises: TokenExpired (expired/refused access token), Unauthorized (key refused),
            NotFound (404), RateLimited (429 after retries), UpstreamError (5xx, network,
            timeout, non-JSON body); a 200 whose `x-eresult` header is not 1 raises what
            `_eresult.error_for_eresult` maps it to.
        Cancellation: the caller leaves at once; the thread finishes its request and the
            result is dropped (reads only), its limiter token returns when it ends.
        Upstream: https://{apihost}/{interface}/{method}/v{version}/
        """
        what = f"{interface}/{method}"
        params = dict(params)
        if auth == "key":
            if not self._api_key:
                raise Unauthorized(f"{what} needs a Steam Web API key: {KEY_HINT}",
                                   upstream=UPSTREAM)
            params["key"] = self._api_key
        elif auth == "token":
            if self._tokens is None:
                raise Unauthorized(f"{what} needs a Steam access token: run "
                                   "`familybot-trio token set`", upstream=UPSTREAM)
            token = self._tokens.current()  # raises TokenExpired before any call
            params["access_token"] = token.value

        async def attempt() -> T:
            try:
                return await blocking.run_sync(
                    UPSTREAM, self._blocking_get, (interface, method, version), params, parse,
                    auth, abandon_on_cancel=True,
                )
            except requests.HTTPError as exc:  # str(exc) holds the URL with key=: never use
                resp = exc.response
                status = resp.status_code if resp is not None else 0
                if status == 401 and auth == "token":
                    raise TokenExpired(None) from None  # revoked, or expired early
                hint = "refresh the access token" if auth == "token" else KEY_HINT
                err = error_for_status(
                    UPSTREAM, status, resp.headers.get("Retry-After") if resp is not None else None,
                    what=what, policy=self._policy, auth_hint=hint,
                )
                raise (err or malformed(UPSTREAM, what, f"HTTP {status}")) from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Transient(UpstreamError(
                    f"cannot reach the Steam Web API for {what} ({type(exc).__name__}); "
                    "check the network or the configured host", upstream=UPSTREAM,
                )) from None
            except ValueError:  # requests' JSONDecodeError: an HTML or truncated body
                raise malformed(UPSTREAM, what, "not JSON") from None
            except requests.RequestException as exc:  # chunked/decoding errors, bad URL...
                raise Transient(UpstreamError(
                    f"the Steam Web API call {what} failed ({type(exc).__name__}); "
                    "try again later", upstream=UPSTREAM,
                )) from None

        return await call_with_retry(UPSTREAM, self._policy, attempt, what=what)

    # ------------------------------------------------------------------ family (access token)

    async def get_family_group_for_user(self, steamid: SteamID64) -> FamilyMembership:
        """The family the token's user is in (family_groupid None if none).

        Raises: TokenExpired, UpstreamError. Upstream: IFamilyGroupsService/GetFamilyGroupForUser/v1
        """
        return await self.call("IFamilyGroupsService", "GetFamilyGroupForUser", 1,
                            {"steamid": steamid, "include_family_group_response": True},
                            functools.partial(parse.family_membership, steamid), auth="token")

    async def get_family_group(self, family_groupid: FamilyGroupId) -> FamilyGroup:
        """Name, members and slots of a family group.

        Raises: TokenExpired, UpstreamError. Upstream: IFamilyGroupsService/GetFamilyGroup/v1
        """
        return await self.call("IFamilyGroupsService", "GetFamilyGroup", 1,
                            {"family_groupid": family_groupid},
                            functools.partial(parse.family_group, family_groupid), auth="token")

    async def get_shared_library_apps(
        self, family_groupid: FamilyGroupId, *, steamid: SteamID64 | None = None,
        include_own: bool = True, include_excluded: bool = False,
    ) -> tuple[SharedApp, ...]:
        """The family's shared library. include_own=True also lists the caller's own apps.

        Returns: apps with owners, exclude_reason, rt_time_acquired (for "new game" order).
        Raises: TokenExpired (401: the token expired or was revoked), UpstreamError.
        Upstream: IFamilyGroupsService/GetSharedLibraryApps/v1
        """
        params: dict[str, Any] = {"family_groupid": family_groupid, "include_own": include_own,
                                  "include_excluded": include_excluded, "language": "english"}
        if steamid is not None:
            params["steamid"] = steamid
        try:
            return await self.call("IFamilyGroupsService", "GetSharedLibraryApps", 1, params,
                                   parse.shared_apps, auth="token")
        except UpstreamError as exc:
            if exc.status != 400:
                raise
            # Steam answers 400 for a family group the token's owner is not in.
            raise UpstreamError(
                f"Steam refused family group {family_groupid} (HTTP 400): check "
                "family.group_id in config.toml; `familybot-trio check` prints the right one",
                upstream=UPSTREAM, status=400) from exc

    # ------------------------------------------------------------------ players (API key)

    async def get_owned_games(self, steamid: SteamID64) -> OwnedGames:
        """A user's games with names and playtimes (is_visible False when private).

        Upstream: IPlayerService/GetOwnedGames/v1 (include_appinfo, include_played_free_games)
        """
        return await self.call("IPlayerService", "GetOwnedGames", 1,
                            {"steamid": steamid, "include_appinfo": True,
                             "include_played_free_games": True},
                            functools.partial(parse.owned_games, steamid))

    async def get_wishlist(self, steamid: SteamID64) -> Wishlist:
        """A user's wishlist (appid, priority, date_added); is_visible False when private.

        Keyless on Steam's side; the key is sent when configured. Upstream: IWishlistService/GetWishlist/v1
        """
        return await self.call("IWishlistService", "GetWishlist", 1, {"steamid": steamid},
                               functools.partial(parse.wishlist, steamid),
                               auth="key" if self._api_key else "none")

    async def get_player_summaries(
        self, steamids: Sequence[SteamID64]
    ) -> dict[SteamID64, PlayerSummary]:
        """Public profiles, batched by 100; unknown ids are absent from the result.

        Upstream: ISteamUser/GetPlayerSummaries/v2
        """
        out: dict[SteamID64, PlayerSummary] = {}
        for i in range(0, len(steamids), PLAYER_SUMMARIES_BATCH):
            chunk = steamids[i : i + PLAYER_SUMMARIES_BATCH]
            out.update(await self.call("ISteamUser", "GetPlayerSummaries", 2,
                                       {"steamids": ",".join(str(s) for s in chunk)},
                                       parse.player_summaries))
        return out

    async def resolve_vanity_url(self, vanity: str) -> SteamID64:
        """A custom profile name (steamcommunity.com/id/<vanity>) -> SteamID64.

        Raises: NotFound ("No match", success 42). Upstream: ISteamUser/ResolveVanityURL/v1
        """
        r = await self.call("ISteamUser", "ResolveVanityURL", 1, {"vanityurl": vanity}, dict)
        if r.get("success") == 1 and str(r.get("steamid", "")).isdigit():
            return SteamID64(int(r["steamid"]))
        raise NotFound(f"no Steam profile has the custom URL {vanity!r}; use the SteamID64 or "
                       "the exact name after steamcommunity.com/id/", upstream=UPSTREAM)

    async def get_recently_played_games(
        self, steamid: SteamID64, *, count: int = 3
    ) -> tuple[RecentGame, ...]:
        """Games played in the last two weeks, most played first.

        Upstream: IPlayerService/GetRecentlyPlayedGames/v1
        """
        return await self.call("IPlayerService", "GetRecentlyPlayedGames", 1,
                            {"steamid": steamid, "count": count}, parse.recent_games)

    # ------------------------------------------------------------------ store (keyless)

    async def get_items(
        self, appids: Sequence[AppId], *, country: str, language: str = "english"
    ) -> dict[AppId, GameDetails]:
        """Name, type, categories and price of many apps, 100 per call, calls side by side.

        Args: appids: any number (split in batches of 100); country: ISO 3166-1 alpha-2.
        Returns: appid -> GameDetails (source "getitems"); unknown apps are absent.
        Raises: UpstreamError after retries (a failing batch fails the whole call).
        Upstream: IStoreBrowseService/GetItems/v1 with input_json (keyless)
        """
        unique = list(dict.fromkeys(appids))
        batches = [unique[i : i + GET_ITEMS_BATCH] for i in range(0, len(unique), GET_ITEMS_BATCH)]
        out: dict[AppId, GameDetails] = {}

        async def one(batch: list[AppId]) -> None:
            input_json = get_items_input(batch, country=country, language=language)
            out.update(await self.call("IStoreBrowseService", "GetItems", 1,
                                       {"input_json": input_json},
                                       functools.partial(parse.store_items, country=country),
                                       auth="none"))

        await side_by_side(*(functools.partial(one, b) for b in batches))
        return out
