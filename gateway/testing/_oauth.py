"""FakeOAuth: Discord's OAuth2 authorization-code flow for tests and the demo, strict.

Mounted on FakeRest (same host and port): the browser side `GET/POST /oauth2/authorize`
(the consent screen), the server side `POST /api/v10/oauth2/token` and
`GET /api/v10/users/@me` with a Bearer access token. Rules follow Discord's OAuth2 docs
(Topics > OAuth2: Authorization Code Grant, PKCE) and RFC 6749 / RFC 7636:

- authorize: `client_id` must be the application; `response_type=code`; `redirect_uri`
  must equal one registered in the "developer portal" (`redirect_uris`); `scope` holds
  only known scopes; `code_challenge_method` is S256 when a challenge is sent. A bad
  client_id or redirect_uri shows an error page and never redirects (RFC 6749 4.1.2.1).
- the consent screen's Authorize button issues a one-time code (valid CODE_TTL_S) for the
  chosen user; Cancel redirects with `error=access_denied`. `state` is passed back as is.
- token: form-encoded only; client authentication by HTTP Basic or client_id/client_secret
  in the body (401 `invalid_client`); `grant_type=authorization_code`; the code must be
  unused, unexpired, issued to this client with this redirect_uri; with PKCE the
  `code_verifier` must hash to the challenge (400 `invalid_grant` otherwise). A code works
  once. Answers `{access_token, token_type: "Bearer", expires_in, refresh_token, scope}`.
- users/@me: `Authorization: Bearer <access token>` with the `identify` scope, else 401.

Time is trio time, so expiry follows the test's clock.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlencode

import trio
from starlette.responses import HTMLResponse, RedirectResponse, Response

#: A code must be exchanged within this many seconds (Discord's codes are short-lived).
CODE_TTL_S: Final = 600.0
#: Access tokens live 7 days (Discord's expires_in is 604800).
ACCESS_TOKEN_TTL_S: Final = 604_800
KNOWN_SCOPES: Final = frozenset({"identify", "email", "guilds", "guilds.join", "connections",
                                 "guilds.members.read", "bot", "applications.commands"})


@dataclass(slots=True)
class _Grant:
    client_id: str
    redirect_uri: str
    scope: str
    user_id: int
    challenge: str | None
    expires_at: float


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(json.dumps({"error": error, "error_description": description}), status,
                    media_type="application/json")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
                        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>", status)


class FakeOAuth:
    """The OAuth2 side of FakeDiscord.

    Args: client_id: the application id (a string of digits); client_secret.
    Knobs: redirect_uris (set of exact URLs allowed), users (id -> username) the consent
        screen offers; add_user() adds one.
    Records: issued_tokens (access tokens handed out), exchanges (token requests answered 200).
    """

    def __init__(self, client_id: int, client_secret: str = "fake-oauth-client-secret") -> None:
        self.client_id = str(client_id)
        self.client_secret = client_secret
        self.redirect_uris: set[str] = set()
        self.users: dict[int, str] = {}
        self.issued_tokens: list[str] = []
        self.exchanges = 0
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, tuple[int, str, float]] = {}

    def add_user(self, user_id: int, username: str) -> None:
        """Offer this Discord user on the consent screen."""
        self.users[int(user_id)] = username

    def respond(self, method: str, path: str, headers: Any, raw: bytes,
                query: dict[str, str]) -> Response | None:
        """FakeRest's hook: an answer for OAuth2 paths, None for everything else."""
        bare = path.removeprefix("/api")
        if path == "/oauth2/authorize" and method == "GET":
            return self._authorize_page(query)
        if path == "/oauth2/authorize" and method == "POST":
            return self._authorize_submit({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        if bare in ("/oauth2/token", "/v10/oauth2/token") and method == "POST":
            return self._token(headers, raw)
        if path == "/users/@me" and method == "GET" and \
                str(headers.get("authorization", "")).startswith("Bearer "):
            return self._me(str(headers["authorization"]).removeprefix("Bearer "))
        return None

    # ---- browser side ----------------------------------------------------------------------

    def _check_request(self, q: dict[str, str]) -> str | None:
        if q.get("client_id") != self.client_id:
            return "Unknown application: the client_id does not belong to any application."
        if q.get("redirect_uri") not in self.redirect_uris:
            return "Invalid OAuth2 redirect_uri: it is not one of the application's redirects."
        return None

    def _redirect_error(self, q: dict[str, str], error: str, description: str) -> Response:
        params = {"error": error, "error_description": description}
        if "state" in q:
            params["state"] = q["state"]
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(params)}", 302)

    def _authorize_page(self, q: dict[str, str]) -> Response:
        problem = self._check_request(q)
        if problem:
            return _page("Invalid OAuth2 request", f"<p>{html.escape(problem)}</p>", 400)
        if q.get("response_type") != "code":
            return self._redirect_error(q, "unsupported_response_type", "response_type=code")
        scopes = set(q.get("scope", "").split())
        if not scopes or not scopes <= KNOWN_SCOPES:
            return self._redirect_error(q, "invalid_scope", "The requested scope is invalid.")
        if "code_challenge" in q and q.get("code_challenge_method") != "S256":
            return self._redirect_error(q, "invalid_request", "code_challenge_method=S256")
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in q.items())
        users = "".join(f'<option value="{uid}">{html.escape(name)}</option>'
                        for uid, name in self.users.items())
        return _page("Authorize access to your account", f"""
<form method="post" action="/oauth2/authorize">{hidden}
<p>An application wants to: <b>{html.escape(' '.join(sorted(scopes)))}</b></p>
<label>Signed in to Discord as <select id="user" name="user_id">{users}</select></label>
<button id="authorize" name="action" value="authorize">Authorize</button>
<button id="cancel" name="action" value="cancel">Cancel</button></form>""")

    def _authorize_submit(self, form: dict[str, str]) -> Response:
        problem = self._check_request(form)
        if problem:
            return _page("Invalid OAuth2 request", f"<p>{html.escape(problem)}</p>", 400)
        if form.get("action") != "authorize":
            return self._redirect_error(form, "access_denied", "The resource owner or "
                                        "authorization server denied the request")
        user_id = int(form.get("user_id") or 0)
        if user_id not in self.users:
            return _page("Choose an account", "<p>Pick a Discord account.</p>", 400)
        code = secrets.token_urlsafe(20)
        self._codes[code] = _Grant(form["client_id"], form["redirect_uri"],
                                   form.get("scope", ""), user_id, form.get("code_challenge"),
                                   trio.current_time() + CODE_TTL_S)
        params = {"code": code}
        if "state" in form:
            params["state"] = form["state"]
        return RedirectResponse(f"{form['redirect_uri']}?{urlencode(params)}", 302)

    # ---- server side -----------------------------------------------------------------------

    def _client_ok(self, headers: Any, form: dict[str, str]) -> bool:
        auth = str(headers.get("authorization", ""))
        if auth.startswith("Basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                return False
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        return (secrets.compare_digest(cid, self.client_id)
                and secrets.compare_digest(secret, self.client_secret))

    def _token(self, headers: Any, raw: bytes) -> Response:
        ctype = str(headers.get("content-type", ""))
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request", "the body must be form-encoded")
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if not self._client_ok(headers, form):
            return _oauth_error(401, "invalid_client", "Invalid client credentials")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type")
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.expires_at <= trio.current_time() or \
                grant.client_id != self.client_id:
            return _oauth_error(400, "invalid_grant", 'Invalid "code" in request.')
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(400, "invalid_grant", 'Invalid "redirect_uri" in request.')
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if not verifier or digest.rstrip(b"=").decode() != grant.challenge:
                return _oauth_error(400, "invalid_grant", 'Invalid "code_verifier" in request.')
        access = secrets.token_urlsafe(24)
        self._tokens[access] = (grant.user_id, grant.scope,
                                trio.current_time() + ACCESS_TOKEN_TTL_S)
        self.issued_tokens.append(access)
        self.exchanges += 1
        return Response(json.dumps({"access_token": access, "token_type": "Bearer",
                                    "expires_in": ACCESS_TOKEN_TTL_S,
                                    "refresh_token": secrets.token_urlsafe(24),
                                    "scope": grant.scope}), 200, media_type="application/json")

    def _me(self, access: str) -> Response:
        found = self._tokens.get(access)
        if found is None or found[2] <= trio.current_time() or \
                "identify" not in found[1].split():
            return Response(json.dumps({"message": "401: Unauthorized", "code": 0}), 401,
                            media_type="application/json")
        user_id = found[0]
        name = self.users[user_id]
        return Response(json.dumps({"id": str(user_id), "username": name, "global_name": name,
                                    "discriminator": "0", "avatar": None}), 200,
                        media_type="application/json")
