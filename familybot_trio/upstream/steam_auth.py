"""Steam sign-in over plain HTTPS: QR login (WebBrowser platform), web renewal, revoke.

Route B of steam-auth.md: `IAuthenticationService/BeginAuthSessionViaQR` with
`platform_type=2`, `PollAuthSessionStatus` until the member approves in the Steam Mobile
App, then the *web* renewal path (section 5.2): `login.steampowered.com/jwt/finalizelogin`
with the refresh token as `nonce`, followed by the store's `login/settoken` transfer, whose
`steamLoginSecure` cookie carries a fresh store access token (the same token as the store's
`webapi_token`). A WebBrowser refresh token cannot use `GenerateAccessTokenForApp`
(AccessDenied), so that call is deliberately absent.

Leak-proofing (section 8.3): every token, `request_id` and nonce travels in a POST body,
never in a URL, so httpx's INFO line "HTTP Request: POST <url>" carries none; redirects are
never followed (a body is never replayed elsewhere); errors carry the HTTP status and
EResult, never a URL or a body. Records hide secret fields from repr.

Error mapping (raised from here, drawn under familybot_trio.errors):

    UpstreamError
    ├── QrDenied            the member denied the QR, or Steam forgot the session (EResult 9)
    ├── QrExpired           the QR session expired (EResult 27 or 2)
    └── Unauthorized
        └── SignInRefused   renewal refused: the sign-in needs a person (15, 26, 27, 401/403)

Network failures, 5xx, 429 and EResult 20/84/87 are transient (UpstreamError after the
retries of `_http.call_with_retry`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Final
from urllib.parse import unquote

import httpx
import trio

from familybot_trio import blocking
from familybot_trio.errors import Unauthorized, UpstreamError
from familybot_trio.upstream._http import RetryPolicy, Transient, call_with_retry, error_for_status
from familybot_trio.upstream._steam_auth_records import (  # the records, re-exported
    E_EXPIRED, E_FAIL, E_FILE_NOT_FOUND, E_OK, TRANSIENT, UPSTREAM, Jwt, PollResult, QrChallenge,
    QrDenied, QrExpired, SignInRefused, decode_jwt)
from familybot_trio.upstream.models import SteamID64
from gateway.tls import tls_context

log = logging.getLogger("familybot_trio.upstream.steam_auth")

PLATFORM_WEB_BROWSER: Final = 2
#: A fixed "Chrome on Linux" UA, sent as the device name too: LDX switched to exactly this
#: after its lock-outs (steam-auth.md 3.2; that the UA matters is anecdotal).
BROWSER_UA: Final = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/131.0.0.0 Safari/537.36")
WEB_ORIGIN: Final = "https://steamcommunity.com"
TRANSFER_ATTEMPTS: Final = 3
FINALIZE_REDIR: Final = "https://steamcommunity.com/login/home/?goto="

def _eresult(resp: httpx.Response) -> int | None:
    raw = resp.headers.get("x-eresult")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _body(resp: httpx.Response, what: str) -> Mapping[str, object]:
    try:
        body = resp.json()
    except ValueError:
        raise UpstreamError(f"Steam answered {what} with something that is not JSON "
                            f"(HTTP {resp.status_code}); try again later",
                            upstream=UPSTREAM, status=resp.status_code) from None
    if not isinstance(body, dict):
        raise UpstreamError(f"Steam answered {what} with an unexpected shape; try again later",
                            upstream=UPSTREAM, status=resp.status_code)
    return body


class SteamAuth:
    """IAuthenticationService and the web renewal path over one httpx client.

    Args: client: an AsyncClient used for this flow only (its cookie jar is cleared after
        each renewal); api_base: Web API base ("https://api.steampowered.com");
        login_base: "https://login.steampowered.com"; policy: retries for renewal calls.
    Use `SteamAuth.open(...)` to get one with its own client. Nothing connects here.
    """

    def __init__(self, client: httpx.AsyncClient, *, api_base: str, login_base: str,
                 policy: RetryPolicy | None = None) -> None:
        self._client = client
        self._api = api_base.rstrip("/")
        self._login = login_base.rstrip("/")
        self._policy = policy or RetryPolicy(attempts=3, timeout_s=20.0)

    def __repr__(self) -> str:
        return f"SteamAuth(api_base={self._api!r}, login_base={self._login!r})"

    @classmethod
    @asynccontextmanager
    async def open(cls, *, api_base: str, login_base: str) -> AsyncIterator[SteamAuth]:
        """A SteamAuth with its own client and cookie jar (created in a thread: the TLS
        context loads files), closed on exit. Cancellation: the client closes either way."""
        client = await blocking.run_sync(
            "files", lambda: httpx.AsyncClient(timeout=30.0, follow_redirects=False,
                                            verify=tls_context()))
        try:
            yield cls(client, api_base=api_base, login_base=login_base)
        finally:
            await client.aclose()

    async def _post(self, url: str, *, what: str, data: Mapping[str, str] | None = None,
                    files: Mapping[str, tuple[None, str]] | None = None,
                    headers: Mapping[str, str] | None = None) -> httpx.Response:
        """One POST attempt (no retry): limiter, status mapping. Raises Transient/UpstreamError."""
        hdrs = {"User-Agent": BROWSER_UA, "Accept": "application/json, text/plain, */*",
                **(headers or {})}
        async with blocking.limiter(UPSTREAM):
            try:
                resp = await self._client.post(url, data=data, files=files, headers=hdrs)
            except httpx.TransportError as exc:
                raise Transient(UpstreamError(
                    f"cannot reach Steam for {what} ({type(exc).__name__}); check the network",
                    upstream=UPSTREAM)) from None
        err = error_for_status(UPSTREAM, resp.status_code, resp.headers.get("retry-after"),
                               what=what, policy=self._policy,
                               auth_hint="the sign-in must be renewed")
        if isinstance(err, Unauthorized):
            raise SignInRefused(f"Steam refused {what} (HTTP {resp.status_code}); sign in "
                                "again with a new QR code", status=resp.status_code)
        if err is not None:
            raise err
        return resp

    def _api_url(self, method: str) -> str:
        return f"{self._api}/IAuthenticationService/{method}/v1/"

    async def begin_qr(self, device_name: str = BROWSER_UA) -> QrChallenge:
        """Start a QR login for the WebBrowser platform.

        Returns: QrChallenge. Raises: UpstreamError (network, 5xx, non-OK EResult).
        Upstream: POST IAuthenticationService/BeginAuthSessionViaQR/v1 (input_json).
        """
        import json

        message = {"device_friendly_name": device_name, "platform_type": PLATFORM_WEB_BROWSER,
                   "website_id": "Community",
                   "device_details": {"device_friendly_name": device_name,
                                      "platform_type": PLATFORM_WEB_BROWSER}}
        what = "BeginAuthSessionViaQR"

        async def attempt() -> QrChallenge:
            resp = await self._post(self._api_url(what), what=what,
                                    data={"input_json": json.dumps(message)},
                                    headers={"Origin": WEB_ORIGIN, "Referer": WEB_ORIGIN + "/"})
            eresult = _eresult(resp)
            if eresult not in (None, E_OK):
                error = UpstreamError(f"Steam refused to start a QR login (EResult {eresult}); "
                                      "try again in a few minutes", upstream=UPSTREAM)
                raise Transient(error) if eresult in TRANSIENT else error
            r = _body(resp, what).get("response")
            try:
                return QrChallenge(client_id=str(r["client_id"]),  # type: ignore[index]
                                   challenge_url=str(r["challenge_url"]),  # type: ignore[index]
                                   request_id=str(r["request_id"]),  # type: ignore[index]
                                   interval_s=float(r.get("interval", 5.0)))  # type: ignore[union-attr]
            except (KeyError, TypeError, ValueError, AttributeError):
                raise UpstreamError("Steam's QR login answer lacks client_id/challenge_url/"
                                    "request_id; the API may have changed", upstream=UPSTREAM
                                    ) from None

        return await call_with_retry(UPSTREAM, self._policy, attempt, what=what)

    async def poll(self, challenge: QrChallenge) -> PollResult:
        """Poll the QR session once (no retry: the caller polls again after `interval_s`).

        Returns: PollResult (a "rotated" result carries the new challenge).
        Raises: QrDenied (EResult 9), QrExpired (27, 2), UpstreamError (network, other).
        Upstream: POST IAuthenticationService/PollAuthSessionStatus/v1 (named fields).
        """
        what = "PollAuthSessionStatus"
        try:
            resp = await self._post(self._api_url(what), what=what,
                                    data={"client_id": challenge.client_id,
                                          "request_id": challenge.request_id})
        except Transient as exc:
            raise exc.error from None
        eresult = _eresult(resp)
        if eresult == E_FILE_NOT_FOUND:
            raise QrDenied("the QR login was denied in the Steam Mobile App (or Steam ended "
                           "the session); ask for a new QR code to try again",
                           upstream=UPSTREAM)
        if eresult in (E_EXPIRED, E_FAIL):
            raise QrExpired(f"the QR code expired before it was approved (EResult {eresult}); "
                            "ask for a new QR code", upstream=UPSTREAM)
        if eresult not in (None, E_OK):
            raise UpstreamError(f"Steam answered the QR poll with EResult {eresult}; "
                                "try again later", upstream=UPSTREAM)
        r = _body(resp, what).get("response") or {}
        if not isinstance(r, dict):
            raise UpstreamError("Steam's QR poll answer has an unexpected shape",
                                upstream=UPSTREAM)
        if r.get("refresh_token"):
            return PollResult("approved", challenge, refresh_token=str(r["refresh_token"]),
                              access_token=str(r["access_token"]) if r.get("access_token")
                              else None, account_name=r.get("account_name"))
        if r.get("new_challenge_url"):
            new = QrChallenge(client_id=str(r.get("new_client_id") or challenge.client_id),
                              challenge_url=str(r["new_challenge_url"]),
                              request_id=challenge.request_id, interval_s=challenge.interval_s)
            return PollResult("rotated", new)
        return PollResult("scanned" if r.get("had_remote_interaction") else "pending",
                          challenge)

    async def finalize_login(self, refresh_token: str, steamid: SteamID64) -> Jwt:
        """Renew by the web path: finalizelogin, then the store's settoken transfer.

        Args: refresh_token: a WebBrowser refresh JWT; steamid: its `sub`.
        Returns: the store access token (from `steamLoginSecure`), decoded.
        Raises: SignInRefused (error 15/26/27, HTTP 401/403: sign in again),
            UpstreamError (network, 5xx, unexpected answer; retried first).
        Cancellation: safe; the cookie jar is cleared either way.
        Upstream: POST login.steampowered.com/jwt/finalizelogin (multipart: nonce, sessionid,
            redir), then POST <transfer url> (nonce, auth, steamID) -> Set-Cookie.
        """
        try:
            info = await self._finalize(refresh_token)
            transfers = info.get("transfer_info")
            if not isinstance(transfers, list) or not transfers:
                raise UpstreamError("Steam's finalizelogin answer has no transfer_info; the "
                                    "API may have changed", upstream=UPSTREAM)
            store = next((t for t in transfers if isinstance(t, dict)
                          and "store" in str(t.get("url", ""))), transfers[0])
            cookie = await self._set_token(store, steamid)
        finally:
            self._client.cookies.clear()  # no session cookie outlives this flow
        _, _, token_text = unquote(cookie).partition("||")
        try:
            token = decode_jwt(token_text)
        except ValueError:
            raise UpstreamError("the store's steamLoginSecure cookie holds no token; the API "
                                "may have changed", upstream=UPSTREAM) from None
        if token.steamid != steamid:
            raise UpstreamError("the renewed token belongs to another account; sign in again",
                                upstream=UPSTREAM)
        return token

    async def _finalize(self, refresh_token: str) -> Mapping[str, object]:
        what = "finalizelogin"

        async def attempt() -> Mapping[str, object]:
            resp = await self._post(
                f"{self._login}/jwt/finalizelogin", what=what,
                files={"nonce": (None, refresh_token), "sessionid": (None, secrets.token_hex(12)),
                       "redir": (None, FINALIZE_REDIR)},
                headers={"Origin": WEB_ORIGIN, "Referer": WEB_ORIGIN + "/"})
            body = _body(resp, what)
            error = body.get("error")
            if error not in (None, E_OK, 0):
                code = int(error) if isinstance(error, int) else None
                if code in TRANSIENT:
                    raise Transient(UpstreamError(f"Steam is busy renewing (EResult {code})",
                                                  upstream=UPSTREAM))
                raise SignInRefused(f"Steam refused to renew the sign-in (EResult {error}); "
                                    "sign in again with a new QR code", eresult=code)
            return body

        return await call_with_retry(UPSTREAM, self._policy, attempt, what=what)

    async def _set_token(self, transfer: dict, steamid: SteamID64) -> str:
        what = "settoken transfer"
        params = transfer.get("params") if isinstance(transfer.get("params"), dict) else {}

        async def attempt() -> str:
            resp = await self._post(
                str(transfer.get("url", "")), what=what,
                files={"nonce": (None, str(params.get("nonce", ""))),
                       "auth": (None, str(params.get("auth", ""))),
                       "steamID": (None, str(steamid))})
            value = resp.cookies.get("steamLoginSecure")
            if not value:
                raise UpstreamError("the store's settoken answer set no steamLoginSecure "
                                    "cookie; the API may have changed", upstream=UPSTREAM)
            return value

        # Part of the same renewal as finalizelogin: no second bucket token; retried like
        # node-steam-session retries transfers (section 5.2), with a short backoff.
        for attempt_no in range(TRANSFER_ATTEMPTS):
            try:
                with trio.fail_after(self._policy.timeout_s):
                    return await attempt()
            except trio.TooSlowError:
                error = UpstreamError(f"Steam did not answer the {what} in time",
                                      upstream=UPSTREAM)
            except Transient as exc:
                error = exc.error
            log.warning("settoken transfer failed, retrying [attempt:%d cause:%s]",
                        attempt_no + 1, error)
            await trio.sleep(2.0 ** attempt_no)
        raise error

    async def revoke(self, access_token: str, refresh_token: str) -> None:
        """Revoke the refresh token permanently (best effort by the caller).

        Raises: SignInRefused (the access token was refused), UpstreamError.
        Upstream: POST IAuthenticationService/RevokeToken/v1 (access_token, token,
            revoke_action=1 in the body, never the URL).
        """
        what = "RevokeToken"

        async def attempt() -> None:
            resp = await self._post(self._api_url(what), what=what,
                                    data={"access_token": access_token, "token": refresh_token,
                                          "revoke_action": "1"})
            eresult = _eresult(resp)
            if eresult not in (None, E_OK):
                raise UpstreamError(f"Steam did not revoke the sign-in (EResult {eresult})",
                                    upstream=UPSTREAM)

        await call_with_retry(UPSTREAM, self._policy, attempt, what=what)
