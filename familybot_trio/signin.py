"""The Steam sign-in: one state file, the QR flow, automatic renewal, pasted fallbacks.

The family endpoints need a member's access token, which lives ~24 h. After one QR sign-in
(route B of steam-auth.md) we hold a WebBrowser refresh token (~200 days) and renew the
access token ourselves by the web path (`SteamAuth.finalize_login`). Every fresh access token
is written into the AccessTokenStore (`tokens.set`), so every existing caller of the family
endpoints uses it without knowing about sign-in.

State file `<data_dir>/steam_signin.json`, mode 0600, written atomically (temp file, fsync,
rename) in a worker thread: route, SteamID64, refresh token, access token, both expiries,
time of sign-in, last renewal, last error, "sign-in needed" and which warnings were sent.
Tokens are hidden from every repr and never logged.

Renewal policy (section 10):
- the "steam_token_renewal" job (every RENEW_JOB_S) renews when the access token has less
  than RENEW_BEFORE_S left; it also sends the refresh-expiry warnings (14 and 2 days
  before, once each);
- before each family call (`ensure_fresh`) an expired (or nearly: PRE_CALL_MARGIN_S) access
  token is renewed first; a 401 renews once and the caller retries once (`after_unauthorized`);
- a refusal only a person can fix (SignInRefused) marks "sign-in needed" and tells the
  admin once per streak; family calls then raise SignInNeeded, whose message says how to
  sign in again. Transient failures keep the state and raise (the scheduler backs off).
Renewals are serialised by a lock; a caller that waited re-checks before renewing again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import unquote

import qrcode
import trio

from familybot_trio import blocking
from familybot_trio.errors import TokenExpired, UpstreamError
from familybot_trio.upstream.models import SteamID64
from familybot_trio.upstream.steam_auth import (Jwt, QrChallenge, QrDenied, QrExpired,
                                                SignInRefused, SteamAuth, decode_jwt)
from familybot_trio.upstream.tokens import AccessTokenStore

log = logging.getLogger("familybot_trio.signin")

STATE_FILE_NAME: Final = "steam_signin.json"
FILE_MODE: Final = 0o600
RENEW_JOB_S: Final = 30 * 60          # section 10: every 30-60 min
RENEW_BEFORE_S: Final = 2 * 3600      # renew when less than 2 h are left
PRE_CALL_MARGIN_S: Final = 5 * 60     # ASF's 5 min before a family call
QR_TIMEOUT_S: Final = 5 * 60          # section 3.3: stop after 3-5 min
MIN_POLL_S: Final = 1.0               # floor for Steam's `interval` (5 s in practice)
WARN_DAYS: Final = (14, 2)            # refresh-token expiry reminders, once each
SIGNIN_HOW: Final = ("an admin signs in again: DM me `/admin_steam_login` (or run "
                     "`familybot-trio steam login`) and scan the QR code with the Steam "
                     "Mobile App")
ROUTE_QR, ROUTE_COOKIE, ROUTE_TOKEN = "qr", "refresh_cookie", "webapi_token"


def utcnow() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


class SignInNeeded(TokenExpired):
    """The Steam sign-in must be renewed by a person; the message says how (no secrets)."""

    def __init__(self, reason: str) -> None:
        UpstreamError.__init__(self, f"The Steam sign-in must be renewed ({reason}): "
                               f"{SIGNIN_HOW}.", upstream="steam_auth", status=401)
        self.expired_at = None


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


def _write_atomic(path: Path, text: str) -> None:
    """Blocking: write with mode 0600 via temp file, fsync, rename (dir 0700 if created)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


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


def qr_text(url: str, *, invert: bool = True) -> str:
    """The QR code of `url` drawn with half-block characters (about 33 x 17 for a
    challenge URL). invert=True draws light modules dark: right for dark terminals and
    Discord's dark theme. Pure CPU, a few ms."""
    import io

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=invert)
    return out.getvalue()


AuthFactory = Callable[[], contextlib.AbstractAsyncContextManager[SteamAuth]]
Report = Callable[[str], Awaitable[None]]
LoginUpdate = Callable[[str, QrChallenge | None], Awaitable[None]]


class SignIn:
    """The sign-in of one bot: state file, QR flow, renewal.

    Args: data_dir; tokens: the AccessTokenStore family calls read; api_base / login_base:
        upstream base URLs (config `steam_webapi`, `steam_auth`); now: aware-UTC clock;
        report: async callable telling the admins (None: nobody is told);
        min_poll_s: floor for the poll interval Steam asks for (tests lower it).
    Nothing touches disk or network until a method is awaited.
    """

    def __init__(self, data_dir: Path, tokens: AccessTokenStore, *, api_base: str,
                 login_base: str, now: Callable[[], datetime] = utcnow,
                 report: Report | None = None, min_poll_s: float = MIN_POLL_S) -> None:
        self.min_poll_s = min_poll_s
        self.path = Path(data_dir) / STATE_FILE_NAME
        self.tokens = tokens
        self.now = now
        self.report = report
        self._auth: AuthFactory = lambda: SteamAuth.open(api_base=api_base, login_base=login_base)
        self._state: SignInState | None = None
        self._loaded = False
        self._lock = trio.Lock()

    def __repr__(self) -> str:
        return f"SignIn(path={str(self.path)!r}, signed_in={self._state is not None})"

    @property
    def state(self) -> SignInState | None:
        """The state in memory (None: never signed in); no I/O."""
        return self._state

    async def load(self) -> SignInState | None:
        """(Re)read the state file in a thread. Raises: ValueError (unreadable file)."""
        text = await blocking.run_sync("files", _read, self.path)
        self._state = SignInState.from_json(text) if text and text.strip() else None
        self._loaded = True
        return self._state

    async def _ensure_loaded(self) -> None:
        if not self._loaded:
            await self.load()

    async def _save(self, state: SignInState) -> SignInState:
        """Persist (0600, atomic). Cancellation: a started write finishes."""
        await blocking.run_sync("files", _write_atomic, self.path, state.to_json())
        self._state = state
        return state

    # ---- sign-in ---------------------------------------------------------------------

    async def qr_login(self, on_update: LoginUpdate, *, timeout_s: float = QR_TIMEOUT_S,
                       expect_steamid: SteamID64 | None = None) -> SignInState:
        """Run one QR sign-in: start it, report each change, poll until an outcome.

        Args: on_update(event, challenge): "challenge" (show this QR), "rotated" (redraw),
            "scanned"; expect_steamid: refuse any other account.
        Returns: the saved state. Raises: QrDenied, QrExpired (also on our timeout),
            UpstreamError, ValueError (another account approved). Never retries by itself.
        Cancellation: polling stops; nothing is saved.
        Upstream: BeginAuthSessionViaQR, PollAuthSessionStatus, then finalizelogin.
        """
        await self._ensure_loaded()
        async with self._auth() as auth:
            challenge = await auth.begin_qr()
            await on_update("challenge", challenge)
            scanned, result = False, None
            with trio.move_on_after(timeout_s):
                while True:
                    await trio.sleep(max(challenge.interval_s, self.min_poll_s))
                    try:
                        result = await auth.poll(challenge)
                    except (QrDenied, QrExpired):
                        raise
                    except UpstreamError as exc:  # transient: the next poll tries again
                        log.warning("QR poll failed, polling on [cause:%s]", exc)
                        continue
                    challenge = result.challenge
                    if result.state == "rotated":
                        await on_update("rotated", challenge)
                    elif result.state == "scanned" and not scanned:
                        scanned = True
                        await on_update("scanned", challenge)
                    elif result.state == "approved":
                        break
            if result is None or result.state != "approved":
                raise QrExpired(f"nobody approved the QR code within {timeout_s:.0f} s; ask "
                                "for a new one", upstream="steam_auth")
            refresh = decode_jwt(result.refresh_token or "")
            if expect_steamid is not None and refresh.steamid != expect_steamid:
                raise ValueError(f"the QR code was approved by SteamID64 {refresh.steamid}, "
                                 f"not {expect_steamid}; nothing was saved")
            access = await auth.finalize_login(refresh.value, refresh.steamid)
        return await self._signed_in(ROUTE_QR, refresh, access, result.account_name)

    async def _signed_in(self, route: str, refresh: Jwt | None, access: Jwt,
                         account_name: str | None = None) -> SignInState:
        now = self.now()
        state = SignInState(route=route, steamid=access.steamid, signed_in_at=now,
                            refresh_token=refresh.value if refresh else None,
                            refresh_exp=refresh.expires_at if refresh else None,
                            access_token=access.value, access_exp=access.expires_at,
                            account_name=account_name, last_renewal=now if refresh else None)
        async with self._lock:
            await self._save(state)   # the refresh token first (section 5.1)
            await self.tokens.set(access.value)
        log.info("steam sign-in saved [route:%s steamid:%d access_expires:%s]", route,
                 state.steamid, f"{access.expires_at:%Y-%m-%d %H:%M}")
        return state

    async def accept_refresh_cookie(self, text: str) -> SignInState:
        """Route C: validate a pasted steamRefresh_steam cookie, renew from it once, save.

        Raises: ValueError (not a web refresh cookie; says what it is), SignInRefused,
            UpstreamError.
        """
        await self._ensure_loaded()
        refresh = parse_refresh_cookie(text, self.now())
        async with self._auth() as auth:
            access = await auth.finalize_login(refresh.value, refresh.steamid)
        return await self._signed_in(ROUTE_COOKIE, refresh, access)

    async def accept_webapi_token(self, text: str) -> SignInState:
        """Route D: validate a pasted webapi_token and use it until it expires (no renewal).

        Raises: ValueError (not a webapi_token; says what it is).
        """
        await self._ensure_loaded()
        access = parse_webapi_token(text, self.now())
        return await self._signed_in(ROUTE_TOKEN, None, access)

    async def logout(self) -> str:
        """Revoke (best effort), delete the state file. Returns: what happened, for people."""
        await self._ensure_loaded()
        state = self._state
        if state is None:
            return "No Steam sign-in was stored; nothing to do."
        revoked = "nothing to revoke (pasted webapi_token)"
        if state.refresh_token and state.access_token:
            try:
                async with self._auth() as auth:
                    await auth.revoke(state.access_token, state.refresh_token)
                revoked = "Steam revoked the sign-in"
            except UpstreamError as exc:
                revoked = (f"Steam did not confirm the revoke ({exc}); remove the bot's device "
                           "under Steam > Account > Steam Guard > authorized devices")
        async with self._lock:
            await blocking.run_sync("files", _unlink, self.path)
            self._state = None
        log.info("steam sign-in forgotten [steamid:%d]", state.steamid)
        return f"Signed out SteamID64 {state.steamid}: {revoked}; the stored sign-in is deleted."

    # ---- renewal ---------------------------------------------------------------------

    async def renew(self, *, force: bool = False) -> bool:
        """Renew the access token if due (or `force`). Serialised.

        Returns: True when a new access token was stored.
        Raises: SignInNeeded (a person must sign in; admin told once per streak),
            UpstreamError (transient; state keeps last_error).
        """
        await self._ensure_loaded()
        seen = self._state.access_token if self._state else None
        async with self._lock:
            state = self._state
            if state is None or state.refresh_token is None:
                return False
            if state.access_token != seen and not state.needs_signin:
                return False          # someone renewed while we waited
            left = (state.access_exp - self.now()).total_seconds() if state.access_exp else 0
            if state.needs_signin or (not force and left > RENEW_BEFORE_S):
                if state.needs_signin:
                    raise SignInNeeded(state.last_error or "Steam refused the renewal")
                return False
            try:
                async with self._auth() as auth:
                    access = await auth.finalize_login(state.refresh_token, state.steamid)
            except SignInRefused as exc:
                await self._mark_needed(state, str(exc))
                raise SignInNeeded(str(exc)) from None
            except UpstreamError as exc:
                await self._save(dataclasses.replace(state, last_error=str(exc)))
                raise
            await self._save(dataclasses.replace(
                state, access_token=access.value, access_exp=access.expires_at,
                last_renewal=self.now(), last_error=None, needs_signin=False,
                needs_signin_reported=False))
            await self.tokens.set(access.value)
        log.info("steam access token renewed [steamid:%d expires:%s]", access.steamid,
                 f"{access.expires_at:%Y-%m-%d %H:%M}")
        return True

    async def _mark_needed(self, state: SignInState, error: str) -> None:
        first = not state.needs_signin_reported
        await self._save(dataclasses.replace(state, needs_signin=True, last_error=error,
                                             needs_signin_reported=True))
        log.error("steam sign-in needs a person [steamid:%d cause:%s]", state.steamid, error)
        if first and self.report is not None:
            await self.report(f"Steam refused to renew the sign-in of SteamID64 "
                              f"{state.steamid} ({error}). Family commands answer from cached "
                              f"data until {SIGNIN_HOW}.")

    async def ensure_fresh(self) -> None:
        """Before a family call: renew an expired (or nearly expired) access token first.

        Raises: SignInNeeded when a person must sign in and the token is no longer valid;
            UpstreamError when a needed renewal failed transiently.
        """
        await self._ensure_loaded()
        state = self._state
        if state is None or state.refresh_token is None or state.access_exp is None:
            return
        left = (state.access_exp - self.now()).total_seconds()
        if left > PRE_CALL_MARGIN_S:
            return
        if state.needs_signin:
            await self.load()  # the CLI may have signed in meanwhile
            if self._state is not None and not self._state.needs_signin:
                return await self.ensure_fresh()
            raise SignInNeeded(state.last_error or "Steam refused the renewal")
        await self.renew(force=True)

    async def after_unauthorized(self) -> bool:
        """A family call got 401: renew once. Returns: True if the caller should retry once.

        Raises: SignInNeeded (renewal refused), UpstreamError (transient).
        """
        await self._ensure_loaded()
        if self._state is None or self._state.refresh_token is None:
            return False
        return await self.renew(force=True) or True

    async def run_job(self) -> None:
        """The "steam_token_renewal" job: reload, renew when due, send expiry reminders.

        Raises: UpstreamError (transient renewal failure: the scheduler backs off).
            SignInNeeded is not raised: the admin was told once already.
        """
        await self.load()
        state = self._state
        if state is None:
            return
        held = self.tokens.peek()
        if (state.access_token and state.access_exp and state.access_exp > self.now()
                and (held is None or held.value != state.access_token)):
            with contextlib.suppress(TokenExpired):  # signed in by the CLI meanwhile
                await self.tokens.set(state.access_token)
        if state.refresh_exp is not None:
            await self._warn_refresh_expiry(state)
        try:
            await self.renew()
        except SignInNeeded:
            pass

    async def _warn_refresh_expiry(self, state: SignInState) -> None:
        days_left = (state.refresh_exp - self.now()).total_seconds() / 86400  # type: ignore[operator]
        due = [d for d in WARN_DAYS if days_left <= d and d not in state.warned_days]
        if not due:
            return
        await self._save(dataclasses.replace(state, warned_days=tuple(
            sorted({*state.warned_days, *due}, reverse=True))))
        if self.report is not None:
            n = int(max(days_left, 0))
            await self.report(f"The Steam sign-in of SteamID64 {state.steamid} ends in {n} "
                              f"day{'' if n == 1 else 's'} ({state.refresh_exp:%Y-%m-%d} UTC). "
                              f"Please sign in again before then: DM me `/admin_steam_login` "
                              "(or run `familybot-trio steam login`) and scan the new QR code.")

    def status_lines(self) -> list[str]:
        """Human status (no token text): account, expiries, last renewal, last error."""
        s = self._state
        if s is None:
            return ["Not signed in to Steam. DM me `/admin_steam_login` or run "
                    "`familybot-trio steam login`."]
        now = self.now()

        def when(t: datetime | None) -> str:
            if t is None:
                return "n/a"
            h = (t - now).total_seconds() / 3600
            rel = f"in {h:.1f} h" if h >= 0 else f"{-h:.1f} h ago"
            return f"{t:%Y-%m-%d %H:%M} UTC ({rel})"

        lines = [f"Signed in as SteamID64 {s.steamid}"
                 + (f" ({s.account_name})" if s.account_name else "") + f" via {s.route}, "
                 f"since {s.signed_in_at:%Y-%m-%d %H:%M} UTC.",
                 f"Access token expires {when(s.access_exp)}.",
                 f"Refresh token expires {when(s.refresh_exp)}." if s.refresh_exp else
                 "No refresh token: the access token is not renewed automatically.",
                 f"Last renewal: {when(s.last_renewal)}.",
                 f"Last error: {s.last_error or 'none'}."]
        if s.needs_signin:
            lines.append(f"SIGN-IN NEEDED: {SIGNIN_HOW}.")
        return lines


__all__ = ["PRE_CALL_MARGIN_S", "RENEW_BEFORE_S", "RENEW_JOB_S", "SignIn", "SignInNeeded",
           "SignInState", "parse_refresh_cookie", "parse_webapi_token"]
