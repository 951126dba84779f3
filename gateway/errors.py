"""The gateway package's exception tree (Discord only; nothing of Steam).

    GatewayError
    ├── FatalCloseError        Discord closed with a code we must not reconnect on
    │                          (4004, 4010-4014); carries close_code and a fix
    ├── SessionStartLimitError no identifies left today (session_start_limit.remaining == 0)
    └── HTTPError              a REST call failed; carries status, code (Discord's JSON
        │                      error code), message, method, route, and for 50035 the
        │                      `errors` tree and field_errors / field_paths
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
    never with a token), errors (the nested 50035 `errors` tree, or None), field_errors
    (`[(path, error code, message)]` flattened from it, e.g. `("options.0.min_value",
    "NUMBER_TYPE_MAX", "...")`); the exception text lists the paths, so a log line names the
    field Discord refused. Upstream: reference.mdx "Error Messages".
    """

    def __init__(self, status: int, code: int, message: str, *, method: str, route: str,
                 errors: dict | None = None) -> None:
        self.status, self.code, self.message = status, code, message
        self.method, self.route = method, route
        self.errors = errors
        self.field_errors = flatten_form_errors(errors)
        text = f"{method} {route} failed: HTTP {status}, Discord code {code}: {message}"
        if self.field_errors:
            shown = "; ".join(f"{p}: {c} {m}".rstrip() for p, c, m in self.field_errors[:10])
            more = len(self.field_errors) - 10
            text += f" [{shown}{f'; and {more} more' if more > 0 else ''}]"
        super().__init__(text)

    @property
    def field_paths(self) -> list[str]:
        """The dotted paths of the refused fields (["embeds.0.title", ...])."""
        return [p for p, _, _ in self.field_errors]


def flatten_form_errors(tree: object, prefix: str = "") -> list[tuple[str, str, str]]:
    """Discord's nested 50035 `errors` object -> [(dotted path, code, message)], in order.

    A leaf is `{"_errors": [{"code", "message"}]}`; the keys above it (object keys and list
    indexes) form the path; errors on the body itself get the path "_root".
    """
    out: list[tuple[str, str, str]] = []
    if not isinstance(tree, dict):
        return out
    for key, value in tree.items():
        if key == "_errors" and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    out.append((prefix or "_root", str(item.get("code", "")),
                                str(item.get("message", ""))[:200]))
        else:
            out.extend(flatten_form_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


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
