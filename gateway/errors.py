"""The gateway package's exception tree (Discord only; nothing of Steam).

    GatewayError
    ├── FatalCloseError        Discord closed with a code we must not reconnect on
    │                          (4004, 4010-4014); carries close_code and a fix
    ├── SessionStartLimitError no identifies left today (session_start_limit.remaining == 0)
    └── HTTPError              a REST call failed; carries status, code (Discord's JSON
        │                      error code), message, method, route
        ├── RateLimited        429 we chose not to wait out (carries retry_after_s, scope)
        ├── CloudflareBanned   an HTML 429 from Cloudflare: stop calling for a long while
        ├── Forbidden          403
        ├── NotFound           404
        └── ServerError        5xx after retries
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error the gateway package raises on purpose."""


class FatalCloseError(GatewayError):
    """The gateway closed with a code that forbids reconnecting.

    Attributes: close_code (int), reason (Discord's close reason text), fix (what to do).
    """

    def __init__(self, close_code: int, reason: str, fix: str) -> None:
        self.close_code, self.reason, self.fix = close_code, reason, fix
        super().__init__(f"{close_code} {reason}: {fix}")


class SessionStartLimitError(GatewayError):
    """No session starts (identifies) remain; carries reset_after_s."""

    def __init__(self, reset_after_s: float) -> None:
        self.reset_after_s = reset_after_s
        super().__init__(
            f"Discord allows no more gateway identifies until the limit resets in "
            f"{reset_after_s / 3600:.1f} h; the bot reconnected too often (check for a crash loop)"
        )


class HTTPError(GatewayError):
    """A Discord REST call failed.

    Attributes: status (HTTP status), code (Discord JSON error code or 0), message
    (Discord's message, at most 200 chars of body otherwise), method, route (template,
    never with a token).
    """

    def __init__(self, status: int, code: int, message: str, *, method: str, route: str) -> None:
        self.status, self.code, self.message = status, code, message
        self.method, self.route = method, route
        super().__init__(f"{method} {route} failed: HTTP {status}, Discord code {code}: {message}")


class RateLimited(HTTPError):
    """A 429 we did not wait out; carries retry_after_s and scope (user, global, shared)."""

    def __init__(self, retry_after_s: float, scope: str, *, method: str, route: str) -> None:
        self.retry_after_s, self.scope = retry_after_s, scope
        super().__init__(
            429, 0, f"rate limited ({scope}), retry after {retry_after_s:.1f} s",
            method=method, route=route,
        )


class CloudflareBanned(HTTPError):
    """An HTML 429 (Cloudflare): too many invalid requests; we back off for a long time."""


class Forbidden(HTTPError):
    """403: the bot lacks a permission (message says which call)."""


class NotFound(HTTPError):
    """404: unknown channel, message, interaction or webhook."""


class ServerError(HTTPError):
    """5xx from Discord after our retries."""
