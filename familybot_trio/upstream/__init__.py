"""Upstream clients: Steam Web API (the `steam` package, in threads), storefront, ITAD,
Epic and r/FreeGameFindings (httpx), the access token store and the cached catalog.

Every client receives what it works with (an httpx.AsyncClient or one requests.Session,
base URLs, keys) and connects nothing in its constructor. Every call returns typed records
(models.py) or raises a familybot_trio.errors.UpstreamError subclass. Rate buckets, retries
and error mapping live in `_http.py`.
"""

from familybot_trio.upstream.catalog import Catalog, CatalogCache, MemoryCache
from familybot_trio.upstream.freegames import Epic, FreeGameFindings
from familybot_trio.upstream.itad import Itad
from familybot_trio.upstream.steam_webapi import SteamWebAPI
from familybot_trio.upstream.storefront import Storefront
from familybot_trio.upstream.tokens import AccessToken, AccessTokenStore, decode_access_token

__all__ = [
    "AccessToken",
    "AccessTokenStore",
    "Catalog",
    "CatalogCache",
    "Epic",
    "FreeGameFindings",
    "Itad",
    "MemoryCache",
    "SteamWebAPI",
    "Storefront",
    "decode_access_token",
]
