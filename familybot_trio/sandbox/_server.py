"""The Sandbox object: one hypercorn server on 127.0.0.1 (port 0) serving every fake upstream.

Layout of the one server (see `Sandbox.urls`):
  /<Interface>/<Method>/v<N>/         Steam Web API (the `steam` package's apihost)
  /store/api/appdetails               Steam storefront
  /itad/...                           IsThereAnyDeal
  /epic/freeGamesPromotions           Epic free games
  /reddit/r/FreeGameFindings/new/...  r/FreeGameFindings
  /steam-auth/pointssummary/ajaxgetasyncconfig   the user's Web API token

Every request goes: count -> latency -> injected fault -> rate limit -> handler. Counter
names are "<upstream>.<endpoint>", e.g. "storefront.appdetails", "steam_webapi.GetWishlist",
"itad.prices", "epic.freeGamesPromotions", "reddit.new_rss", "steam_auth.ajaxgetasyncconfig".

This module assembles: the route modules export plain handlers `(sb, req) -> Response`
typed against `_context.SandboxContext`, which `Sandbox` meets; none imports this module.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from familybot_trio import blocking
from familybot_trio.sandbox import (_auth, _data, _feeds, _free_offers, _itad, _mutations,
                                    _steam, _store)
from familybot_trio.sandbox import _family as F
from familybot_trio.sandbox._context import FeedBodies
from familybot_trio.sandbox._knobs import (DEFAULT_RATE_LIMITS, Fault, FaultRule, Lie,
                                           RateLimit, fault_response, rate_limited_response)

log = logging.getLogger("familybot_trio.sandbox")
ACCESS_TOKEN_TTL_S = 24 * 3600   # Steam access tokens live ~24 h (steam-auth.md 1.3)
BIG_BODY_ITEMS = 200             # serialise bodies with more items than this in a thread
_VERSION = re.compile(r"/v0*(\d+)$")

_GROUPS: dict[str, tuple[str, dict[str, tuple[str, Any]]]] = {  # url prefix -> (upstream, routes)
    "/store": ("storefront", {"/api/appdetails": ("appdetails", _store.appdetails)}),
    "/itad": ("itad", _itad.ROUTES),
    "/epic": ("epic", _feeds.EPIC_ROUTES),
    "/reddit": ("reddit", _feeds.REDDIT_ROUTES),
    "/steam-auth": ("steam_auth", {"/pointssummary/ajaxgetasyncconfig":
                                   ("ajaxgetasyncconfig", _store.ajaxgetasyncconfig),
                                   **_auth.LOGIN_ROUTES}),
    "/IAuthenticationService": ("steam_auth", _auth.API_ROUTES),  # sign-in (sandbox/_auth.py)
}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Sandbox:
    """Fake Steam Web API, storefront, ITAD, Epic and Reddit upstreams on one local port.

    Args: latency_ms: added to every request (trio.sleep, so the autojump clock skips it);
        seed: same seed -> same family; now_s: Unix seconds used as "now" for feeds and
        tokens (default: wall clock at serve time, then advancing with it);
        api_key / bad_api_key / itad_key: what the fakes accept or reject;
        rate_limits: False to switch off the upstream rate limits.
    Nothing is read or bound until `serve()`; `family` and `urls` exist after it started.

    Attributes: urls (upstream name -> base URL), apihost ("127.0.0.1:PORT" for `steam`),
    family (SandboxFamily, mutable), access_token (valid user token, member 1),
    counts (Counter of "<upstream>.<endpoint>"), rate_limits (upstream -> RateLimit),
    latency_ms / endpoint_latency_ms (endpoint prefix -> extra ms), feeds (FeedBodies).
    Knobs: fail_next, clear_faults, lie_next (shrunken answers, not changes), set_rate_limit, reset_counts, total_requests,
    expire_access_token, issue_access_token, rebase_feeds. Mutations (each logged in
    `change_log`, a list of _mutations.Change): add_library_app, add_catalog_app,
    set_exclude_reason, remove_library_app, set_price, start_sale, end_sale,
    set_historical_low, set_other_shop_low,
    clear_wishlist, add_to_wishlist, remove_from_wishlist (see _mutations.py); free offers
    coming and going (`free_offers`, see _free_offers.py): start_free_epic, end_free_epic,
    post_free_reddit, expire_free_reddit.
    """

    def __init__(self, *, latency_ms: float = 0, seed: int = 1, now_s: float | None = None,
                 api_key: str = "sandbox-webapi-key", bad_api_key: str = "sandbox-bad-key",
                 itad_key: str = "sandbox-itad-key", rate_limits: bool = True) -> None:
        self.latency_ms = latency_ms
        self.endpoint_latency_ms: dict[str, float] = {}  # endpoint prefix -> extra ms
        self.seed = seed
        self.api_key, self.bad_api_key, self.itad_key = api_key, bad_api_key, itad_key
        self.counts: collections.Counter[str] = collections.Counter()
        self.rate_limits: dict[str, RateLimit] = (
            {k: RateLimit.of(*v) for k, v in DEFAULT_RATE_LIMITS.items()} if rate_limits else {})
        self.urls: dict[str, str] = {}
        self.feeds = FeedBodies()
        self.store = _store.Storefront(self)
        self._time_offset_s = 0.0 if now_s is None else now_s - time.time()
        self._faults: list[FaultRule] = []
        self.lies: list[Lie] = []  # lie_next's rules, served ones kept (their counts)
        self._family: F.SandboxFamily | None = None
        self.static: _data.StaticData
        self._tokens: dict[str, float] = {}  # access token -> exp (Unix s); revoked are removed
        self.access_token = ""
        self._shutdown = trio.Event()
        self.change_log: list[_mutations.Change] = []  # what the mutations changed, in order
        self.free_offers = _free_offers.LiveOffers()  # added to the recorded Epic/Reddit feeds

    # ---------------------------------------------------------------- lifecycle

    @property
    def family(self) -> F.SandboxFamily:
        """The sample family (members, library, wishlists, prices). Raises before serve()."""
        if self._family is None:
            raise RuntimeError("the sandbox family is built by serve(); start it with "
                               "`await nursery.start(sandbox.serve)` first")
        return self._family

    def now_s(self) -> float:
        """The sandbox's "now" in Unix seconds (wall clock + the now_s offset)."""
        return time.time() + self._time_offset_s

    async def serve(self, *, task_status: trio.TaskStatus[Sandbox] = trio.TASK_STATUS_IGNORED) -> None:
        """Load data, listen on 127.0.0.1:0, report `self` to nursery.start, serve until
        cancelled or `close()`.

        Cancellation: cancelling stops the server; hanging requests are dropped.
        """
        self.static = await blocking.run_sync("files", _data.load_static)
        now = int(self.now_s())
        self._family = await blocking.run_sync(
            "files", F.build_family, self.seed, now, self.static.appdetails)
        await self.rebase_feeds()
        self.access_token = self.issue_access_token()
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.accesslog = None
        config.errorlog = None  # "Running on ..." at INFO would interleave with the demo
        config.graceful_timeout = 0.5
        app = Starlette(routes=[Route("/{path:path}", self._dispatch,
                                      methods=["GET", "POST", "HEAD"])])
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(lambda task_status: hypercorn_serve(
                app, config, shutdown_trigger=self._shutdown.wait, task_status=task_status))
            root = bound[0].rstrip("/")
            self.urls = {"steam_webapi": root, "storefront": f"{root}/store",
                         "itad": f"{root}/itad", "epic": f"{root}/epic",
                         "reddit": f"{root}/reddit", "steam_auth": f"{root}/steam-auth"}
            log.info("sandbox listening [url:%s family_groupid:%s]", root,
                     self.family.family_groupid)
            task_status.started(self)

    def close(self) -> None:
        """Ask the server to shut down gracefully; `serve()` then returns."""
        self._shutdown.set()

    @property
    def apihost(self) -> str:
        """"127.0.0.1:PORT", for `steam.webapi.get(..., apihost=..., https=False)`."""
        return self.urls["steam_webapi"].removeprefix("http://")

    async def rebase_feeds(self, now_s: float | None = None) -> None:
        """Re-date the Epic and Reddit bodies so `now_s` (default: now) is the capture time."""
        now = self.now_s() if now_s is None else now_s

        def build() -> tuple[bytes, bytes, bytes]:
            rss = _data.rebase_reddit(self.static, now)
            return (json.dumps(_data.rebase_epic(self.static, now)).encode(), rss.encode(),
                    json.dumps(_data.reddit_listing(rss)).encode())

        self.feeds.epic_json, self.feeds.reddit_rss, self.feeds.reddit_json = (
            await blocking.run_sync("files", build))

    # ---------------------------------------------------------------- responses

    def json(self, obj: Any, status: int = 200) -> Response:
        """A compact JSON response (small bodies, serialised on the loop)."""
        return Response(json.dumps(obj, separators=(",", ":")).encode(), status,
                        media_type="application/json; charset=utf-8")

    async def json_big(self, build: Callable[[], Any]) -> Response:
        """A JSON response built and serialised in a worker thread (library-sized bodies).

        Args: build: sync, returns the object to serialise (it reads the sandbox state; the
            loop does not mutate it while a request is being answered).
        """
        body = await blocking.run_sync(
            "cpu", lambda: json.dumps(build(), separators=(",", ":")))
        return Response(body.encode(), 200, media_type="application/json; charset=utf-8")

    def html_error(self, status: int) -> Response:
        """Steam Web API's HTML error page for 400/401/403 (recorded bodies)."""
        name = {400: "steam_webapi_400_bad_request.html", 401: "steam_webapi_401_unauthorized.html",
                403: "steam_webapi_403_invalid_key.html"}[status]
        return Response(self.static.errors[name], status, media_type="text/html")

    # ---------------------------------------------------------------- auth

    def issue_access_token(self, steamid: int | None = None) -> str:
        """Mint a valid fake user access token (JWT shape, unsigned) and make it current.

        Claims as steam-auth.md 1.2: iss "r:<jti>", sub SteamID64 (default member 1),
        aud ["web:store"], exp = now + 24 h, nbf/iat, jti, per 0.
        """
        now = int(self.now_s())
        sub = steamid or self.family.members[0].steamid
        jti = secrets.token_hex(8).upper()
        claims = {"iss": f"r:{secrets.token_hex(8).upper()}", "sub": str(sub), "aud": ["web:store"],
                  "exp": now + ACCESS_TOKEN_TTL_S, "nbf": now - 60, "iat": now, "jti": jti,
                  "oat": now, "rt_exp": now + 200 * 86400, "per": 0,
                  "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1"}
        token = ".".join((_b64url(b'{"typ":"JWT","alg":"EdDSA"}'),
                          _b64url(json.dumps(claims).encode()), _b64url(secrets.token_bytes(64))))
        self._tokens[token] = claims["exp"]
        self.access_token = token
        return token

    def expire_access_token(self, token: str | None = None) -> None:
        """Make `token` (default: the current one) answer 401 from now on."""
        self._tokens.pop(token or self.access_token, None)

    def renew_access_token_if_expired(self) -> str:
        """The current token if still valid, else a freshly issued one."""
        if self._token_steamid(self.access_token) is None:
            return self.issue_access_token()
        return self.access_token

    def _token_steamid(self, token: str) -> int | None:
        exp = self._tokens.get(token)
        if exp is None or exp <= self.now_s():
            return None
        payload = token.split(".")[1]
        return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])

    def check_access_token(self, req: Request) -> int | Response:
        """SteamID64 of a valid `access_token` param, else the 401 HTML page."""
        sid = self._token_steamid(req.query_params.get("access_token", ""))
        return self.html_error(401) if sid is None else sid

    def check_key_or_token(self, req: Request) -> Response | None:
        """None if a valid access_token or an accepted key came; else 401/403 HTML."""
        token = req.query_params.get("access_token")
        if token:
            return None if self._token_steamid(token) is not None else self.html_error(401)
        key = req.query_params.get("key", "")
        if not key:
            return self.html_error(401)
        return self.html_error(403) if key == self.bad_api_key else None

    # ---------------------------------------------------------------- dispatch

    async def _dispatch(self, req: Request) -> Response:
        path = "/" + req.path_params.get("path", "").rstrip("/")
        if req.url.path.endswith("/.rss") or req.url.path.endswith("/.json"):
            path = req.url.path  # reddit's "new/.rss" keeps its slash
        upstream, routes = "steam_webapi", _steam.ROUTES
        for prefix, (name, table) in _GROUPS.items():
            if path.startswith(prefix + "/"):
                upstream, routes, path = name, table, path[len(prefix):]
                break
        if upstream == "steam_webapi":
            path = _VERSION.sub(lambda m: f"/v{m.group(1)}", path)
        route = routes.get(path)
        if route is None:
            return Response(b"<html><head><title>404 Not Found</title></head><body>"
                            b"<h1>Not Found</h1></body></html>", 404, media_type="text/html")
        endpoint = f"{upstream}.{route[0]}"
        self.counts[endpoint] += 1
        delay_ms = self.latency_ms + sum(ms for p, ms in self.endpoint_latency_ms.items()
                                         if endpoint.startswith(p))
        if delay_ms > 0:
            await trio.sleep(delay_ms / 1000)
        rule = next((r for r in self._faults if r.remaining > 0
                     and endpoint.startswith(r.endpoint)), None)
        if rule is not None:
            rule.remaining -= 1
            log.debug("injecting fault [endpoint:%s fault:%s left:%d]", endpoint, rule.fault,
                      rule.remaining)
            response = fault_response(rule, self.static.errors)
            if response is None:
                await trio.sleep_forever()
            return response
        limit = self.rate_limits.get(upstream)
        if limit is not None and (wait_s := limit.try_acquire()) is not None:
            return rate_limited_response(upstream, wait_s)
        response = await route[1](self, req)
        if upstream == "steam_webapi" and response.status_code == 200 \
                and "x-eresult" not in response.headers:
            response.headers["x-eresult"] = "1"  # Steam sends the outcome on every answer
        return response

    # ---------------------------------------------------------------- knobs

    def fail_next(self, endpoint: str, fault: Fault | str, n: int = 1, *,
                  retry_after_s: int = 5) -> FaultRule:
        """Answer the next `n` requests to endpoints starting with `endpoint` with `fault`.

        Args: endpoint: counter-name prefix ("storefront", "itad.prices", "steam_webapi.Get");
            fault: a Fault (or its value, e.g. "429_retry_after", "hang", "503").
        Returns: the rule (`remaining` falls to 0 as it fires).
        """
        rule = FaultRule(endpoint, Fault(fault), n, retry_after_s)
        self._faults.append(rule)
        return rule

    def lie_next(self, endpoint: str, *, keep: float, steamid: int | None = None,
                 n: int | None = None, until_s: float | None = None) -> Lie:
        """Shrink the list answers of `endpoint` to their first `keep` fraction (a suspicious
        answer: a wishlist of 80 that comes back with 12, a library halved), for the next `n`
        answers and/or until sandbox time `until_s`. Not a change: nothing is logged in
        `change_log` and the family stays as it is.

        Args: endpoint: "GetWishlist" (steamid: only that member's) or
            "GetSharedLibraryApps"; keep: 0..1. Returns: the rule (its `served` counts).
        Raises: ValueError for another endpoint, a keep outside 0..1, or neither n nor until_s.
        """
        if endpoint not in ("GetWishlist", "GetSharedLibraryApps"):
            raise ValueError(f"lie_next shrinks GetWishlist or GetSharedLibraryApps, not "
                             f"{endpoint!r}")
        if not 0 <= keep <= 1:
            raise ValueError(f"keep is the fraction of the answer kept (0..1), got {keep}")
        if n is None and until_s is None:
            raise ValueError("give n (answers) or until_s (sandbox Unix seconds), or both")
        rule = Lie(endpoint, keep, steamid, n, until_s)
        self.lies.append(rule)
        return rule

    def told(self, endpoint: str, steamid: int | None, items: list, via: str) -> list:
        """`items`, shrunk if a lie_next rule applies to this answer (handlers call it)."""
        now = self.now_s()
        rule = next((r for r in self.lies if r.applies(endpoint, steamid, now)), None)
        return items if rule is None else rule.tell(items, via)

    def clear_faults(self) -> None:
        """Drop every pending fault rule."""
        self._faults.clear()

    def set_rate_limit(self, upstream: str, limit: int | None, window_s: float = 300.0) -> None:
        """Replace (or with limit=None remove) the rate limit of "storefront", "itad", ..."""
        if limit is None:
            self.rate_limits.pop(upstream, None)
        else:
            self.rate_limits[upstream] = RateLimit.of(limit, window_s)

    def total_requests(self) -> int:
        """Requests received on every endpoint since the last reset_counts()."""
        return sum(self.counts.values())

    def reset_counts(self) -> None:
        """Zero every per-endpoint counter."""
        self.counts.clear()

    # mutations live in _mutations.py to keep this module short
    add_library_app = _mutations.add_library_app
    add_catalog_app = _mutations.add_catalog_app
    remove_library_app = _mutations.remove_library_app
    set_exclude_reason = _mutations.set_exclude_reason
    set_price = _mutations.set_price
    start_sale = _mutations.start_sale
    end_sale = _mutations.end_sale
    set_historical_low = _mutations.set_historical_low
    set_other_shop_low = _mutations.set_other_shop_low
    clear_wishlist = _mutations.clear_wishlist
    add_to_wishlist = _mutations.add_to_wishlist
    remove_from_wishlist = _mutations.remove_from_wishlist
    start_free_epic = _free_offers.start_free_epic
    end_free_epic = _free_offers.end_free_epic
    post_free_reddit = _free_offers.post_free_reddit
    expire_free_reddit = _free_offers.expire_free_reddit
