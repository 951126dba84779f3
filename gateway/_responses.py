"""Reading Discord's REST answers: the rate-limit scope of a 429 and the JSON error body.

Upstream: discord-api-docs topics/rate-limits.mdx ("Header Format": X-RateLimit-Scope),
reference.mdx ("Error Messages": code, message, the nested errors object).
"""

from __future__ import annotations

import httpx


def scope_of(resp: httpx.Response) -> str:
    """A 429's scope: "user", "global" or "shared" (header, else the body's `global`)."""
    scope = resp.headers.get("x-ratelimit-scope")
    if scope:
        return scope
    try:
        is_global = bool(resp.json().get("global"))
    except (ValueError, AttributeError):
        is_global = False
    return "global" if is_global or resp.headers.get("x-ratelimit-global") else "user"


def error_of(resp: httpx.Response) -> tuple[int, str, dict | None]:
    """Discord's JSON error code, message and `errors` tree (50035), or (0, first 200 chars
    of the body, None) when the body is not Discord's JSON."""
    try:
        body = resp.json()
        errors = body.get("errors")
        return (int(body.get("code", 0)), str(body.get("message", ""))[:200],
                errors if isinstance(errors, dict) else None)
    except (ValueError, AttributeError, TypeError):
        return 0, resp.text[:200], None
