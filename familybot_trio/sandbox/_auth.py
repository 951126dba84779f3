"""Fake Steam sign-in: QR login, web renewal and revoke, with knobs (steam-auth.md 3, 5.2, 8.4).

Routes (hooked into the sandbox's one server, counter names "steam_auth.<name>"):

  POST /IAuthenticationService/BeginAuthSessionViaQR/v1   input_json -> client_id, challenge_url,
                                                           request_id, interval, version
  POST /IAuthenticationService/PollAuthSessionStatus/v1   client_id, request_id -> {} / scanned /
                                                           new_challenge_url / tokens; x-eresult
  POST /IAuthenticationService/RevokeToken/v1             access_token, token, revoke_action
  POST /steam-auth/jwt/finalizelogin                      multipart nonce (refresh token) ->
                                                           transfer_info or {"error": EResult}
  POST /steam-auth/{store,community}/login/settoken       multipart nonce, auth, steamID ->
                                                           Set-Cookie steamLoginSecure

Tokens are locally built JWTs with the claims of section 1.2 (unsigned, like the sandbox's
access tokens); access tokens are registered with the sandbox, so the family endpoints
accept them until they expire or are revoked.

Knobs (`auth = fake_auth(sandbox)`): `interval_s` (poll interval handed out), `auto` (what
the next QR does by itself: "pending", "approve", "deny", "expire", "rotate"), `scan()`, `approve()`, `deny()`, `expire()`,
`rotate()` on the latest QR; `fail_renewal(kind, n)` with kind in RENEWAL_FAULTS;
`revoke_all()`; `advance(seconds)` moves the sandbox clock (token expiry).
"""

from __future__ import annotations

import base64
import email.parser
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox  # what _server meets

ACCESS_TTL_S: Final = 24 * 3600 + 240       # measured ~24 h 04 min on web renewals (1.3)
REFRESH_TTL_S: Final = 200 * 86400          # ~200 days (1.3)
#: renewal fault -> (HTTP status, finalizelogin "error" EResult or None)
RENEWAL_FAULTS: Final[dict[str, tuple[int, int | None]]] = {
    "access_denied": (200, 15), "revoked": (200, 26), "expired": (200, 27),
    "busy": (200, 20), "http_401": (401, None), "http_500": (500, None),
    "no_cookie": (200, None),
}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def build_jwt(claims: dict[str, Any]) -> str:
    """An unsigned Steam-shaped JWT (EdDSA header, random signature bytes)."""
    return ".".join((_b64url(b'{"typ":"JWT","alg":"EdDSA"}'),
                     _b64url(json.dumps(claims).encode()), _b64url(secrets.token_bytes(64))))


@dataclass
class QrSession:
    """One fake QR login; `state`: pending, scanned, approved, denied, expired."""

    client_id: str
    request_id: str
    challenge_url: str
    state: str = "pending"
    rotate: bool = False
    steamid: int | None = None


@dataclass
class AuthFake:
    """Sign-in state of one sandbox (see the module docstring for knobs)."""

    sb: Sandbox
    auto: str = "pending"
    interval_s: float = 5.0  # the poll interval Steam asks for (tests lower it)
    sessions: list[QrSession] = field(default_factory=list)
    refresh: dict[str, dict[str, Any]] = field(default_factory=dict)  # token -> claims
    revoked: set[str] = field(default_factory=set)
    faults: list[list[Any]] = field(default_factory=list)  # [kind, remaining]
    nonces: dict[str, str] = field(default_factory=dict)   # transfer nonce -> refresh token
    issued_access: list[str] = field(default_factory=list)

    # ---- tokens ----------------------------------------------------------------------

    def mint_refresh(self, steamid: int | None = None, ttl_s: float = REFRESH_TTL_S) -> str:
        """A WebBrowser refresh token (aud web, renew, derive) the fake will renew from."""
        now = int(self.sb.now_s())
        sub = steamid or int(self.sb.family.members[0].steamid)
        claims = {"iss": "steam", "sub": str(sub), "aud": ["web", "renew", "derive"],
                  "exp": now + int(ttl_s), "nbf": now - 60, "iat": now,
                  "jti": secrets.token_hex(8).upper(), "oat": now, "per": 1,
                  "ip_subject": "127.0.0.1", "ip_confirmer": "127.0.0.1"}
        token = build_jwt(claims)
        self.refresh[token] = claims
        return token

    def mint_access(self, refresh_token: str, aud: str = "web:store") -> str:
        """An access token derived from `refresh_token`, accepted by the family endpoints."""
        parent = self.refresh[refresh_token]
        now = int(self.sb.now_s())
        claims = {"iss": f"r:{parent['jti']}", "sub": parent["sub"], "aud": [aud],
                  "exp": now + ACCESS_TTL_S, "nbf": now - 60, "iat": now,
                  "jti": secrets.token_hex(8).upper(), "oat": parent["oat"],
                  "rt_exp": parent["exp"], "per": 0, "ip_subject": "127.0.0.1",
                  "ip_confirmer": "127.0.0.1"}
        token = build_jwt(claims)
        self.sb._tokens[token] = claims["exp"]  # the family endpoints accept it
        self.sb.access_token = token
        self.issued_access.append(token)
        return token

    # ---- knobs -----------------------------------------------------------------------

    @property
    def latest(self) -> QrSession:
        """The most recent QR session. Raises: RuntimeError when none was started."""
        if not self.sessions:
            raise RuntimeError("no QR login was started yet")
        return self.sessions[-1]

    def scan(self) -> None:
        """The member scanned the latest QR (not yet approved)."""
        self.latest.state = "scanned"

    def approve(self, steamid: int | None = None) -> None:
        """The member approved the latest QR (default: sandbox member 1)."""
        self.latest.state, self.latest.steamid = "approved", steamid

    def deny(self) -> None:
        """The member denied the latest QR (next poll: EResult 9)."""
        self.latest.state = "denied"

    def expire(self) -> None:
        """The latest QR expires (next poll: EResult 27)."""
        self.latest.state = "expired"

    def rotate(self) -> None:
        """Steam rotates the latest QR's challenge URL on the next poll."""
        self.latest.rotate = True

    def fail_renewal(self, kind: str, n: int = 1_000_000) -> None:
        """Answer the next `n` finalizelogin/settoken calls with fault `kind` (RENEWAL_FAULTS)."""
        if kind not in RENEWAL_FAULTS:
            raise ValueError(f"unknown renewal fault {kind!r}; known: {sorted(RENEWAL_FAULTS)}")
        self.faults.append([kind, n])

    def clear_renewal_faults(self) -> None:
        """Drop pending renewal faults."""
        self.faults.clear()

    def revoke_all(self) -> None:
        """Revoke every refresh token and access token issued so far (like Steam Guard's
        "deauthorize all devices")."""
        self.revoked.update(self.refresh)
        for token in self.issued_access:
            self.sb.expire_access_token(token)

    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock forward (tokens expire by it)."""
        self.sb._time_offset_s += seconds

    def _fault(self) -> str | None:
        for rule in self.faults:
            if rule[1] > 0:
                rule[1] -= 1
                return str(rule[0])
        return None


def fake_auth(sb: Sandbox) -> AuthFake:
    """The sandbox's sign-in fake (created on first use)."""
    fake = sb.__dict__.get("_auth_fake")
    if fake is None:
        fake = sb.__dict__["_auth_fake"] = AuthFake(sb)
    return fake


async def _form(req: Request) -> dict[str, str]:
    """Fields of a urlencoded or multipart body (no python-multipart needed)."""
    body = await req.body()
    ctype = req.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        msg = email.parser.BytesParser().parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + body)
        out = {}
        for part in msg.get_payload() if msg.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            if name:
                out[str(name)] = part.get_payload(decode=True).decode()
        return out
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def _eresult(sb: Sandbox, eresult: int, obj: Any = None) -> Response:
    resp = sb.json({"response": obj or {}})
    resp.headers["x-eresult"] = str(eresult)
    return resp


async def begin_qr(sb: Sandbox, req: Request) -> Response:
    """BeginAuthSessionViaQR: needs input_json with platform_type 2 (else EResult 8)."""
    fake = fake_auth(sb)
    try:
        message = json.loads((await _form(req))["input_json"])
        platform = int(message["device_details"]["platform_type"])
    except (KeyError, TypeError, ValueError):
        return _eresult(sb, 8)
    if platform not in (1, 2, 3):
        return _eresult(sb, 8)
    client_id = str(6097734395127281917 + len(fake.sessions))
    session = QrSession(client_id, base64.b64encode(secrets.token_bytes(16)).decode(),
                        f"https://s.team/q/1/{client_id}")
    fake.sessions.append(session)
    if fake.auto in ("approve", "deny", "expire", "scan", "rotate"):
        {"approve": fake.approve, "deny": fake.deny, "expire": fake.expire,
         "scan": fake.scan, "rotate": fake.rotate}[fake.auto]()
    return _eresult(sb, 1, {"client_id": client_id, "challenge_url": session.challenge_url,
                            "request_id": session.request_id, "interval": fake.interval_s,
                            "allowed_confirmations": [{"confirmation_type": 4}], "version": 1})


async def poll(sb: Sandbox, req: Request) -> Response:
    """PollAuthSessionStatus (state table of steam-auth.md 3.3)."""
    fake, form = fake_auth(sb), await _form(req)
    session = next((s for s in fake.sessions if s.client_id == form.get("client_id")
                    and s.request_id == form.get("request_id")), None)
    if session is None or session.state == "denied":
        return _eresult(sb, 9)
    if session.state == "expired":
        return _eresult(sb, 27)
    if session.rotate:
        session.rotate = False
        session.client_id = str(int(session.client_id) + 1000)
        session.challenge_url = f"https://s.team/q/1/{session.client_id}"
        return _eresult(sb, 1, {"new_client_id": session.client_id,
                                "new_challenge_url": session.challenge_url})
    if session.state == "scanned":
        return _eresult(sb, 1, {"had_remote_interaction": True})
    if session.state == "approved":
        refresh = fake.mint_refresh(session.steamid)
        session.state = "done"
        return _eresult(sb, 1, {"refresh_token": refresh,
                                "access_token": fake.mint_access(refresh, aud="web"),
                                "had_remote_interaction": True, "account_name": "sandbox_user"})
    if session.state == "done":
        return _eresult(sb, 9)
    return _eresult(sb, 1)


async def revoke(sb: Sandbox, req: Request) -> Response:
    """RevokeToken: needs a valid access_token (else 401) and a known refresh `token`."""
    fake, form = fake_auth(sb), await _form(req)
    if sb._token_steamid(form.get("access_token", "")) is None:
        return sb.html_error(401)
    token = form.get("token", "")
    if token not in fake.refresh:
        return _eresult(sb, 15)
    fake.revoked.add(token)
    return _eresult(sb, 1)


async def finalizelogin(sb: Sandbox, req: Request) -> Response:
    """jwt/finalizelogin: nonce = refresh token -> transfer_info, or {"error": EResult}."""
    fake, form = fake_auth(sb), await _form(req)
    fault = fake._fault()
    if fault is not None and fault != "no_cookie":
        status, eresult = RENEWAL_FAULTS[fault]
        if status != 200:
            return sb.html_error(401) if status == 401 else Response(b"oops", status)
        return sb.json({"error": eresult})
    refresh = form.get("nonce", "")
    claims = fake.refresh.get(refresh)
    if claims is None or refresh in fake.revoked or claims["exp"] <= sb.now_s():
        return sb.json({"error": 15})   # unknown/forged/revoked: AccessDenied (LDX)
    nonce = secrets.token_hex(16)
    fake.nonces[nonce] = refresh if fault is None else ""
    root = sb.urls["steam_auth"]
    return sb.json({"steamID": claims["sub"], "redir": "https://steamcommunity.com/",
                    "primary_domain": "steamcommunity.com",
                    "transfer_info": [
                        {"url": f"{root}/community/login/settoken",
                         "params": {"nonce": nonce, "auth": secrets.token_hex(16)}},
                        {"url": f"{root}/store/login/settoken",
                         "params": {"nonce": nonce, "auth": secrets.token_hex(16)}}]})


async def settoken(sb: Sandbox, req: Request) -> Response:
    """login/settoken: sets steamLoginSecure=<SteamID64>%7C%7C<access JWT> (store audience)."""
    fake, form = fake_auth(sb), await _form(req)
    refresh = fake.nonces.pop(form.get("nonce", ""), None)
    resp = sb.json({"result": 1})
    if refresh:  # "" = the no_cookie fault: 200 without a cookie
        claims = fake.refresh[refresh]
        if form.get("steamID") != claims["sub"]:
            return sb.json({"result": 8})
        access = fake.mint_access(refresh, aud="web:store")
        resp.set_cookie("steamLoginSecure", quote(f"{claims['sub']}||{access}", safe=""),
                        httponly=True, secure=False, path="/")
    return resp


API_ROUTES: Final = {"/BeginAuthSessionViaQR/v1": ("BeginAuthSessionViaQR", begin_qr),
                     "/PollAuthSessionStatus/v1": ("PollAuthSessionStatus", poll),
                     "/RevokeToken/v1": ("RevokeToken", revoke)}
LOGIN_ROUTES: Final = {"/jwt/finalizelogin": ("finalizelogin", finalizelogin),
                       "/store/login/settoken": ("settoken", settoken),
                       "/community/login/settoken": ("settoken", settoken)}
