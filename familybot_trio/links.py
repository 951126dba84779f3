"""Store links: one builder per store and offer type, accepting only that store's hosts.

Every link the bot posts is rebuilt here from parsed, validated parts: an appid (digits), a
slug matched against the store's slug alphabet, or path segments percent-encoded so only
RFC 3986 unreserved characters and `%XX` remain. Query strings (tracking: `utm_*`, `ref`,
`filter`) and fragments are dropped, userinfo and ports are refused. So no character of a
feed's raw text reaches a message as part of a URL, and a URL can never contain `)`, `<`,
`>`, `[`, `]` or whitespace: in `[text](url)` nothing can end the link early or start a
second one (`https://store.steampowered.com/app/620/x)[Claim it here](https://evil...`
becomes `https://store.steampowered.com/app/620/`).

`STORES` is the host table: store name -> hosts, with where each host comes from.
`identity` is the canonical store identity used for de-duplication: store + product id
("steam:app/620", "epic:<slug>", "gog:game/<slug>"), else the normalised URL without
locale segments, query and trailing slash ("url:<host>/<path>"); a home page or a generic
giveaway page has none (None: callers fall back to store + title).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote, urlsplit

__all__ = ["STORES", "StoreLink", "StoreRule", "epic_page", "from_url", "gog_game",
           "markdown_link", "steam_app", "steam_profile"]


@dataclass(frozen=True, slots=True)
class StoreRule:
    """One store's link policy.

    Attributes: hosts (exact host names, lower case); subdomain_of (hosts whose direct
    subdomains are the store's too, e.g. itch.io creator pages); locale_segments (the store
    puts a locale first in its paths: "/en/game/x" on GOG); generic_paths (paths, after the
    locale, that are a home or giveaway landing page: never an identity); source (where the
    hosts come from).
    """

    hosts: tuple[str, ...]
    source: str
    subdomain_of: tuple[str, ...] = ()
    locale_segments: bool = False
    generic_paths: frozenset[str] = frozenset({""})


#: Store display name (as features show it) -> link policy.
STORES: Final[dict[str, StoreRule]] = {
    "Steam": StoreRule(
        ("store.steampowered.com",),
        "Valve's store (appdetails `steam_appid` pages store.steampowered.com/app/<appid>/); "
        "the recorded FGF feed (fixtures reddit/fgf_new_rss_2025-04-18.xml) links the same",
        generic_paths=frozenset({"", "freegames", "search", "specials"})),
    "Epic Games": StoreRule(
        ("store.epicgames.com", "www.epicgames.com"),
        "Epic's store (store.epicgames.com/p/<slug>, bundles /bundles/<slug>, as linked in the "
        "recorded FGF feed); www.epicgames.com/store/... is its older address, redirected",
        locale_segments=True, generic_paths=frozenset({"", "free-games", "browse", "store"})),
    "GOG": StoreRule(
        ("www.gog.com", "gog.com"),
        "GOG's store (www.gog.com/en/game/<slug>, as in the recorded FGF feed's Metro 2033 "
        "Redux post); giveaways run on the home page, so that page is generic",
        locale_segments=True, generic_paths=frozenset({"", "giveaway", "games", "partner"})),
    "Prime Gaming": StoreRule(
        ("gaming.amazon.com", "luna.amazon.com"),
        "Amazon's Prime Gaming claims (gaming.amazon.com, as in the recorded FGF feed's PSA "
        "posts) and luna.amazon.com, where Prime Gaming claims moved in 2025",
        generic_paths=frozenset({"", "home", "claims", "claims/home", "loot"})),
    "itch.io": StoreRule(
        ("itch.io",),
        "itch.io: games live on the creator's subdomain (<creator>.itch.io/<game>)",
        subdomain_of=("itch.io",), generic_paths=frozenset({"", "games", "games/on-sale"})),
    "IndieGala": StoreRule(
        ("freebies.indiegala.com", "www.indiegala.com"),
        "IndieGala freebies (freebies.indiegala.com/<game>, as in the recorded FGF feed)",
        generic_paths=frozenset({"", "freebies", "giveaways"})),
    "Ubisoft Connect": StoreRule(
        ("store.ubisoft.com", "register.ubisoft.com", "free.ubisoft.com"),
        "Ubisoft's store (store.ubisoft.com/<country>/...) and its giveaway registration pages",
        locale_segments=True, generic_paths=frozenset({"", "free-games"})),
    "EA app": StoreRule(
        ("www.ea.com",),
        "EA's store pages (www.ea.com/<locale>/games/...)",
        locale_segments=True, generic_paths=frozenset({"", "games", "ea-app"})),
}

_LOCALE: Final = re.compile(r"^[a-z]{2}(?:[-_][a-z]{2,4})?$", re.I)
_LABEL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_STEAM_PATH: Final = re.compile(r"^/(app|sub|bundle)/(\d{1,10})(?:/|$)")
_EPIC_SLUG: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,200}[a-z0-9])?$")
_GOG_SLUG: Final = re.compile(r"^[a-z0-9](?:[a-z0-9_]{0,200}[a-z0-9])?$")
_SAFE_URL: Final = re.compile(r"^https://[a-z0-9.-]+(?:/[A-Za-z0-9._~%/-]*)?$")
#: Epic's kinds of page: product pages and add-on pages under /p/, bundles under /bundles/.
EPIC_KINDS: Final = {"product": "p", "addon": "p", "bundle": "bundles"}


@dataclass(frozen=True, slots=True)
class StoreLink:
    """A link rebuilt from validated parts.

    Attributes: store (a STORES key); url (https, safe in markdown); identity (canonical
    store identity for de-duplication, None for a home or generic giveaway page).
    """

    store: str
    url: str
    identity: str | None


def steam_app(appid: int, kind: str = "app") -> StoreLink:
    """The Steam store page of an app (kind "app"), package ("sub") or bundle ("bundle").

    Raises: ValueError for a non-positive appid or another kind.
    """
    if kind not in ("app", "sub", "bundle") or int(appid) <= 0:
        raise ValueError(f"no Steam store page for {kind} {appid!r}")
    return StoreLink("Steam", f"https://store.steampowered.com/{kind}/{int(appid)}/",
                     f"steam:{kind}/{int(appid)}")


def epic_page(slug: str, kind: str = "product") -> StoreLink | None:
    """Epic's page for a product, add-on or bundle slug, or None when the slug is not one.

    Args: slug: Epic's page slug (`offerMappings[].pageSlug`, `catalogNs.mappings[]`,
        `productSlug` without "/home"); kind: "product", "addon" or "bundle".
    Returns: store.epicgames.com/p/<slug> or /bundles/<slug> (no locale segment: the store
        redirects to the visitor's locale, as the recorded FGF links show).
    """
    slug = slug.strip().lower().removesuffix("/home")
    if kind not in EPIC_KINDS or not _EPIC_SLUG.match(slug):
        return None
    section = EPIC_KINDS[kind]
    identity = f"epic:{slug}" if section == "p" else f"epic:{section}/{slug}"
    return StoreLink("Epic Games", f"https://store.epicgames.com/{section}/{slug}", identity)


def gog_game(slug: str) -> StoreLink | None:
    """GOG's game page for a slug (lower case, digits, "_"), or None."""
    slug = slug.strip().lower()
    if not _GOG_SLUG.match(slug):
        return None
    return StoreLink("GOG", f"https://www.gog.com/en/game/{slug}", f"gog:game/{slug}")


_PROFILE_PATH: Final = re.compile(r"^/(?:id/([A-Za-z0-9_-]{2,32})|profiles/(\d{17}))/?$")


def steam_profile(steamid64: int, profileurl: str = "") -> str:
    """A Steam Community profile link: the vanity form of `profileurl` when it is one
    (https://steamcommunity.com/id/<name>/ from GetPlayerSummaries), else /profiles/<id>/.

    Rebuilt from its parts like every other link; any other host or path is ignored.
    """
    try:
        parts = urlsplit(profileurl.strip())
        ok_host = (parts.hostname or "").lower() == "steamcommunity.com" and parts.port is None
    except ValueError:
        ok_host = False
    if ok_host and "@" not in parts.netloc and (m := _PROFILE_PATH.match(parts.path)):
        if m.group(1):
            return f"https://steamcommunity.com/id/{m.group(1)}/"
    return f"https://steamcommunity.com/profiles/{int(steamid64)}/"


def _host_ok(rule: StoreRule, host: str) -> bool:
    if host in rule.hosts:
        return True
    for parent in rule.subdomain_of:
        label = host.removesuffix("." + parent)
        if label != host and _LABEL.match(label):
            return True
    return False


def from_url(store: str, raw: str) -> StoreLink | None:
    """A feed's link rebuilt for `store`, or None when it is not on that store's hosts.

    Args: store: a STORES key (the store the feed item's tag names); raw: the item's link.
    Returns: StoreLink (product pages rebuilt from their id or slug, other pages from their
        percent-encoded path segments; no query, no fragment), or None for another host, a
        non-http(s) scheme, userinfo, a port, or an unknown store.
    """
    rule = STORES.get(store)
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if (rule is None or parts.scheme.lower() not in ("http", "https") or port is not None
            or "@" in parts.netloc or not _host_ok(rule, host)):
        return None
    if store == "Steam" and (m := _STEAM_PATH.match(parts.path)):
        return steam_app(int(m.group(2)), m.group(1))
    segments = [unquote(s) for s in parts.path.split("/") if s]
    bare = segments.copy()
    if store == "Epic Games" and bare[:1] == ["store"]:
        bare = bare[1:]                       # www.epicgames.com/store/en-US/p/<slug>
    if rule.locale_segments and bare and _LOCALE.match(bare[0]):
        bare = bare[1:]
    if store == "Epic Games" and len(bare) >= 2 and bare[0] in ("p", "bundles"):
        return epic_page(bare[1], "bundle" if bare[0] == "bundles" else "product")
    if store == "GOG" and len(bare) >= 2 and bare[0] == "game" and (link := gog_game(bare[1])):
        return link
    path = "/".join(quote(s, safe="") for s in segments)
    url = f"https://{host}/{path}" if path else f"https://{host}/"
    key = "/".join(quote(s.lower(), safe="") for s in bare)
    generic = key in rule.generic_paths
    return StoreLink(store, url, None if generic else f"url:{host.removeprefix('www.')}/{key}")


def markdown_link(text: str, url: str) -> str:
    """`[text](url)` for a url built here; text must already be escaped.

    The url is checked once more: only https, a host name and unreserved characters or
    `%XX` in the path, so no character of it (`)`, `<`, `>`, `[`, `]`, space) can end the
    link early (Discord's masked links end at the first `)`).
    Raises: ValueError for any other url (never for a StoreLink's url).
    """
    if not _SAFE_URL.match(url):
        raise ValueError(f"unsafe link for markdown: {url[:80]!r}")
    return f"[{text}]({url})"
