"""Fixtures for the dashboard: a running bot world with `[dashboard] enabled` on port 0."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trio

from familybot_trio.sandbox.world import DISCORD_IDS, World
from gateway.testing import APPLICATION_ID

ADMIN, MEMBER, OUTSIDER = DISCORD_IDS[0], DISCORD_IDS[1], 800_000_000_000_000_099
#: The OAuth2 client secret the fake and the bot share (a secret: scanned for in responses).
CLIENT_SECRET = "dashboard-oauth-client-secret-value"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


def dashboard_config(*, metrics_token: str | None = None, extra: str = "") -> str:
    lines = ["[dashboard]", "enabled = true", 'listen = "127.0.0.1:0"',
             f'client_id = "{APPLICATION_ID}"']
    if metrics_token:
        lines.append(f'metrics_token = "{metrics_token}"')
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def start_dashboard(tmp_path: Path, nursery: trio.Nursery) -> Callable[..., "trio.Awaitable[World]"]:
    """`world = await start_dashboard(...)`: a bot world whose dashboard is serving.

    Discord's side knows the dashboard's redirect URL and offers the admin, a member and an
    outsider on its consent screen.
    """

    async def start(*, metrics_token: str | None = None, features=("admin", "dashboard"),
                    dashboard_extra: str = "", **kw) -> World:
        with trio.fail_after(30):
            world = await nursery.start(functools.partial(
                World.start, tmp_path, features=list(features),
                extra_config=dashboard_config(metrics_token=metrics_token,
                                             extra=dashboard_extra),
                extra_env={"FAMILYBOT_DISCORD_CLIENT_SECRET": CLIENT_SECRET}, **kw))
        world.discord.oauth.client_secret = CLIENT_SECRET
        world.discord.oauth.redirect_uris.add(world.app.dashboard.redirect_url)
        for uid, name in ((ADMIN, "admin-user"), (MEMBER, "member-user"),
                          (OUTSIDER, "outsider-user")):
            world.discord.oauth.add_user(uid, name)
        return world

    return start


def secrets_of(world: World) -> list[str]:
    """Every secret a dashboard response must never contain."""
    return [s for s in (world.config.secrets.discord_token, world.config.secrets.steam_api_key,
                        world.config.secrets.itad_api_key, CLIENT_SECRET, METRICS_TOKEN,
                        world.sandbox.access_token, *world.discord.oauth.issued_tokens) if s]


def assert_no_secret(world: World, response: httpx.Response) -> None:
    """The suite's secret scan, applied to one dashboard response (body and headers)."""
    text = response.text + "\n".join(f"{k}: {v}" for k, v in response.headers.items()
                                     if k.lower() != "set-cookie")
    for secret in secrets_of(world):
        assert secret not in text, f"secret leaked in {response.request.url.path}"


async def open_client(world: World, **kw) -> httpx.AsyncClient:
    """An httpx client for the dashboard (built off the loop: it loads CA certificates)."""
    from familybot_trio import blocking

    return await blocking.run_sync("files", lambda: httpx.AsyncClient(
        base_url=world.app.dashboard.url, timeout=30.0, follow_redirects=False, **kw))
