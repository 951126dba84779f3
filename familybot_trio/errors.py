"""The familybot-trio exception tree.

    FamilybotError
    ├── ConfigError              config.toml or the environment is wrong (names file, key, fix)
    ├── StoreError               the SQLite store failed (wraps sqlite3 errors)
    └── UpstreamError            Steam / storefront / ITAD / Epic / feed answered badly
        ├── RateLimited          429 after our retries (carries retry_after_s)
        ├── Unauthorized         401/403: a key or token was refused
        │   └── TokenExpired     the Steam access token is expired (carries expired_at)
        └── NotFound             the upstream says the thing does not exist

No httpx, sqlite3 or `steam` exception escapes `upstream/` or `store/`: they are translated
here with `raise ... from exc`. Messages say what happened, the value, and the next step,
and never contain a secret.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    """The exceptions inside `exc`, exception groups flattened (trio's nurseries wrap what a
    task raised, KeyboardInterrupt too, in one group per nursery level).

    Returns: [exc] for a plain exception, else every non-group leaf in order.
    """
    if not isinstance(exc, BaseExceptionGroup):
        return [exc]
    return [leaf for inner in exc.exceptions for leaf in leaf_exceptions(inner)]


def is_interrupt(exc: BaseException) -> bool:
    """True when `exc` is a KeyboardInterrupt (Ctrl-C), bare or in exception groups holding
    nothing else: what `trio.run` raises on Ctrl-C. The CLI then says so and exits 130."""
    return all(isinstance(leaf, KeyboardInterrupt) for leaf in leaf_exceptions(exc))


class FamilybotError(Exception):
    """Root of every error familybot-trio raises on purpose."""


class _Missing:
    """The value of a key that is not there at all (ConfigError says "missing")."""

    def __repr__(self) -> str:
        return "<missing>"


#: ConfigError's value for a key (or environment variable) that is not set at all.
MISSING = _Missing()


#: What ConfigError shows instead of a value that looks like a secret.
NOT_SHOWN: Final = "<not shown>"
#: Added to the fix of an error whose value was hidden because it looks like a secret.
SECRET_HINT: Final = ("(the value looks like a secret, so it is not shown: secrets go only in "
                      "the FAMILYBOT_* environment variables, never in config.toml; if it is "
                      "one, remove it from the file and reset it)")
_SECRET_SHAPES: Final = (
    re.compile(r"[MNO][\w-]{23,27}\.[\w-]{6,7}\.[\w-]{27,40}"),      # Discord bot token
    re.compile(r"eyJ[\w-]{8,}(?:\.[\w-]+){0,2}"),                      # JWT (Steam access token)
    re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])"),     # hex API key (Steam, ITAD)
)
#: A long base64/base64url word with upper case, lower case and digits (random, not a word).
_BASE64: Final = re.compile(r"(?<![\w+/=-])(?=[\w+/-]*\d)(?=[\w+/-]*[a-z])(?=[\w+/-]*[A-Z])"
                            r"[A-Za-z0-9+/_-]{32,}={0,2}(?![\w+/=-])")


def looks_secret(value: object) -> bool:
    """True when `value` (a string, or a list/table holding strings) looks like a secret.

    Shapes: a Discord bot token, a JWT, 32+ hex digits, a 32+ character base64 word mixing
    upper case, lower case and digits. Snowflakes, SteamID64s, paths and URLs do not match.
    """
    if isinstance(value, str):
        return any(p.search(value) for p in _SECRET_SHAPES) or bool(_BASE64.search(value))
    if isinstance(value, dict):
        return any(looks_secret(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(looks_secret(v) for v in value)
    return False


class ConfigError(FamilybotError):
    """The configuration is invalid.

    Attributes: path (the config file), key (dotted key or env var), value (the bad value;
    NOT_SHOWN when it looks like a secret, see `looks_secret`, and then the fix ends with
    SECRET_HINT; MISSING when the key is not there), fix (what to do).
    """

    def __init__(self, path: str, key: str, value: object, fix: str) -> None:
        if value is not MISSING and looks_secret(value):
            value, fix = NOT_SHOWN, f"{fix} {SECRET_HINT}"
        self.path, self.key, self.value, self.fix = path, key, value, fix
        if value is MISSING:
            super().__init__(f"{path}: {key} is missing: {fix}")
        else:
            super().__init__(f"{path}: {key} = {value!r} is invalid: {fix}")


class StoreError(FamilybotError):
    """The SQLite store failed; the message names the operation."""


class UpstreamError(FamilybotError):
    """An upstream service failed or answered something we cannot use.

    Attributes: upstream (short name like "storefront"), status (HTTP status or None).
    """

    def __init__(self, message: str, *, upstream: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.upstream = upstream
        self.status = status


class RateLimited(UpstreamError):
    """The upstream kept answering 429 after our retries.

    Attributes: retry_after_s (seconds the upstream asked us to wait, or our estimate).
    """

    def __init__(self, upstream: str, retry_after_s: float, *, status: int | None = 429) -> None:
        super().__init__(
            f"{upstream} is rate limiting us; try again in {retry_after_s:.0f} s",
            upstream=upstream,
            status=status,
        )
        self.retry_after_s = retry_after_s


class Unauthorized(UpstreamError):
    """A key or token was refused (HTTP 401/403)."""


class TokenExpired(Unauthorized):
    """The Steam access token has expired (or Steam says so with a 401).

    Attributes: expired_at (UTC datetime, or None when Steam refused without saying when).
    """

    def __init__(self, expired_at: datetime | None, *, upstream: str = "steam_webapi") -> None:
        if expired_at is not None:
            what = f"Steam access token expired at {expired_at:%Y-%m-%d %H:%M} UTC"
        else:  # a 401 before `exp`: revoked, or the owner signed out everywhere
            what = "Steam refused the access token (revoked or signed out before its expiry)"
        super().__init__(
            f"{what}; run `familybot-trio token set` (or /admin_token_set) with a fresh one, "
            "or sign the bot in once with `familybot-trio steam login`",
            upstream=upstream,
            status=401,
        )
        self.expired_at = expired_at


class NotFound(UpstreamError):
    """The upstream says the requested thing does not exist."""
