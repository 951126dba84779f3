"""Steam's `x-eresult` response header mapped to the typed errors (familybot_trio.errors).

Service (protobuf-backed) Web API methods report their outcome in the `x-eresult` header,
an EResult number (SteamDatabase/Protobufs steam/enums.proto, `EResult`). A failing call
often still answers HTTP 200 with `{"response": {}}`, which would parse as "empty" or "not
a member" when the header is ignored. 1 (OK) or no header: the body stands.

| EResult                     | raised                                           |
| --------------------------- | ------------------------------------------------ |
| 9 FileNotFound, 42 NoMatch  | NotFound                                         |
| 15 AccessDenied             | Unauthorized (TokenExpired for access-token calls)|
| 21 NotLoggedOn, 26 Revoked, 27 Expired | TokenExpired (token) / Unauthorized (key) |
| 84 RateLimitExceeded        | RateLimited (retried first, like a 429)          |
| 3 NoConnection, 10 Busy, 16 Timeout, 20 ServiceUnavailable, 35 ServiceReadOnly | UpstreamError, retried |
| 8 InvalidParam and any other | UpstreamError (not retried: the request is wrong) |
"""

from __future__ import annotations

from typing import Final

from familybot_trio.errors import NotFound, RateLimited, TokenExpired, Unauthorized, UpstreamError
from familybot_trio.upstream._http import RetryPolicy, Transient

__all__ = ["EResult", "error_for_eresult", "parse_eresult"]


class EResult:
    """The EResult numbers this module names (steam/enums.proto)."""

    OK: Final = 1
    FAIL: Final = 2
    NO_CONNECTION: Final = 3
    INVALID_PARAM: Final = 8
    FILE_NOT_FOUND: Final = 9
    BUSY: Final = 10
    ACCESS_DENIED: Final = 15
    TIMEOUT: Final = 16
    SERVICE_UNAVAILABLE: Final = 20
    NOT_LOGGED_ON: Final = 21
    REVOKED: Final = 26
    EXPIRED: Final = 27
    SERVICE_READ_ONLY: Final = 35
    NO_MATCH: Final = 42
    RATE_LIMIT_EXCEEDED: Final = 84


_NAMES: Final = {v: k for k, v in vars(EResult).items() if isinstance(v, int)}
_TRANSIENT: Final = frozenset({EResult.NO_CONNECTION, EResult.BUSY, EResult.TIMEOUT,
                               EResult.SERVICE_UNAVAILABLE, EResult.SERVICE_READ_ONLY})
_AUTH: Final = frozenset({EResult.NOT_LOGGED_ON, EResult.REVOKED, EResult.EXPIRED})


def parse_eresult(raw: str | None) -> int | None:
    """The header's value as an int; None when absent or not a number."""
    if raw is None or not raw.strip().lstrip("-").isdigit():
        return None
    return int(raw.strip())


def error_for_eresult(eresult: int | None, *, upstream: str, what: str, auth: str,
                      policy: RetryPolicy, auth_hint: str) -> UpstreamError | Transient | None:
    """The error an EResult means (Transient = retry it), or None for OK / no header.

    Args: eresult: from `parse_eresult`; upstream: short name ("steam_webapi"); what:
        secret-free "Interface/Method"; auth: "key", "token" or "none" (how the call was
        authorised: an access-token call refused for its token is TokenExpired); policy:
        for the rate-limit wait; auth_hint: how to fix a refused key.
    """
    if eresult is None or eresult == EResult.OK:
        return None
    name = _NAMES.get(eresult, "unnamed")
    said = f"Steam answered {what} with EResult {eresult} ({name})"
    if eresult in (EResult.FILE_NOT_FOUND, EResult.NO_MATCH):
        return NotFound(f"{said}: it does not exist", upstream=upstream)
    if eresult == EResult.RATE_LIMIT_EXCEEDED:
        wait_s = policy.no_retry_after_s
        return Transient(RateLimited(upstream, wait_s), retry_after_s=wait_s)
    if eresult in _AUTH or eresult == EResult.ACCESS_DENIED:
        if auth == "token" and eresult in _AUTH:
            return TokenExpired(None, upstream=upstream)
        if auth == "token":
            return Unauthorized(f"{said}: the access token's account may not do this (is it "
                                "a member of the configured family?); check family.group_id "
                                "or sign in with an adult member's account", upstream=upstream)
        return Unauthorized(f"{said}: {auth_hint}", upstream=upstream)
    if eresult in _TRANSIENT:
        return Transient(UpstreamError(f"{said}; try again later", upstream=upstream))
    return UpstreamError(f"{said}; the request was refused", upstream=upstream)
