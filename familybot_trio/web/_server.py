"""The dashboard server: hypercorn (trio worker) serving a starlette app in the bot's nursery.

    dashboard = await nursery.start(Dashboard(app).serve)   # bound; dashboard.url is live

Routes (the table `Dashboard.routes()` returns; tests walk it):
    /healthz, /metrics                      no session (metrics: loopback or Bearer token)
    /static/style.css, /auth/...            sign-in routes (no session needed)
    /, /wishlist, /deals, /free, /members, /play          family members and admins
    /ops, /ops/jobs, /ops/outbox (+ POST actions)         admins only

Nothing here blocks the loop: store reads go through the store's thread policy, templates
render in a worker thread, assets were read at start-up.
"""

from __future__ import annotations

import functools
import hmac
import logging
from typing import TYPE_CHECKING, Any, Final

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from familybot_trio.config._dashboard import CALLBACK_PATH
from familybot_trio.web import _family, _health, _metrics, _operator, _signin
from familybot_trio.web._auth import Principal, SignInLimiter, is_loopback_peer
from familybot_trio.web._library import LibraryModels
from familybot_trio.web._logring import LogRing
from familybot_trio.web._render import Assets, SecurityHeaders
from familybot_trio.web._steps import StepHistogram

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.web")

#: Longest a shutdown waits for open requests (s).
GRACEFUL_TIMEOUT_S: Final = 2.0
#: Paths that answer without a session (everything else needs one).
PUBLIC_PATHS: Final = ("/healthz", "/metrics", "/static/style.css", "/auth/")


class Dashboard:
    """The web dashboard of one running App.

    Args: app: the App (its store, scheduler, shard, config are read live).
    Attributes (once serving): url (base URL it is bound to), public_url (from config, or
        `url` when the port was 0), redirect_url (the OAuth2 callback URL), steps (loop histogram),
        commands (command counter), logs (recent warnings ring), limiter (sign-in limit),
        library (the library page's read model).
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.cfg = app.config.dashboard
        self.steps = StepHistogram()
        self.commands = _metrics.CommandCounter()
        self.logs = LogRing()
        self.limiter = SignInLimiter()
        self.library = LibraryModels(app)
        self.oauth: Any = None
        self.url = ""
        self.public_url = self.cfg.public_url
        self.redirect_url = self.cfg.redirect_url
        self.started_at = 0.0
        self.assets: Assets | None = None

    @property
    def secure_cookies(self) -> bool:
        """True when browsers reach the dashboard over https (cookies get Secure)."""
        return self.public_url.startswith("https://")

    async def serve(self, *, task_status: trio.TaskStatus[Dashboard] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        """Bind `[dashboard] listen` and serve until cancelled; `started(self)` once bound.

        Raises: OSError when the address cannot be bound (in use, not local).
        Cancellation: stops accepting, closes connections within GRACEFUL_TIMEOUT_S.
        """
        self.assets = await Assets.load()
        config = HypercornConfig()
        host = f"[{self.cfg.host}]" if ":" in self.cfg.host else self.cfg.host
        config.bind = [f"{host}:{self.cfg.port}"]
        config.accesslog = None  # request lines would carry one-time link tokens and codes
        config.errorlog = logging.getLogger("familybot_trio.web.server")
        config.graceful_timeout = GRACEFUL_TIMEOUT_S
        config.include_server_header = False
        asgi = SecurityHeaders(Starlette(routes=self.routes()))
        if self.app.registry is not None:
            self.commands.instrument(self.app.registry)
        self.logs.install()
        trio.lowlevel.add_instrument(self.steps)
        self.steps.attach()
        self.started_at = trio.current_time()
        try:
            async with trio.open_nursery() as nursery:
                urls = await nursery.start(functools.partial(serve, asgi, config))
                self.url = str(urls[0]).rstrip("/")
                if self.cfg.port == 0:  # tests and the demo: the real port is known now
                    default = self.public_url
                    self.public_url = self.url
                    if self.redirect_url == default + CALLBACK_PATH:
                        self.redirect_url = self.url + CALLBACK_PATH
                if self.cfg.oauth_enabled:
                    self.oauth = await _signin.open_oauth_client(self)
                log.info("dashboard listening [url:%s public_url:%s oauth:%s]", self.url,
                         self.public_url, self.oauth is not None)
                if everyone := self.cfg.proxies_trusting_everyone:
                    log.warning("[dashboard] trusted_proxies has %s: every peer is trusted as "
                                "a reverse proxy, so any client can set its own "
                                "X-Forwarded-For and dodge the sign-in rate limit; list only "
                                "the proxy's address (e.g. \"127.0.0.1\")", ", ".join(everyone))
                task_status.started(self)
        finally:
            self.steps.detach()
            try:
                trio.lowlevel.remove_instrument(self.steps)
            except KeyError:
                pass
            self.logs.uninstall()
            if self.oauth is not None:
                with trio.move_on_after(GRACEFUL_TIMEOUT_S) as scope:
                    scope.shield = True
                    await self.oauth.aclose()

    def routes(self) -> list[BaseRoute]:
        """Every route of the dashboard (the route-walk test reads this table)."""
        return [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/static/style.css", self.stylesheet, methods=["GET"]),
            *_signin.routes(self),
            *_family.routes(self),
            *_operator.routes(self),
        ]

    # ---- helpers the route modules share ---------------------------------------------------

    def nav(self, p: Principal | None) -> dict[str, Any]:
        """Context every page template gets: who is signed in and the nav links."""
        return {"user": p, "family_id": self.app.config.family_group_id}

    async def message(self, p: Principal | None, title: str, text: str, status: int
                      ) -> Response:
        """A plain page with a title and a sentence (errors, refusals)."""
        assert self.assets is not None
        return await self.assets.page("message.html", {**self.nav(p), "title": title,
                                                       "text": text}, status=status)

    async def refused(self, username: str, discord_id: int) -> Response:
        """The 403 page for a Discord user who is neither a family member nor an admin."""
        return await self.message(
            None, "Not a family member",
            f"You are signed in to Discord as {username} (id {discord_id}), who is not a member "
            "of this Steam family's bot. Only family members whose Discord account is linked "
            "(in the bot's config, or with /link in Discord) and the bot's admins may sign in. "
            "Ask an admin to add you, or run /link with your Steam profile, then sign in again.",
            403)

    async def signin_link(self, discord_id: int) -> str:
        """A one-time sign-in URL for `discord_id` (10 minutes, works once). Raises: StoreError."""
        token = await self.app.store.sessions.create_link(discord_id, self.app.now(),
                                                          ttl_s=_signin.LINK_TTL_S)
        return f"{self.public_url}/auth/link/{token}"

    # ---- public routes ---------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        """200 {"status": "ok", ...} or 503 with the reasons; no sign-in, nothing private."""
        verdict = _health.check(self.app, trio.current_time(), self.started_at)
        return JSONResponse(verdict.body, status_code=200 if verdict.ok else 503)

    async def metrics(self, request: Request) -> Response:
        """Prometheus text; from loopback freely unless a metrics_token is set, else Bearer."""
        token = self.cfg.metrics_token
        auth = request.headers.get("authorization", "")
        if token:
            given = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return Response("a metrics token is required: send `Authorization: Bearer "
                                "<[dashboard] metrics_token>`\n", 401,
                                headers={"www-authenticate": "Bearer"}, media_type="text/plain")
        elif not is_loopback_peer(request):
            return Response("/metrics answers only on loopback; set [dashboard] metrics_token "
                            "and send it as a Bearer token to scrape from elsewhere\n", 401,
                            headers={"www-authenticate": "Bearer"}, media_type="text/plain")
        snap = await _metrics.take_snapshot(self.app, self.steps, self.commands)
        return Response(_metrics.render(snap), 200, media_type=_metrics.CONTENT_TYPE)

    async def stylesheet(self, request: Request) -> Response:
        """The dashboard's only stylesheet (shipped in the package)."""
        assert self.assets is not None
        return Response(self.assets.css, 200, media_type="text/css",
                        headers={"cache-control": "max-age=3600"})
