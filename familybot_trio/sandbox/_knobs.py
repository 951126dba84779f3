"""Fault injection and rate limits for the sandbox: what can go wrong upstream, on demand.

A fault rule applies to every endpoint whose name starts with its `endpoint` prefix
("storefront" hits all storefront routes, "steam_webapi.GetSharedLibraryApps" one route) and
fires for the next `n` matching requests. Rate limits are sliding windows on the trio clock
(so the autojump clock drives them) and answer the way each upstream does.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import Final

import trio
from starlette.responses import Response


class Fault(enum.StrEnum):
    """What a faulty upstream answers instead of the real body."""

    RATE_LIMITED = "429"                        # 429, no Retry-After
    RATE_LIMITED_RETRY_AFTER = "429_retry_after"  # 429 with Retry-After: retry_after_s
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    UNAUTHORIZED = "401"
    FORBIDDEN = "403"
    HANG = "hang"                               # accept the request, never answer
    MALFORMED_JSON = "malformed_json"           # 200, JSON content type, truncated body
    HTML = "html"                               # 200, an HTML error page instead of JSON
    # Steam service methods: HTTP 200, body {"response":{}}, the outcome in x-eresult only
    ERESULT_FAIL = "eresult_2"
    ERESULT_ACCESS_DENIED = "eresult_15"
    ERESULT_SERVICE_UNAVAILABLE = "eresult_20"
    ERESULT_RATE_LIMITED = "eresult_84"


@dataclass(slots=True)
class FaultRule:
    """Fire `fault` for the next `remaining` requests whose endpoint starts with `endpoint`."""

    endpoint: str
    fault: Fault
    remaining: int
    retry_after_s: int = 5


MALFORMED_JSON_BODY: Final = b'{"response": {"apps": [{"appid": 10, "name": "Counter-Str'
HTML_ERROR_BODY: Final = (b"<!DOCTYPE html><html><head><title>Sorry!</title></head><body>"
                          b"<h2>Something went wrong while displaying this content.</h2>"
                          b"<p>Please try again later.</p></body></html>")


def fault_response(rule: FaultRule, errors: dict[str, bytes]) -> Response | None:
    """The response for a fired rule; None for HANG (the caller sleeps forever instead)."""
    match rule.fault:
        case Fault.RATE_LIMITED:
            return Response(b"null", 429, media_type="application/json; charset=utf-8")
        case Fault.RATE_LIMITED_RETRY_AFTER:
            return Response(b"null", 429, headers={"Retry-After": str(rule.retry_after_s)},
                            media_type="application/json; charset=utf-8")
        case Fault.UNAUTHORIZED:
            return Response(errors["steam_webapi_401_unauthorized.html"], 401,
                            media_type="text/html")
        case Fault.FORBIDDEN:
            return Response(errors["steam_webapi_403_invalid_key.html"], 403,
                            media_type="text/html")
        case Fault.MALFORMED_JSON:
            return Response(MALFORMED_JSON_BODY, 200, media_type="application/json")
        case Fault.HTML:
            return Response(HTML_ERROR_BODY, 200, media_type="text/html; charset=UTF-8")
        case Fault.HANG:
            return None
        case Fault.ERESULT_FAIL | Fault.ERESULT_ACCESS_DENIED | Fault.ERESULT_RATE_LIMITED \
                | Fault.ERESULT_SERVICE_UNAVAILABLE:
            return Response(b'{"response":{}}', 200, media_type="application/json; charset=utf-8",
                            headers={"x-eresult": rule.fault.value.removeprefix("eresult_")})
        case _:
            code = int(rule.fault.value)
            return Response(f"<html><body><h1>{code} Server Error</h1></body></html>".encode(),
                            code, media_type="text/html")


@dataclass(slots=True)
class RateLimit:
    """At most `limit` accepted requests in any `window_s` seconds (trio clock).

    Rejected requests do not use up the window, as measured on the storefront (it recovers
    ~16 s after the first 429 of a burst).
    """

    limit: int
    window_s: float
    _hits: deque[float]

    @classmethod
    def of(cls, limit: int, window_s: float) -> RateLimit:
        """A fresh window: `limit` requests per `window_s` seconds."""
        return cls(limit, window_s, deque())

    def try_acquire(self) -> float | None:
        """Record one request. Returns None if allowed, else seconds until one slot frees."""
        now = trio.current_time()
        while self._hits and self._hits[0] <= now - self.window_s:
            self._hits.popleft()
        if len(self._hits) >= self.limit:
            return max(0.0, self._hits[0] + self.window_s - now)
        self._hits.append(now)
        return None

    def remaining(self) -> int:
        """Requests left in the current window (after dropping expired hits)."""
        now = trio.current_time()
        return self.limit - sum(1 for t in self._hits if t > now - self.window_s)


#: Upstream -> (limit, window_s), as each documents or was measured (SOURCES.md).
DEFAULT_RATE_LIMITS: Final[dict[str, tuple[int, float]]] = {
    "storefront": (200, 300.0),   # SteamDB: 200 / 5 min; measured ~208 / 5 min
    "itad": (1000, 300.0),        # ITAD docs: 1000 requests / 5 min window
    "reddit": (100, 600.0),       # recorded x-ratelimit-used + remaining = 100, 10-min window
}


def rate_limited_response(upstream: str, wait_s: float) -> Response:
    """What each upstream answers when its window is full."""
    retry = str(max(1, int(wait_s + 0.999)))
    if upstream == "storefront":  # measured: body null, no Retry-After, no X-RateLimit-*
        return Response(b"null", 429, media_type="application/json; charset=utf-8")
    if upstream == "itad":        # documented error body + Retry-After
        return Response(b'{"status_code":429,"reason_phrase":"Too Many Requests"}', 429,
                        headers={"Retry-After": retry}, media_type="application/json")
    if upstream == "reddit":
        return Response(b'{"message": "Too Many Requests", "error": 429}', 429,
                        headers={"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": retry},
                        media_type="application/json; charset=UTF-8")
    return Response(b"<html><body><h1>Too Many Requests</h1></body></html>", 429,
                    media_type="text/html")


@dataclass(slots=True)
class Lie:
    """A lying upstream: list answers of `endpoint` come back shrunk to their first `keep`
    fraction, for the next `remaining` answers (None: no limit) and, when `until_s` is set,
    only until that sandbox Unix time. Nothing changes in the family (no `change_log` entry):
    the next honest answer is the real one again.

    endpoint: "GetWishlist" or "GetSharedLibraryApps"; steamid: only this member's wishlist
    (None: every subject); served: answers shrunk so far, by the handler's `via` tag
    (GetSharedLibraryApps: "include_excluded" or "plain"; GetWishlist: "wishlist").
    """

    endpoint: str
    keep: float
    steamid: int | None = None
    remaining: int | None = None
    until_s: float | None = None
    served: dict[str, int] = field(default_factory=dict)

    def applies(self, endpoint: str, steamid: int | None, now_s: float) -> bool:
        """Whether this answer (of `endpoint`, about `steamid`, at `now_s`) is a lie."""
        return (endpoint == self.endpoint and (self.remaining is None or self.remaining > 0)
                and (self.until_s is None or now_s < self.until_s)
                and (self.steamid is None or self.steamid == steamid))

    def tell(self, items: list, via: str) -> list:
        """The shrunken answer (and the lie counted)."""
        if self.remaining is not None:
            self.remaining -= 1
        self.served[via] = self.served.get(via, 0) + 1
        return items[:int(len(items) * self.keep)]
