"""The Steam access token (the store's `webapi_token`): set, read, check, persist.

The family calls (IFamilyGroupsService) need a user access token, a JWT that Steam's store
page `pointssummary/ajaxgetasyncconfig` hands a signed-in browser (`data.webapi_token`); it
lives about 24 h. We decode its payload *without verifying the signature* (we are not its
audience and hold no key) only to read `exp` (expiry), `sub` (the SteamID64 it belongs to)
and `aud`. An expired token raises TokenExpired before any request is made (the reference
bot sent expired tokens, P38), and "expires in N hours" is available for the admin.

Persistence: one file in the data dir, mode 0600, written atomically (temp file + fsync +
os.replace) in a worker thread via `blocking.run_sync("files", ...)`. The token never
appears in a repr, log line or error message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from familybot_trio import blocking
from familybot_trio.errors import TokenExpired, Unauthorized
from familybot_trio._secretfile import read_or_none, write_atomic
from familybot_trio.upstream._jwt import unverified_claims
from familybot_trio.upstream.models import SteamID64

log = logging.getLogger("familybot_trio.upstream.tokens")

TOKEN_FILE_NAME: Final = "steam_access_token"
SET_HINT: Final = (
    "copy `webapi_token` from https://store.steampowered.com/pointssummary/ajaxgetasyncconfig "
    "while signed in, then run `familybot-trio token set`"
)


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A decoded Steam access token. `value` is secret: hidden from repr."""

    value: str = field(repr=False)
    steamid: SteamID64
    expires_at: datetime
    audience: tuple[str, ...]

    def expires_in_s(self, now: datetime | None = None) -> float:
        """Seconds until expiry (negative once expired). now: aware UTC, default now."""
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()

    def expires_in_hours(self, now: datetime | None = None) -> float:
        """Hours until expiry, for "expires in N hours" (negative once expired)."""
        return self.expires_in_s(now) / 3600.0

    def is_expired(self, now: datetime | None = None) -> bool:
        """True when `exp` is now or past."""
        return self.expires_in_s(now) <= 0


def decode_access_token(value: str) -> AccessToken:
    """Read exp/sub/aud from a Steam access token JWT without verifying its signature.

    Args: value: the JWT ("eyJ...").
    Returns: AccessToken. Raises: Unauthorized when it is not a JWT or lacks exp/sub
        (the message never echoes the token).
    """
    value = value.strip()
    try:
        payload = unverified_claims(value)
        exp = datetime.fromtimestamp(int(payload["exp"]), tz=UTC)
        steamid = SteamID64(int(payload["sub"]))
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise Unauthorized(
            f"that is not a Steam access token ({type(exc).__name__}); {SET_HINT}",
            upstream="steam_webapi",
        ) from None
    aud = payload.get("aud", ())
    audience = (aud,) if isinstance(aud, str) else tuple(str(a) for a in aud)
    return AccessToken(value=value, steamid=steamid, expires_at=exp, audience=audience)


class AccessTokenStore:
    """Holds the current access token in memory and in `<data_dir>/steam_access_token`.

    Args: data_dir: the bot's data directory (created on first save).
    Nothing touches the disk until `load()` or `set()`.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / TOKEN_FILE_NAME
        self._token: AccessToken | None = None

    def __repr__(self) -> str:
        return f"AccessTokenStore(path={str(self.path)!r}, loaded={self._token is not None})"

    async def load(self) -> AccessToken | None:
        """Read the token file (in a thread); None when there is none.

        Raises: Unauthorized when the file holds something that is not a token.
        """
        text = await blocking.run_sync("files", read_or_none, self.path)
        if not text or not text.strip():
            self._token = None
            return None
        self._token = decode_access_token(text)
        return self._token

    async def set(self, value: str) -> AccessToken:
        """Validate, keep and persist a new token (0600, atomic).

        Raises: Unauthorized (not a JWT), TokenExpired (already expired: nothing is saved).
        Cancellation: once the write started it finishes (rename is atomic either way).
        """
        token = decode_access_token(value)
        if token.is_expired():
            raise TokenExpired(token.expires_at)
        await blocking.run_sync("files", write_atomic, self.path, token.value + "\n")
        self._token = token
        log.info("access token saved [steamid:%d expires_in_h:%.1f]",
                 token.steamid, token.expires_in_hours())
        return token

    def peek(self) -> AccessToken | None:
        """The token in memory, expired or not (for status displays); no I/O."""
        return self._token

    def current(self, now: datetime | None = None) -> AccessToken:
        """The token to use for a request now.

        Raises: Unauthorized (none set), TokenExpired (expired; carries expired_at).
        """
        token = self._token
        if token is None:
            raise Unauthorized(f"no Steam access token is set; {SET_HINT}",
                               upstream="steam_webapi")
        if token.is_expired(now):
            raise TokenExpired(token.expires_at)
        return token
