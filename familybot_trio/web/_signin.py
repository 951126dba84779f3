"""Sign-in routes: Discord OAuth2 (authorization code + state + PKCE) and one-time links.

OAuth2 (Upstream: Discord Topics > OAuth2, Authorization Code Grant; RFC 7636 PKCE):
    GET /auth/discord    new `state` and PKCE verifier (kept in memory for STATE_TTL_S and
                         bound to this browser by a cookie), redirect to Discord's
                         /oauth2/authorize with scope `identify`
    GET /auth/callback   state checked (once) against memory and the cookie, the code
                         exchanged at /oauth2/token with the PKCE verifier (HTTP Basic
                         client auth, secret from FAMILYBOT_DISCORD_CLIENT_SECRET), the user read from
                         /users/@me; members and admins get a session, others a 403 page.
The Discord access token is used for that one call and then forgotten.

One-time links (`/admin_dashboard`): GET /auth/link/<token> shows a button and changes
nothing (Discord's link preview fetches URLs posted in DMs); its POST uses up the link and
starts a session. The POST carries a CSRF token bound to a cookie set by the GET.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode, urlsplit

import httpx
import trio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from familybot_trio import blocking
from familybot_trio.upstream import _stats
from familybot_trio.web._auth import (
    SESSION_COOKIE,
    SESSION_TTL_S,
    client_key,
    principal,
    role_of,
    set_session_cookie,
)
from gateway.tls import tls_context

if TYPE_CHECKING:
    from familybot_trio.web._server import Dashboard

log = logging.getLogger("familybot_trio.web.signin")

#: A one-time link works this long (s), once.
LINK_TTL_S: Final = 600.0
#: An OAuth2 sign-in must come back from Discord within this long (s).
STATE_TTL_S: Final = 600.0
MAX_PENDING_STATES: Final = 1000
STATE_COOKIE: Final = "fb_oauth"
PRESIGN_COOKIE: Final = "fb_presign"
SCOPE: Final = "identify"
#: Name under which the sign-in requests are counted (operator page, /metrics).
OAUTH_UPSTREAM: Final = "discord_oauth"


async def open_oauth_client(dash: Dashboard) -> httpx.AsyncClient:
    """The httpx client for Discord's token and user endpoints (built in a thread: it loads
    CA certificates). authlib's httpx integration is deprecated in favour of httpx2, which
    this project does not use, so the two requests of the flow are made here directly."""
    return await blocking.run_sync("files", lambda: httpx.AsyncClient(timeout=20.0, verify=tls_context()))


def _challenge(verifier: str) -> str:
    """PKCE S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(dash: Dashboard, state: str, verifier: str) -> str:
    """Discord's consent URL for scope identify with state and the PKCE challenge."""
    return _endpoints(dash)[0] + "?" + urlencode({
        "client_id": str(dash.cfg.client_id), "response_type": "code",
        "redirect_uri": dash.redirect_url, "scope": SCOPE, "state": state,
        "code_challenge": _challenge(verifier), "code_challenge_method": "S256"})


async def identify(dash: Dashboard, code: str, verifier: str) -> tuple[int, str]:
    """Exchange the code for an access token and read the user it belongs to.

    Returns: (Discord user id, display name). The access token is dropped afterwards.
    Raises: httpx.HTTPError (transport or a non-2xx status), KeyError/ValueError/TypeError
        for an answer without the documented fields.
    Upstream: POST /oauth2/token (grant_type=authorization_code, client_secret_basic);
        GET /users/@me (Bearer).
    """
    _, token_url, me_url = _endpoints(dash)
    client = dash.oauth
    t0 = trio.current_time()
    try:
        resp = await client.post(token_url, auth=(str(dash.cfg.client_id),
                                                  dash.cfg.client_secret), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": dash.redirect_url,
            "code_verifier": verifier})
        resp.raise_for_status()
        access = resp.json()["access_token"]
        if not isinstance(access, str) or resp.json().get("token_type", "").lower() != "bearer":
            raise ValueError("the token answer holds no Bearer access token")
        me = await client.get(me_url, headers={"authorization": f"Bearer {access}"})
        me.raise_for_status()
        user = me.json()
        result = int(user["id"]), str(user.get("global_name") or user["username"])
    except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
        _stats.record(OAUTH_UPSTREAM, "error", trio.current_time() - t0, type(exc).__name__)
        raise
    _stats.record(OAUTH_UPSTREAM, "ok", trio.current_time() - t0)
    return result


def _endpoints(dash: Dashboard) -> tuple[str, str, str]:
    """(authorize, token, users/@me) URLs from the configured Discord REST base URL."""
    api = dash.app.config.upstreams["discord_rest"]
    parts = urlsplit(api)
    return (f"{parts.scheme}://{parts.netloc}/oauth2/authorize", f"{api}/oauth2/token",
            f"{api}/users/@me")


def _safe_next(value: str | None) -> str:
    """Only a local path is a valid place to return to after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def _limited(dash: Dashboard, request: Request) -> Response | None:
    wait = dash.limiter.take(client_key(request, dash.cfg.trusted_proxies))
    if wait is None:
        return None
    response = await dash.message(None, "Too many sign-in attempts", f"Wait {wait:.0f} seconds "
                                  "and try again.", 429)
    response.headers["retry-after"] = str(max(1, int(wait)))
    return response


def routes(dash: Dashboard) -> list[BaseRoute]:
    """The sign-in routes (no session needed)."""
    pending: dict[str, tuple[str, str, str, float]] = {}  # state -> (verifier, next, bind, t)

    async def login(request: Request) -> Response:
        """The sign-in page: a Discord button (when OAuth2 is configured) and how else."""
        if await principal(dash, request) is not None:
            return RedirectResponse(_safe_next(request.query_params.get("next")), 303)
        assert dash.assets is not None
        return await dash.assets.page("signin.html", {
            **dash.nav(None), "oauth": dash.oauth is not None,
            "next": _safe_next(request.query_params.get("next"))})

    async def start_discord(request: Request) -> Response:
        if dash.oauth is None:
            return await dash.message(None, "Discord sign-in is off", "Set [dashboard] client_id "
                                      "and FAMILYBOT_DISCORD_CLIENT_SECRET, or ask the bot for "
                                      "a one-time link with /admin_dashboard.", 404)
        if (refused := await _limited(dash, request)) is not None:
            return refused
        now = trio.current_time()
        for key in [k for k, v in pending.items() if v[3] < now - STATE_TTL_S]:
            del pending[key]
        if len(pending) >= MAX_PENDING_STATES:
            pending.pop(next(iter(pending)))
        state, verifier, bind = (secrets.token_urlsafe(32) for _ in range(3))
        pending[state] = (verifier, _safe_next(request.query_params.get("next")), _hash(bind),
                          now)
        response = RedirectResponse(authorization_url(dash, state, verifier), 303)
        response.set_cookie(STATE_COOKIE, bind, max_age=int(STATE_TTL_S), path="/auth/",
                            httponly=True, samesite="lax", secure=dash.secure_cookies)
        return response

    async def callback(request: Request) -> Response:
        if (refused := await _limited(dash, request)) is not None:
            return refused
        q = request.query_params
        found = pending.pop(q.get("state", ""), None)
        bind = request.cookies.get(STATE_COOKIE, "")
        if found is None or found[3] < trio.current_time() - STATE_TTL_S or \
                not hmac.compare_digest(found[2], _hash(bind)):
            return await dash.message(None, "Sign-in expired", "This sign-in did not start "
                                      "here or took too long. Start again from the sign-in "
                                      "page.", 400)
        if "error" in q or dash.oauth is None:
            return await dash.message(None, "Sign-in cancelled", "Discord did not authorize "
                                      "the sign-in. Start again from the sign-in page.", 400)
        verifier, target, _, _ = found
        try:
            discord_id, username = await identify(dash, q.get("code", ""), verifier)
        except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
            # The error's class only: its text may quote the request (code, verifier).
            log.warning("discord sign-in failed [cause:%s]", type(exc).__name__)
            return await dash.message(None, "Sign-in failed", "Discord did not confirm who you "
                                      "are. Try again in a minute.", 502)
        response = await _start_session(dash, discord_id, username, target)
        response.delete_cookie(STATE_COOKIE, path="/auth/")
        return response

    async def link_page(request: Request) -> Response:
        """GET: a confirmation button; the link is used only by the POST."""
        assert dash.assets is not None
        presign = request.cookies.get(PRESIGN_COOKIE) or secrets.token_urlsafe(32)
        response = await dash.assets.page("signin.html", {
            **dash.nav(None), "oauth": False, "next": "/", "link": True,
            "csrf": presign, "token": request.path_params["token"]})
        response.set_cookie(PRESIGN_COOKIE, presign, max_age=int(LINK_TTL_S), path="/auth/",
                            httponly=True, samesite="strict", secure=dash.secure_cookies)
        return response

    async def use_link(request: Request) -> Response:
        if (refused := await _limited(dash, request)) is not None:
            return refused
        form = await request.form()
        presign = request.cookies.get(PRESIGN_COOKIE, "")
        given = form.get("csrf")
        if not presign or not isinstance(given, str) or not hmac.compare_digest(given, presign):
            return await dash.message(None, "Request refused", "The form's security token is "
                                      "missing. Open the link again and press the button.", 403)
        app = dash.app
        discord_id = await app.store.sessions.consume_link(request.path_params["token"],
                                                           app.now())
        if discord_id is None:
            return await dash.message(None, "Link used or expired", "A sign-in link works once "
                                      "and for 10 minutes. Ask the bot for a new one with "
                                      "/admin_dashboard in a DM.", 403)
        response = await _start_session(dash, int(discord_id), f"user {discord_id}", "/")
        response.delete_cookie(PRESIGN_COOKIE, path="/auth/")
        return response

    async def logout(request: Request) -> Response:
        p = await principal(dash, request)
        if p is not None:
            form = await request.form()
            given = form.get("csrf")
            if not isinstance(given, str) or not hmac.compare_digest(given, p.csrf_token):
                return await dash.message(p, "Request refused", "The form's security token is "
                                          "missing or out of date. Reload and try again.", 403)
            await dash.app.store.sessions.end(p.cookie)
        response = RedirectResponse("/auth/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [
        Route("/auth/login", login, methods=["GET"]),
        Route("/auth/discord", start_discord, methods=["GET"]),
        Route("/auth/callback", callback, methods=["GET"]),
        Route("/auth/link/{token}", link_page, methods=["GET"]),
        Route("/auth/link/{token}", use_link, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
    ]


async def _start_session(dash: Dashboard, discord_id: int, username: str, target: str
                         ) -> Response:
    """Members and admins get a session cookie and go to `target`; others the 403 page."""
    app = dash.app
    is_admin, member_name = await role_of(app, discord_id)
    if not is_admin and member_name is None:
        log.info("dashboard sign-in refused, not a member [discord_id:%d]", discord_id)
        return await dash.refused(username, discord_id)
    if username.startswith("user ") and member_name:
        username = member_name
    token, _ = await app.store.sessions.create(discord_id, username, app.now(),
                                               ttl_s=SESSION_TTL_S)
    log.info("dashboard sign-in [discord_id:%d admin:%s]", discord_id, is_admin)
    response = RedirectResponse(target, 303)
    set_session_cookie(dash, response, token)
    return response
