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
The state record, its file and the pasted-text checks live in `_signin_state.py`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import trio

from familybot_trio import blocking
from familybot_trio._secretfile import read_or_none, write_atomic
from familybot_trio._signin_state import (ROUTE_COOKIE, ROUTE_QR, ROUTE_TOKEN, STATE_FILE_NAME,
                                          SignInState, _unlink,
                                          parse_refresh_cookie, parse_webapi_token, qr_text)
from familybot_trio.errors import TokenExpired, UpstreamError
from familybot_trio.upstream.models import SteamID64
from familybot_trio.upstream.steam_auth import (Jwt, QrChallenge, QrDenied, QrExpired,
                                                SignInRefused, SteamAuth, decode_jwt)
from familybot_trio.upstream.tokens import AccessTokenStore

log = logging.getLogger("familybot_trio.signin")

RENEW_JOB_S: Final = 30 * 60          # section 10: every 30-60 min
RENEW_BEFORE_S: Final = 2 * 3600      # renew when less than 2 h are left
PRE_CALL_MARGIN_S: Final = 5 * 60     # ASF's 5 min before a family call
QR_TIMEOUT_S: Final = 5 * 60          # section 3.3: stop after 3-5 min
MIN_POLL_S: Final = 1.0               # floor for Steam's `interval` (5 s in practice)
WARN_DAYS: Final = (14, 2)            # refresh-token expiry reminders, once each
SIGNIN_HOW: Final = ("an admin signs in again: DM me `/admin_steam_login` (or run "
                     "`familybot-trio steam login`) and scan the QR code with the Steam "
                     "Mobile App")
#: SIGNIN_HOW in the terminal's voice (`familybot-trio steam status`), not the bot's chat voice.
SIGNIN_HOW_TERMINAL: Final = ("an admin signs in again: run `familybot-trio steam login` (or "
                              "DM the bot /admin_steam_login) and scan the QR code with the "
                              "Steam Mobile App")


def utcnow() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


class SignInNeeded(TokenExpired):
    """The Steam sign-in must be renewed by a person; the message says how (no secrets)."""

    def __init__(self, reason: str) -> None:
        UpstreamError.__init__(self, f"The Steam sign-in must be renewed ({reason}): "
                               f"{SIGNIN_HOW}.", upstream="steam_auth", status=401)
        self.expired_at = None


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
        text = await blocking.run_sync("files", read_or_none, self.path)
        self._state = SignInState.from_json(text) if text and text.strip() else None
        self._loaded = True
        return self._state

    async def _ensure_loaded(self) -> None:
        if not self._loaded:
            await self.load()

    async def _save(self, state: SignInState) -> SignInState:
        """Persist (0600, atomic). Cancellation: a started write finishes."""
        await blocking.run_sync("files", write_atomic, self.path, state.to_json())
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
            if state.access_exp is None or state.access_exp <= self.now():
                with contextlib.suppress(UpstreamError):  # RevokeToken needs a live token
                    await self.renew(force=True)
                state = self._state or state
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

    def status_lines(self, *, terminal: bool = False) -> list[str]:
        """Human status (no token text): account, expiries, last renewal, last error.

        Args: terminal: True for the CLI (say "run `familybot-trio steam login`", not "DM me").
        """
        s = self._state
        if s is None:
            return (["Not signed in to Steam. Run `familybot-trio steam login` or DM the bot "
                     "/admin_steam_login."] if terminal else
                    ["Not signed in to Steam. DM me `/admin_steam_login` or run "
                     "`familybot-trio steam login`."])
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
            lines.append(f"SIGN-IN NEEDED: {SIGNIN_HOW_TERMINAL if terminal else SIGNIN_HOW}.")
        return lines


__all__ = ["PRE_CALL_MARGIN_S", "QR_TIMEOUT_S", "RENEW_BEFORE_S", "RENEW_JOB_S", "SignIn",
           "SignInNeeded", "SignInState", "parse_refresh_cookie", "parse_webapi_token",
           "qr_text"]
