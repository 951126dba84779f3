"""The sign-in's data: the state record and its 0600 file, pasted-text checks, QR text.

Split out of signin.py (which holds the flows and the renewal policy). Nothing here does
network I/O; the file functions are blocking and run via `blocking.run_sync("files", ...)`.
"""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import unquote

from familybot_trio.upstream.models import SteamID64
from familybot_trio.upstream.steam_auth import Jwt, decode_jwt

STATE_FILE_NAME: Final = "steam_signin.json"
ROUTE_QR, ROUTE_COOKIE, ROUTE_TOKEN = "qr", "refresh_cookie", "webapi_token"


@dataclass(frozen=True, slots=True)
class SignInState:
    """What the state file holds. Tokens are secret (hidden from repr).

    route: "qr", "refresh_cookie" or "webapi_token" (no refresh token: no renewal).
    Times are aware UTC; warned_days: reminder thresholds already sent.
    """

    route: str
    steamid: SteamID64
    signed_in_at: datetime
    refresh_token: str | None = field(default=None, repr=False)
    refresh_exp: datetime | None = None
    access_token: str | None = field(default=None, repr=False)
    access_exp: datetime | None = None
    account_name: str | None = None
    last_renewal: datetime | None = None
    last_error: str | None = None
    needs_signin: bool = False
    needs_signin_reported: bool = False
    warned_days: tuple[int, ...] = ()

    def to_json(self) -> str:
        """The file's JSON text (contains secrets: only for the 0600 file)."""
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, datetime):
                d[k] = int(v.timestamp())
        d["warned_days"] = list(self.warned_days)
        return json.dumps(d, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SignInState:
        """Parse the file. Raises: ValueError (unreadable file; message has no secrets)."""
        try:
            d = json.loads(text)
            for k in ("signed_in_at", "refresh_exp", "access_exp", "last_renewal"):
                if d.get(k) is not None:
                    d[k] = datetime.fromtimestamp(int(d[k]), tz=UTC)
            d["steamid"] = SteamID64(int(d["steamid"]))
            d["warned_days"] = tuple(int(x) for x in d.get("warned_days", ()))
            return cls(**d)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"the Steam sign-in file is unreadable ({type(exc).__name__}); "
                             "delete it and sign in again") from None


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def parse_refresh_cookie(text: str, now: datetime) -> Jwt:
    """Validate a pasted `steamRefresh_steam` cookie (route C).

    Accepts "<SteamID64>%7C%7C<JWT>", "<SteamID64>||<JWT>" or the bare JWT.
    Returns: the refresh token. Raises: ValueError saying what was pasted instead.
    """
    raw = unquote(text.strip().removeprefix("steamRefresh_steam="))
    prefix, sep, token = raw.partition("||")
    token = token if sep else raw
    jwt_ = decode_jwt(token)
    if sep and prefix.strip() != str(jwt_.steamid):
        raise ValueError("the cookie's SteamID64 prefix does not match the token's subject; "
                         "copy the whole steamRefresh_steam value again")
    if not jwt_.is_refresh:
        raise ValueError("that is an access token (aud has no \"derive\"), not the "
                         "steamRefresh_steam cookie; paste it with `steam paste-token` "
                         "(it lasts 24 h) or copy the cookie from login.steampowered.com")
    if "web" not in jwt_.audience or {"mobile", "client"} & set(jwt_.audience):
        raise ValueError("that refresh token is not a web browser one (aud "
                         f"{list(jwt_.audience)}); copy steamRefresh_steam from a browser")
    if jwt_.expires_at <= now:
        raise ValueError(f"that refresh token expired at {jwt_.expires_at:%Y-%m-%d} UTC; "
                         "sign in again in the browser and copy the new cookie")
    return jwt_


def parse_webapi_token(text: str, now: datetime) -> Jwt:
    """Validate a pasted `webapi_token` / `steamLoginSecure` value (route D).

    Accepts the bare JWT, the whole ajaxgetasyncconfig JSON, or "<SteamID64>%7C%7C<JWT>".
    Returns: the access token. Raises: ValueError saying what was pasted instead.
    """
    text = text.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["data"]["webapi_token"])
        except (ValueError, KeyError, TypeError):
            raise ValueError("that JSON has no data.webapi_token: open ajaxgetasyncconfig "
                             "while signed in to the store") from None
    raw = unquote(text.removeprefix("steamLoginSecure="))
    token = raw.partition("||")[2] or raw
    jwt_ = decode_jwt(token)
    if jwt_.is_refresh:
        raise ValueError("that is a refresh token (aud has \"derive\"), not a webapi_token; "
                         "to renew automatically paste it with `steam paste-cookie` instead")
    if "renew" in jwt_.audience:
        raise ValueError("that token has a \"renew\" audience; it is not a webapi_token")
    if jwt_.expires_at <= now:
        raise ValueError(f"that webapi_token expired at {jwt_.expires_at:%Y-%m-%d %H:%M} UTC; "
                         "copy a fresh one")
    return jwt_


def qr_png(url: str, *, box_size: int = 8) -> bytes:
    """The QR code of `url` as a PNG image (pure Python: qrcode + pypng, no system
    packages). Pure CPU, ~10 ms: call it in a worker thread."""
    import qrcode  # imported here, in the worker thread: an idle bot never needs it (S6)
    import qrcode.image.pure  # imports pypng; only needed when a sign-in starts

    out = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.pure.PyPNGImage, box_size=box_size,
                border=2).save(out)
    return out.getvalue()


def qr_text(url: str, *, invert: bool = True) -> str:
    """The QR code of `url` drawn with half-block characters (about 33 x 17 for a
    challenge URL). invert=True draws light modules dark: right for dark terminals and
    Discord's dark theme. Pure CPU, a few ms: call it in a worker thread (it imports qrcode
    on first use, which an idle bot never loads)."""
    import qrcode

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=invert)
    return out.getvalue()
