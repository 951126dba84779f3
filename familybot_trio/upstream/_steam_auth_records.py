"""What Steam's sign-in service says: EResult codes, the sign-in errors, JWTs, QR records.

The facts and records of `familybot_trio.upstream.steam_auth` (which re-exports them): the
EResult values it acts on (steam-auth.md 8.6), the errors drawn in its docstring, the
unverified JWT reader, and the QR session records. Secret fields are hidden from repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from familybot_trio.errors import Unauthorized, UpstreamError
from familybot_trio.ids import SteamID64
from familybot_trio.upstream._jwt import unverified_claims

UPSTREAM: Final = "steam_auth"

# EResult values (steam-auth.md 8.6).
E_OK: Final = 1
E_FAIL: Final = 2
E_FILE_NOT_FOUND: Final = 9
E_ACCESS_DENIED: Final = 15
E_SERVICE_UNAVAILABLE: Final = 20
E_REVOKED: Final = 26
E_EXPIRED: Final = 27
E_RATE_LIMIT: Final = 84
E_LOGIN_THROTTLE: Final = 87
#: Renewal failures only a person can fix: re-scan a QR (LDX's REFUSED set, ASF).
NEEDS_PERSON: Final = frozenset({E_ACCESS_DENIED, E_REVOKED, E_EXPIRED})
TRANSIENT: Final = frozenset({E_SERVICE_UNAVAILABLE, E_RATE_LIMIT, E_LOGIN_THROTTLE})


class QrDenied(UpstreamError):
    """The QR login was denied in the Steam Mobile App (or Steam forgot the session)."""


class QrExpired(UpstreamError):
    """The QR login session expired before anyone approved it."""


class SignInRefused(Unauthorized):
    """Steam refused to renew from the refresh token: someone must sign in again.

    Attributes: eresult (int or None).
    """

    def __init__(self, message: str, *, eresult: int | None = None, status: int | None = None
                 ) -> None:
        super().__init__(message, upstream=UPSTREAM, status=status)
        self.eresult = eresult


@dataclass(frozen=True, slots=True)
class Jwt:
    """A decoded Steam JWT (refresh or access token). `value` is secret: hidden from repr.

    steamid: `sub`; expires_at: `exp` (aware UTC); audience: `aud`; is_refresh: "derive"
    in `aud` (node-steam-session's own test, steam-auth.md 1.1).
    """

    value: str = field(repr=False)
    steamid: SteamID64
    expires_at: datetime
    audience: tuple[str, ...]

    @property
    def is_refresh(self) -> bool:
        """True for a refresh token ("derive" in aud)."""
        return "derive" in self.audience


def decode_jwt(text: str) -> Jwt:
    """Read sub/exp/aud of a Steam JWT without verifying the signature (we hold no key).

    Returns: Jwt. Raises: ValueError with a secret-free message when it is not a Steam JWT.
    """
    try:
        payload = unverified_claims(text)
        exp = datetime.fromtimestamp(int(payload["exp"]), tz=UTC)
        steamid = SteamID64(int(payload["sub"]))
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"not a Steam token (JWT payload unreadable: {type(exc).__name__})"
                         ) from None
    aud = payload.get("aud", ())
    audience = (aud,) if isinstance(aud, str) else tuple(str(a) for a in aud)
    return Jwt(value=text.strip(), steamid=steamid, expires_at=exp, audience=audience)


@dataclass(frozen=True, slots=True)
class QrChallenge:
    """A started QR session. challenge_url (what the QR encodes) and request_id are secret.

    interval_s: seconds between polls, as Steam asked.
    """

    client_id: str
    challenge_url: str = field(repr=False)
    request_id: str = field(repr=False)
    interval_s: float


PollState = Literal["pending", "scanned", "rotated", "approved"]


@dataclass(frozen=True, slots=True)
class PollResult:
    """One PollAuthSessionStatus answer.

    state: pending (nobody scanned), scanned (had_remote_interaction), rotated (Steam sent
    a new challenge: redraw the QR, poll with the new client id), approved (tokens present).
    """

    state: PollState
    challenge: QrChallenge
    refresh_token: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    account_name: str | None = None


__all__ = ["E_ACCESS_DENIED", "E_EXPIRED", "E_FAIL", "E_FILE_NOT_FOUND", "E_LOGIN_THROTTLE", "E_OK", "E_RATE_LIMIT", "E_REVOKED", "E_SERVICE_UNAVAILABLE", "Jwt", "NEEDS_PERSON", "PollResult", "PollState", "QrChallenge", "QrDenied", "QrExpired", "SignInRefused", "TRANSIENT", "UPSTREAM", "decode_jwt"]
