"""Upstream clients for the one-shot CLI commands (`check`, `populate`), built like the bot's.

The running bot builds its clients inside `App.run`; the CLI commands need the same clients
without a gateway, handlers or schedules, so they open them here in an async context
manager that closes everything on exit (even when cancelled).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import requests
import trio

from familybot_trio import blocking
from familybot_trio.app import StoreCatalogCache, utcnow
from familybot_trio.config import Config
from familybot_trio.store import Store
from familybot_trio.upstream.catalog import Catalog
from familybot_trio.upstream.itad import Itad
from familybot_trio.upstream.steam_webapi import SteamWebAPI
from familybot_trio.upstream.tokens import AccessTokenStore
from gateway.rest import Rest
from gateway.tls import tls_context

#: Longest time a CLI command waits for its clients to close on exit (s).
CLOSE_TIMEOUT_S = 5.0


@dataclass(slots=True)
class Clients:
    """Open clients. Attributes: steam, itad (None without a key), catalog (None without a
    store), tokens (loaded lazily by the caller), rest (Discord)."""

    steam: SteamWebAPI
    itad: Itad | None
    catalog: Catalog | None
    tokens: AccessTokenStore
    rest: Rest


@asynccontextmanager
async def open_clients(config: Config, store: Store | None = None) -> AsyncIterator[Clients]:
    """Open the upstream and Discord clients from `config` (nothing is requested yet).

    Args: config: validated Config (empty secrets are passed on as empty: the caller
        decides whether that is an error); store: backs the catalog cache (None: no catalog).
    Yields: Clients. Cancellation: the HTTP clients and the requests session are closed on
        exit within CLOSE_TIMEOUT_S, also when cancelled.
    """
    up, secrets = config.upstreams, config.secrets
    blocking.configure(config.limits)
    http = await blocking.run_sync("files", lambda: httpx.AsyncClient(timeout=30.0, verify=tls_context()))
    session = requests.Session()
    try:
        scheme, _, host = up["steam_webapi"].partition("://")
        tokens = AccessTokenStore(config.data_dir)
        steam = SteamWebAPI(session, api_key=secrets.steam_api_key, tokens=tokens,
                            apihost=host.rstrip("/"), https=scheme == "https")
        itad = Itad(http, secrets.itad_api_key, up["itad"]) if secrets.itad_api_key else None
        catalog = Catalog(steam, itad, StoreCatalogCache(store, utcnow)) if store else None
        rest = Rest(token=secrets.discord_token, client=http, base_url=up["discord_rest"])
        yield Clients(steam, itad, catalog, tokens, rest)
    finally:
        with trio.move_on_after(CLOSE_TIMEOUT_S, shield=True):
            await http.aclose()
            await blocking.run_sync("steam_webapi", session.close)


def now_utc() -> dt.datetime:
    """Aware UTC now."""
    return utcnow()
