"""Who is asking: sessions, roles, CSRF and the sign-in rate limit.

- A session is a random cookie (`fb_session`: HttpOnly, SameSite=Lax, Secure when the
  dashboard is served over https) naming a server-side row (store.sessions); only its hash is
  stored. Roles are decided at every request from the live config and member links, so
  unlinking someone or removing an admin takes effect at once.
- Admins are `[admins] discord_ids`; members are family members with a Discord link (config
  or /link). Anyone else who signs in is refused with a 403 page.
- Every POST carries the session's CSRF token in a form field `csrf`; a POST without it (or
  with another) is refused with 403 before anything happens.
- Sign-in attempts are rate limited per client address (a sliding window in trio time): the
  TCP peer, or the address a trusted reverse proxy (`[dashboard] trusted_proxies`) names in
  X-Forwarded-For; a header from anyone else is ignored.
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

import trio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

if TYPE_CHECKING:
    from familybot_trio.app import App
    from familybot_trio.config._dashboard import ProxyNet
    from familybot_trio.web._server import Dashboard

SESSION_COOKIE: Final = "fb_session"
#: A session lasts this long after sign-in (s); revoke ends it sooner.
SESSION_TTL_S: Final = 7 * 24 * 3600
#: Sign-in attempts (start, callback, one-time link) allowed per client per window.
SIGNIN_ATTEMPTS: Final = 10
SIGNIN_WINDOW_S: Final = 600.0


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user of a request.

    Attributes: discord_id; username (from Discord at sign-in); member_name (family name or
        None); is_admin; csrf_token; cookie (the session token, to end it on sign-out).
    """

    discord_id: int
    username: str
    member_name: str | None
    is_admin: bool
    csrf_token: str
    cookie: str = ""

    @property
    def allowed(self) -> bool:
        """True for family members and admins."""
        return self.is_admin or self.member_name is not None


async def role_of(app: App, discord_id: int) -> tuple[bool, str | None]:
    """(is admin, family member name or None) for a Discord user. Raises: StoreError."""
    member = await app.store.members.by_discord_id(discord_id)
    return discord_id in app.config.admin_ids, (member.name if member else None)


#: Headers a reverse proxy (nginx, Caddy, Traefik, Cloudflare, Akamai...) adds to say who
#: the real client is; any one of them on a loopback request means "not really local".
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip",
                 "x-client-ip", "cf-connecting-ip", "true-client-ip")


def is_loopback_peer(request: Request) -> bool:
    """True when the TCP peer is loopback and no proxy forwarded the request (none of
    PROXY_HEADERS is present)."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False  # a reverse proxy on this host: the real client is elsewhere
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_key(request: Request, trusted: Sequence[ProxyNet] = ()) -> str:
    """The client address the sign-in rate limit counts against.

    The TCP peer, unless the peer is one of `trusted` (`[dashboard] trusted_proxies`): then
    X-Forwarded-For is read from its right end (the hop the trusted proxy itself added),
    skipping further trusted proxies, and the first address that is not one is the client.
    Entries left of that are whatever the client sent and are ignored, so a spoofed header
    from an untrusted peer, or spoofed hops in front of a proxy's, change nothing.
    """
    peer = _unmapped(request.client.host) if request.client else "?"
    # Every X-Forwarded-For line, in order: a proxy that adds its own line (HAProxy's
    # `option forwardfor`) instead of appending puts the hop it vouches for in the last one.
    header = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [_unmapped(h.strip()) for h in header.split(",")]
    client = peer
    while _trusted(client, trusted) and hops and hops[-1]:
        hop = hops.pop()
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage from the client side: the last proxy-vouched address counts
        client = hop
    return client


def _unmapped(address: str) -> str:
    """`::ffff:10.0.0.2` (an IPv4 peer on a dual-stack `[::]` listener) as `10.0.0.2`."""
    try:
        mapped = ipaddress.ip_address(address).ipv4_mapped  # type: ignore[union-attr]
    except (ValueError, AttributeError):
        return address
    return str(mapped) if mapped is not None else address


def _trusted(address: str, trusted: Sequence[ProxyNet]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in trusted)


class SignInLimiter:
    """At most `attempts` sign-in attempts per client per `window_s` (trio time)."""

    def __init__(self, attempts: int = SIGNIN_ATTEMPTS, window_s: float = SIGNIN_WINDOW_S
                 ) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._seen: dict[str, collections.deque[float]] = {}

    def take(self, key: str) -> float | None:
        """Count one attempt. Returns: None if allowed, else seconds until the next one."""
        now = trio.current_time()
        seen = self._seen.setdefault(key, collections.deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        if len(seen) >= self.attempts:
            return seen[0] + self.window_s - now
        seen.append(now)
        if len(self._seen) > 10_000:  # bound memory under a flood of addresses
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window_s}
        return None


async def principal(dash: Dashboard, request: Request) -> Principal | None:
    """The session's user, or None without a valid session cookie. Raises: StoreError."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    app = dash.app
    # One read for the session and the member link (as role_of decides, from live data).
    found = await app.store.sessions.get_with_member(token, app.now())
    if found is None:
        return None
    session, name = found
    is_admin = session.discord_id in app.config.admin_ids
    return Principal(int(session.discord_id), session.username, name, is_admin,
                     session.csrf_token, token)


def set_session_cookie(dash: Dashboard, response: Response, token: str) -> None:
    """Attach the session cookie: HttpOnly, SameSite=Lax, Secure over https, path /."""
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, path="/", httponly=True,
                        samesite="lax", secure=dash.secure_cookies)


def csrf_ok(p: Principal, form_value: object) -> bool:
    """True when the form's `csrf` field is this session's token (constant-time compare)."""
    return isinstance(form_value, str) and hmac.compare_digest(form_value, p.csrf_token)


Handler = Callable[[Request, Principal], Awaitable[Response]]


def require(dash: Dashboard, *, admin: bool = False) -> Callable[[Handler], Callable[
        [Request], Awaitable[Response]]]:
    """Wrap a route: sign-in required (GET -> redirect to sign-in, others -> 401), family
    member or admin (else 403 page), admin when `admin` (else 403), CSRF on POST (else 403).
    """
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            p = await principal(dash, request)
            if p is None:
                if request.method == "GET":
                    target = quote(request.url.path + (f"?{request.url.query}"
                                                       if request.url.query else ""), safe="")
                    return RedirectResponse(f"/auth/login?next={target}", status_code=303)
                return await dash.message(None, "Sign in first", "This action needs a signed-in "
                                          "session. Open the dashboard and sign in.", 401)
            if not p.allowed:
                return await dash.refused(p.username, p.discord_id)
            if admin and not p.is_admin:
                return await dash.message(p, "Admins only", "This page and its actions are for "
                                          "the bot's admins ([admins] discord_ids in the "
                                          "config).", 403)
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(p, form.get("csrf")):
                    return await dash.message(p, "Request refused", "The form's security token "
                                              "is missing or out of date. Reload the page and "
                                              "try again.", 403)
            return await handler(request, p)
        route.__name__ = handler.__name__
        route.__doc__ = handler.__doc__
        return route
    return wrap
