"""Sign-in flows over plain HTTP (httpx), shared by the dashboard tests."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import httpx

from familybot_trio.sandbox.world import World


def hidden_fields(html: str) -> dict[str, str]:
    """name -> value of every hidden input of a page (the fake's consent form, our forms)."""
    return {m.group(1): m.group(2) for m in
            re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def oauth_sign_in(world: World, client: httpx.AsyncClient, user_id: int, *,
                        next_path: str = "/") -> httpx.Response:
    """Start at /auth/discord, approve on FakeDiscord's consent screen as `user_id`, and
    return the dashboard's answer to the callback (303 + cookie, or a refusal page)."""
    start = await client.get("/auth/discord", params={"next": next_path})
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    consent = await client.get(authorize)
    assert consent.status_code == 200, consent.text
    form = {**hidden_fields(consent.text), "user_id": str(user_id), "action": "authorize"}
    parts = urlsplit(authorize)
    back = await client.post(f"{parts.scheme}://{parts.netloc}/oauth2/authorize", data=form)
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    assert callback.startswith(world.app.dashboard.redirect_url)
    return await client.get(callback)


async def link_sign_in(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """Open a one-time link and press its button; the dashboard's answer to the POST."""
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return await client.post(urlsplit(url).path, data={"csrf": csrf_of(page.text)})


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))
