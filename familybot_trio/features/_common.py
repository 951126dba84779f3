"""Helpers every feature may use (features never import each other; they import this).

Prices are formatted by `features/_money.py` (Babel, the family's country and language):
never a hard-coded "$". The currency comes from the price record when known, else from the
country.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from steam.enums import EType
from steam.steamid import SteamID

from familybot_trio import links
from familybot_trio.errors import NotFound, UpstreamError
from familybot_trio.features._money import Money, currency_for, locale_for  # noqa: F401 (re-exported)
from familybot_trio.store import MemberRecord, SteamID64, WishlistItem
from familybot_trio.upstream.models import AppId, GameDetails, GamePrice
from gateway._options import quoted
from gateway.commands import ArgumentError
from gateway.messages import escape_text

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features")

#: Prices older than this are shown with their age ("price from 7 h ago").
STALE_PRICE_S: Final = 6 * 3600
CAPSULE_URL: Final = "https://cdn.akamai.steamstatic.com/steam/apps/{appid}/header.jpg"


def format_money(app: App, cents: int | None, currency: str | None = None) -> str:
    """`cents` as money in the family's locale ("$19.99", "19,99 €"): `_money.Money.amount`.

    Args: cents: minor units (None -> "not sold in <country>"); currency: ISO 4217,
        default the country's. New code: use `_money.Money.for_app(app)` directly.
    """
    money = Money.for_app(app)
    return money.not_sold() if cents is None else money.amount(cents, currency)


def store_url(appid: int) -> str:
    """The Steam store page of an app (familybot_trio.links builds every store link)."""
    return links.steam_app(appid).url


def capsule_url(appid: int) -> str:
    """The header capsule image of an app."""
    return CAPSULE_URL.format(appid=appid)


def game_link(name: str, appid: int) -> str:
    """A markdown link `[name](store url)` with the name escaped."""
    return links.markdown_link(escape_text(name), store_url(appid))


async def member_names(app: App) -> dict[int, str]:
    """SteamID64 -> display name of every known member (config seeds, /link adds)."""
    return {int(m.steamid): m.name for m in await app.store.members.all()}


def join_names(names: Iterable[str]) -> str:
    """"A", "A and B", "A, B and C", each markdown-escaped."""
    items = [escape_text(n) for n in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def age_note(fetched_at: dt.datetime | None, now: dt.datetime) -> str:
    """"" when fresh, else " (price from 7 h ago)" for prices older than STALE_PRICE_S."""
    if fetched_at is None:
        return ""
    age_s = (now - fetched_at).total_seconds()
    if age_s <= STALE_PRICE_S:
        return ""
    return f" (price from {age_s / 3600:.0f} h ago)"


def warm_up(language: str, country: str) -> None:
    """Load Babel's locale data (a file read of tens of ms). Call once in a worker thread."""
    Money(language, country).warm_up()


# ---- Steam account references (used by members, profile, common_games) -----------------
# Appended by the coop/common_games/members/profile engineer.

_PROFILE_URL = re.compile(r"(?:https?://)?(?:www\.)?steamcommunity\.com/(profiles|id)/"
                          r"([^/?#\s]+)/?(?:[?#]\S*)?", re.IGNORECASE)
_VANITY = re.compile(r"[A-Za-z0-9_-]{2,32}")
_DISCORD_REF = re.compile(r"<@!?(\d{15,21})>|(\d{15,21})")
STEAM_REF_HINT: Final = ("give a SteamID64 (17 digits, 7656119…), a steamcommunity.com/"
                         "profiles/ or /id/ URL, or a custom URL name")


def parse_steam_ref(text: str) -> SteamID64 | str:
    """Parse what a user typed for a Steam account, without any request.

    Args: text: a SteamID64, STEAM_0:Y:Z, [U:1:N], .../profiles/<SteamID64> URL,
        .../id/<name> URL or a bare custom URL (vanity) name.
    Returns: the SteamID64 (validated with steam.steamid.SteamID: an individual account),
        or the vanity name (str) still to resolve with ResolveVanityURL.
    Raises: ValueError saying what is wrong (callers turn it into an ArgumentError).
    """
    raw = text.strip().strip("<>")
    url = _PROFILE_URL.fullmatch(raw)
    if url:
        kind, value = url.group(1).lower(), url.group(2)
        if kind == "id":
            return value
        raw = value
    if raw.isdigit() or raw.upper().startswith("STEAM_") or raw.startswith("[U:"):
        if raw.isdigit() and len(raw) != 17:
            raise ValueError(f"{quoted(raw)} is not a SteamID64 (they have 17 digits)")
        sid = SteamID(raw)
        if not sid.is_valid() or sid.type != EType.Individual:
            raise ValueError(f"{quoted(raw)} is not a valid personal Steam account id")
        return SteamID64(int(sid.as_64))
    if _VANITY.fullmatch(raw):
        return raw
    raise ValueError(f"{quoted(raw)} is not a Steam account; {STEAM_REF_HINT}")


def _is_steamid64(text: str) -> bool:
    try:
        return isinstance(parse_steam_ref(text), int)
    except ValueError:
        return False


async def resolve_steam_ref(app: App, text: str, option: str) -> SteamID64:
    """`parse_steam_ref`, then ResolveVanityURL for custom URL names.

    Returns: SteamID64. Raises: ArgumentError naming `option` (unparseable, no such custom
        URL); UpstreamError when Steam fails. Upstream: ISteamUser/ResolveVanityURL/v1.
    """
    try:
        ref = parse_steam_ref(text)
    except ValueError as exc:
        raise ArgumentError(option, str(exc)) from None
    if isinstance(ref, int):
        return ref
    try:
        return await app.steam.resolve_vanity_url(ref)
    except NotFound:
        raise ArgumentError(option, f"no Steam profile has the custom URL name {quoted(ref)}; "
                            f"{STEAM_REF_HINT}") from None


async def resolve_member_ref(app: App, text: str, option: str
                             ) -> tuple[SteamID64, MemberRecord | None]:
    """A member name, Discord mention/id, or any Steam reference -> (SteamID64, member).

    Order: a Discord mention or id linked to a member (a bare number that is no linked
    Discord id but a valid SteamID64 is a SteamID64); a member name (case-insensitive);
    then `resolve_steam_ref`. Returns: the SteamID64 and the member record (None when the
    account is not in the family). Raises: ArgumentError naming `option` (an unlinked
    Discord user, an unknown name); UpstreamError.
    """
    text = text.strip()
    members = await app.store.members.all()
    discord = _DISCORD_REF.fullmatch(text)
    if discord:
        did = int(discord.group(1) or discord.group(2))
        linked = next((m for m in members if m.discord_id == did), None)
        if linked is not None:
            return linked.steamid, linked
        bare_steamid = discord.group(2) is not None and _is_steamid64(discord.group(2))
        if not bare_steamid:  # a mention, or a number that can only be a Discord id
            raise ArgumentError(option, f"Discord user {did} is not linked to a family "
                                "member; they can "
                                "run `/link steam:<SteamID64 or profile URL>`")
    named = next((m for m in members if m.name.casefold() == text.casefold()), None)
    if named is not None:
        return named.steamid, named
    sid = await resolve_steam_ref(app, text, option)
    return sid, next((m for m in members if m.steamid == sid), None)


# ---- family library and catalog in chunks (wishlist, deals; any feature may use them) ----

_log = logging.getLogger("familybot_trio.features")
#: Store cache namespace and lifetime of the live family library (appids as JSON).
LIBRARY_CACHE_NS: Final = "features.family_library"
LIBRARY_TTL_S: Final = 3600.0
#: Apps per catalog call (see catalog_chunked).
CATALOG_CHUNK: Final = 100


async def family_library(app: App) -> set[AppId]:
    """Appids in the family's shared library: live (cached LIBRARY_TTL_S), else the stored copy.

    The live answer is kept in the store's expiring cache, so a burst of commands and jobs
    costs one GetSharedLibraryApps per hour; a game bought since shows up within that hour.
    Raises: UpstreamError when Steam fails and nothing is stored (we cannot tell what the
        family owns, so a list would be wrong); StoreError.
    Upstream: IFamilyGroupsService/GetSharedLibraryApps/v1 (access token).
    """
    now = app.now()
    hit = await app.store.cache.get_many(LIBRARY_CACHE_NS, ["appids"], now)
    if "appids" in hit:
        return {AppId(int(a)) for a in json.loads(hit["appids"])}
    try:
        apps = await app.steam.get_shared_library_apps(app.config.family_group_id,
                                                       include_own=True)
    except UpstreamError as exc:
        stored = await app.store.library.apps()
        if not stored:
            raise
        _log.warning("family library fetch failed, using the stored library [apps:%d cause:%s]",
                     len(stored), exc)
        return {AppId(int(a.appid)) for a in stored}
    appids = sorted({int(a.appid) for a in apps})
    await app.store.cache.put_many(LIBRARY_CACHE_NS, {"appids": json.dumps(appids)},
                                   ttl_s=LIBRARY_TTL_S, now=now)
    return {AppId(a) for a in appids}


async def catalog_chunked(app: App, appids: Sequence[AppId]
                          ) -> tuple[dict[AppId, GameDetails], dict[AppId, GamePrice]]:
    """`catalog.details_and_prices` in the family's country, CATALOG_CHUNK apps per call.

    The catalog cache (app.StoreCatalogCache) encodes records with JSON on the event loop:
    200+ at once held the loop for over 50 ms on a 2-core host. 100 is one GetItems call;
    ITAD is then asked per 100 ids instead of 200 (one more request per 200 apps).
    Raises: UpstreamError, StoreError.
    """
    details: dict[AppId, GameDetails] = {}
    prices: dict[AppId, GamePrice] = {}
    ids = list(dict.fromkeys(appids))
    for start in range(0, len(ids), CATALOG_CHUNK):
        d, p = await app.catalog.details_and_prices(ids[start:start + CATALOG_CHUNK],
                                                    country=app.config.country)
        details.update(d)
        prices.update(p)
    return details, prices


async def refresh_member_wishlist(app: App, member: MemberRecord) -> bool:
    """Fetch one member's wishlist and store it behind the suspicious-empty guard.

    Shared by the wishlist and deals features (a private or failing wishlist keeps its
    cached copy and the failure is recorded).

    Returns: True when the stored copy was replaced; False when it was kept (private,
        failed, or the guard refused a suspicious answer).
    Raises: StoreError (upstream errors are recorded, not raised).
    Upstream: IWishlistService/GetWishlist/v1.
    """
    now = app.now()
    try:
        wishlist = await app.steam.get_wishlist(member.steamid)
    except UpstreamError as exc:
        log.warning("wishlist fetch failed, keeping the cached copy [member:%s cause:%s]",
                    member.steamid, exc)
        await app.store.state.record_fetch_failure("wishlist", str(member.steamid), str(exc), now)
        return False
    if not wishlist.is_visible:
        log.info("wishlist is private, keeping the cached copy [member:%s]", member.steamid)
        await app.store.state.record_fetch_failure(
            "wishlist", str(member.steamid),
            "the wishlist is not public (Steam answered {}); set Steam privacy > Game details "
            "to Public", now)
        return False
    items = [WishlistItem(i.appid, i.priority, i.date_added) for i in wishlist.items]
    result = await app.store.wishlist.replace(member.steamid, items, now)
    return result.applied


def natural_key(name: str) -> list[object]:
    """Sort key that orders "Game 2" before "Game 10" (digits compare as numbers)."""
    return [int(part) if part.isdigit() else part.casefold()
            for part in re.split(r"(\d+)", name)]
