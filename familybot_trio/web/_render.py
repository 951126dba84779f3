"""Templates, the stylesheet and the security headers every dashboard response carries.

Templates and CSS ship inside the package (familybot_trio/web/templates, static). They are
read and compiled once, in a worker thread, when the dashboard starts (`load`), and Jinja's
auto-reload is off, so a request never touches the disk. Pages are rendered in a worker
thread under the dashboard's own limiter ("dashboard", never shared with the bot's "cpu"
work, so a page never queues behind a job's big JSON): a page of hundreds of rows is CPU
work. `page_of` builds the context and renders it in the same thread hop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from collections.abc import Callable
from typing import Any, Final

import jinja2
from starlette.responses import HTMLResponse

from familybot_trio import blocking

TEMPLATES: Final = ("base.html", "signin.html", "message.html", "library.html",
                    "wishlist.html", "deals.html", "free.html", "members.html", "play.html",
                    "ops.html", "jobs.html", "outbox.html")

#: No script at all, styles only from the dashboard itself, no framing, no referrer.
CSP: Final = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
              "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)


@dataclass(frozen=True, slots=True)
class Assets:
    """Compiled templates and the stylesheet bytes. Build with `await Assets.load()`."""

    env: jinja2.Environment
    css: bytes

    @classmethod
    async def load(cls) -> Assets:
        """Read and compile every template and read the CSS (in a worker thread)."""
        return await blocking.run_sync("files", cls._load_sync)

    @classmethod
    def _load_sync(cls) -> Assets:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("familybot_trio.web", "templates"),
            autoescape=True, auto_reload=False, trim_blocks=True, lstrip_blocks=True,
            undefined=jinja2.StrictUndefined)
        for name in TEMPLATES:
            env.get_template(name)
        css = resources.files("familybot_trio.web").joinpath("static/style.css").read_bytes()
        return cls(env, css)

    async def page(self, name: str, context: dict[str, Any], *, status: int = 200
                   ) -> HTMLResponse:
        """Render template `name` with `context` off the loop. Returns: an HTMLResponse."""
        template = self.env.get_template(name)  # cached: no disk access
        html = await blocking.run_sync("dashboard", template.render, context)
        return HTMLResponse(html, status_code=status)

    async def page_of(self, name: str, base: dict[str, Any], build: Callable[..., dict[str, Any]],
                      *args: object) -> HTMLResponse:
        """Render `name` with `{**base, **build(*args)}`, both in one worker thread hop.

        Args: build: sync, CPU only (no I/O): the page's own context. Returns: HTMLResponse.
        """
        template = self.env.get_template(name)
        html = await blocking.run_sync(
            "dashboard", lambda: template.render({**base, **build(*args)}))
        return HTMLResponse(html)


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP response (errors included),
    and `Server-Timing: app;dur=<ms>`: the time from the request to the response's start
    (what bench S8 reads; the W3C Server Timing header, no detail beyond one number)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                dur = f"app;dur={(time.perf_counter() - t0) * 1000:.2f}".encode()
                message = {**message, "headers": [*message.get("headers", []), *extra,
                                                  (b"server-timing", dur)]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
