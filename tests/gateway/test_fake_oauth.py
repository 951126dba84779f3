"""FakeDiscord's OAuth2 endpoints refuse what Discord refuses (authorization code + PKCE)."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qsl, urlsplit

import httpx
import trio

from gateway.testing import APPLICATION_ID, FakeDiscord

REDIRECT = "http://127.0.0.1:9/auth/callback"
USER = 1_300_000_000_000_000_555


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def _code(client: httpx.AsyncClient, base: str, verifier: str = "v" * 50) -> str:
    form = {"client_id": str(APPLICATION_ID), "redirect_uri": REDIRECT, "response_type": "code",
            "scope": "identify", "state": "s1", "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256", "user_id": str(USER), "action": "authorize"}
    page = await client.get(f"{base}/oauth2/authorize", params={
        k: v for k, v in form.items() if k not in ("user_id", "action")})
    assert page.status_code == 200 and "Authorize" in page.text
    back = await client.post(f"{base}/oauth2/authorize", data=form)
    assert back.status_code == 302
    q = dict(parse_qsl(urlsplit(back.headers["location"]).query))
    assert q["state"] == "s1"
    return q["code"]


async def test_the_token_endpoint_is_strict(nursery: trio.Nursery) -> None:
    fake = await nursery.start(FakeDiscord().serve)
    fake.oauth.redirect_uris.add(REDIRECT)
    fake.oauth.add_user(USER, "someone")
    base = fake.rest_url.removesuffix("/api/v10")
    token_url = f"{fake.rest_url}/oauth2/token"
    auth = (str(APPLICATION_ID), fake.oauth.client_secret)
    async with httpx.AsyncClient(verify=False, timeout=30) as client:
        with trio.fail_after(20):
            bad_redirect = await client.get(f"{base}/oauth2/authorize", params={
                "client_id": str(APPLICATION_ID), "redirect_uri": "http://evil.example/cb",
                "response_type": "code", "scope": "identify"})
            bad_scope = await client.get(f"{base}/oauth2/authorize", params={
                "client_id": str(APPLICATION_ID), "redirect_uri": REDIRECT,
                "response_type": "code", "scope": "identify admin"})
            code = await _code(client, base)
            body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                    "code_verifier": "v" * 50}
            wrong_secret = await client.post(token_url, data=body, auth=(auth[0], "nope"))
            as_json = await client.post(token_url, json=body, auth=auth)
            wrong_verifier = await client.post(token_url, auth=auth,
                                               data={**body, "code_verifier": "w" * 50})
            code = await _code(client, base)
            body["code"] = code
            no_verifier = await client.post(token_url, auth=auth, data={
                k: v for k, v in body.items() if k != "code_verifier"})
            code = await _code(client, base)
            body["code"] = code
            ok = await client.post(token_url, data=body, auth=auth)
            reused = await client.post(token_url, data=body, auth=auth)
            access = ok.json()["access_token"]
            me = await client.get(f"{fake.rest_url}/users/@me",
                                  headers={"authorization": f"Bearer {access}"})
            me_bad = await client.get(f"{fake.rest_url}/users/@me",
                                      headers={"authorization": "Bearer not-a-token"})
    assert bad_redirect.status_code == 400 and "location" not in bad_redirect.headers
    assert bad_scope.status_code == 302 and "error=invalid_scope" in bad_scope.headers["location"]
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    assert wrong_verifier.json()["error"] == "invalid_grant"
    assert no_verifier.json()["error"] == "invalid_grant"
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert ok.json()["scope"] == "identify" and ok.json()["expires_in"] == 604_800
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert me.status_code == 200 and me.json()["id"] == str(USER)
    assert me_bad.status_code == 401
