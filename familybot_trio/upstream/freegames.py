"""Free-game sources: Epic's freeGamesPromotions and the r/FreeGameFindings feed.

Epic (store-site-backend-static.ak.epicgames.com/freeGamesPromotions) answers GraphQL-style:
`data.Catalog.searchStore.elements[]`, sometimes with `errors[]` beside valid data (parsed,
errors logged) and sometimes with `searchStore: null` (an UpstreamError). "Free now" means
price 0 and an active promo window with 0% price (`EpicOffer.is_free_now`). An element with
no real product page ("Mystery Game" slots: productSlug "[]", no mappings) is a
placeholder (`EpicOffer.is_placeholder`); what to announce is a feature's call.

Reddit: `/r/FreeGameFindings/new.rss` (Atom) or `/new.json` (Listing of t3). Titles follow
"[Store] (Game|DLC|Other) Name"; expired posts carry the "Expired" flair (JSON only).
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import unescape
from typing import Any, Final

import httpx

from familybot_trio import links
from familybot_trio.upstream._http import (
    RetryPolicy,
    Transient,
    call_with_retry,
    error_for_status,
    malformed,
    request_json,
)
from familybot_trio.upstream._steam_parse import guard
from familybot_trio.upstream.models import EpicOffer, FreeGamePost, PromoWindow

log = logging.getLogger("familybot_trio.upstream.freegames")

EPIC_BASE_URL: Final = "https://store-site-backend-static.ak.epicgames.com"
REDDIT_BASE_URL: Final = "https://www.reddit.com"
SUBREDDIT: Final = "FreeGameFindings"
USER_AGENT: Final = "familybot-trio/0.1 (self-hosted Steam family Discord bot)"
DEFAULT_POLICY: Final = RetryPolicy(attempts=3, base_s=2.0, no_retry_after_s=30.0,
                                    timeout_s=20.0)
_ATOM: Final = {"a": "http://www.w3.org/2005/Atom"}
_TITLE_RE: Final = re.compile(r"^\s*\[(?P<store>[^\]]+)\]\s*(?:\((?P<kind>[^)]+)\))?\s*(?P<name>.*)$")
_LINK_RE: Final = re.compile(r'<a href="([^"]+)">\[link\]</a>')


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _windows(groups: Any) -> tuple[PromoWindow, ...]:
    out = []
    for group in groups or ():
        for offer in group.get("promotionalOffers") or ():
            start, end = _iso(offer.get("startDate")), _iso(offer.get("endDate"))
            if start and end:
                pct = int((offer.get("discountSetting") or {}).get("discountPercentage", 100))
                out.append(PromoWindow(start, end, pct))
    return tuple(out)


#: offerType values whose page is an add-on page (their own /p/ page, not the base game's).
_ADDON_TYPES: Final = frozenset({"DLC", "ADD_ON", "ADDON", "UNLOCKABLE", "CONSUMABLE",
                                 "DIGITAL_EXTRA"})


def _page_kind(e: dict[str, Any]) -> str:
    """"bundle", "addon" or "product", from offerType and the category paths."""
    categories = {str(c.get("path", "")) for c in e.get("categories") or ()}
    offer_type = str(e.get("offerType", "")).upper()
    if offer_type == "BUNDLE" or categories & {"bundles", "bundles/games"}:
        return "bundle"
    if offer_type in _ADDON_TYPES or "addons" in categories:
        return "addon"
    return "product"


def _epic_link(e: dict[str, Any], kind: str) -> links.StoreLink | None:
    """The element's own page, read the way the store links it.

    An add-on's page is its own offerMappings entry (its catalogNs mapping is the base
    game's home, a different product); a product or bundle takes its productHome mapping,
    then catalogNs, then productSlug. `urlSlug` is never used: for many elements it is an
    internal id (hex) or "mystery-game-N", not a page. Returns None when no candidate is a
    real slug (Epic's placeholders carry productSlug "[]" and no mappings).
    """
    offer_maps = [m for m in e.get("offerMappings") or () if isinstance(m, dict)]
    ns_maps = [m for m in (e.get("catalogNs") or {}).get("mappings") or () if isinstance(m, dict)]
    if kind == "addon":
        candidates = [m.get("pageSlug") for m in offer_maps]
    else:
        homes = [m for m in offer_maps + ns_maps if m.get("pageType") == "productHome"]
        candidates = [m.get("pageSlug") for m in homes + offer_maps]
    candidates.append(e.get("productSlug"))
    for slug in candidates:
        if isinstance(slug, str) and (link := links.epic_page(slug, kind)) is not None:
            return link
    return None


@guard("freeGamesPromotions", "epic")
def parse_epic(body: Any) -> tuple[EpicOffer, ...]:
    """freeGamesPromotions body -> offers (all elements; filtering is the feature's).

    Each element is read from its offer data: price.totalPrice (discountPrice, originalPrice,
    currencyCode), promotions (current and upcoming windows with their discount), offerType
    and categories (which page kind), mappings (which page). Images never decide anything.
    Raises: UpstreamError when `searchStore` is missing (e.g. invalid country).
    """
    if not isinstance(body, dict):
        raise malformed("epic", "freeGamesPromotions", f"top level {type(body).__name__}")
    store = (((body.get("data") or {}).get("Catalog")) or {}).get("searchStore")
    if not store:
        msgs = "; ".join(str(e.get("message", "?"))[:80] for e in body.get("errors") or [])
        raise malformed("epic", "freeGamesPromotions", f"no catalog: {msgs or 'empty'}")
    for err in body.get("errors") or ():
        log.warning("epic answered with a partial error [message:%s]", str(err.get("message"))[:120])
    offers = []
    for e in store["elements"]:
        promos = e.get("promotions") or {}
        total = (e.get("price") or {}).get("totalPrice") or {}
        images = {k.get("type"): k.get("url") for k in e.get("keyImages") or ()}
        kind = _page_kind(e)
        link = _epic_link(e, kind)
        offers.append(EpicOffer(
            offer_id=str(e["id"]), namespace=str(e.get("namespace", "")),
            title=str(e.get("title", "")), offer_type=str(e.get("offerType", "")),
            description=str(e.get("description", "")),
            url=link.url if link else None,
            image_url=images.get("OfferImageWide") or images.get("DieselStoreFrontWide")
            or images.get("Thumbnail"),
            original_cents=int(total.get("originalPrice", 0)),
            discount_cents=int(total.get("discountPrice", total.get("originalPrice", 0))),
            currency=str(total.get("currencyCode", "")),
            current=_windows(promos.get("promotionalOffers")),
            upcoming=_windows(promos.get("upcomingPromotionalOffers")),
            page_kind=kind, identity=link.identity if link else None,
        ))
    return tuple(offers)


def _split_title(title: str) -> tuple[str, str, str]:
    m = _TITLE_RE.match(title)
    if not m:
        return "", "", title.strip()
    return m["store"].strip(), (m["kind"] or "").strip(), m["name"].strip()


@guard("FreeGameFindings RSS", "reddit")
def parse_reddit_atom(text: str) -> tuple[FreeGamePost, ...]:
    """The subreddit's Atom feed -> posts, newest first as served."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise malformed("reddit", "FreeGameFindings RSS", "not XML") from exc
    posts = []
    for entry in root.findall("a:entry", _ATOM):
        title = unescape(entry.findtext("a:title", "", _ATOM))
        link_el = entry.find("a:link", _ATOM)
        permalink = link_el.get("href", "") if link_el is not None else ""
        content = entry.findtext("a:content", "", _ATOM)
        links = _LINK_RE.findall(content)
        store, kind, name = _split_title(title)
        posts.append(FreeGamePost(
            post_id=entry.findtext("a:id", "", _ATOM).removeprefix("t3_"), title=title,
            store=store, kind=kind, name=name,
            url=unescape(links[0]) if links else permalink, permalink=permalink,
            published=_iso(entry.findtext("a:published", None, _ATOM)),
            is_psa=store.upper() == "PSA", is_expired=False,
        ))
    return tuple(posts)


@guard("FreeGameFindings JSON", "reddit")
def parse_reddit_listing(body: Any) -> tuple[FreeGamePost, ...]:
    """A Listing of t3 children -> posts (flair "Expired" sets is_expired)."""
    if not isinstance(body, dict) or body.get("kind") != "Listing":
        raise malformed("reddit", "FreeGameFindings JSON", "not a Listing")
    posts = []
    for child in body["data"]["children"]:
        d = child["data"]
        title = unescape(str(d["title"]))
        store, kind, name = _split_title(title)
        flair = d.get("link_flair_text")
        permalink = "https://www.reddit.com" + str(d.get("permalink", ""))
        posts.append(FreeGamePost(
            post_id=str(d["id"]), title=title, store=store, kind=kind, name=name,
            url=str(d.get("url") or permalink), permalink=permalink,
            published=datetime.fromtimestamp(float(d["created_utc"]), tz=UTC)
            if d.get("created_utc") else None,
            is_psa=store.upper() == "PSA" or bool(d.get("stickied")),
            is_expired="expired" in (flair or "").lower()
            or "expired" in str(d.get("link_flair_css_class") or "").lower(),
            flair=flair,
        ))
    return tuple(posts)


class Epic:
    """Epic free-games client. Args: client: shared httpx.AsyncClient; base_url."""

    def __init__(self, client: httpx.AsyncClient, base_url: str = EPIC_BASE_URL, *,
                 policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._client, self._base, self._policy = client, base_url.rstrip("/"), policy

    async def promotions(self, *, country: str = "US", locale: str = "en-US"
                         ) -> tuple[EpicOffer, ...]:
        """Current and upcoming promotions for a country.

        Raises: RateLimited, UpstreamError (including Epic's GraphQL error with no data).
        Upstream: GET /freeGamesPromotions?locale=..&country=..&allowCountries=..
        """
        _, body = await request_json(
            self._client, "epic", "GET", f"{self._base}/freeGamesPromotions",
            params={"locale": locale, "country": country, "allowCountries": country},
            what="freeGamesPromotions", policy=self._policy, ok_statuses=frozenset({400}),
        )
        return parse_epic(body)


class FreeGameFindings:
    """r/FreeGameFindings client (no OAuth; Reddit allows ~10 requests/min so)."""

    def __init__(self, client: httpx.AsyncClient, base_url: str = REDDIT_BASE_URL, *,
                 policy: RetryPolicy = DEFAULT_POLICY) -> None:
        self._client, self._base, self._policy = client, base_url.rstrip("/"), policy

    async def new_posts_json(self, *, limit: int = 25) -> tuple[FreeGamePost, ...]:
        """Newest posts with flairs. Upstream: GET /r/FreeGameFindings/new.json?limit=N"""
        _, body = await request_json(
            self._client, "reddit", "GET", f"{self._base}/r/{SUBREDDIT}/new.json",
            params={"limit": limit, "raw_json": 1}, headers={"User-Agent": USER_AGENT},
            what="FreeGameFindings new.json", policy=self._policy,
        )
        return parse_reddit_listing(body)

    async def new_posts_rss(self) -> tuple[FreeGamePost, ...]:
        """Newest posts from the Atom feed (no flairs). Upstream: GET /r/FreeGameFindings/new.rss"""
        from familybot_trio import blocking

        url = f"{self._base}/r/{SUBREDDIT}/new.rss"

        async def attempt() -> str:
            async with blocking.limiter("reddit"):
                try:
                    resp = await self._client.get(url, headers={"User-Agent": USER_AGENT})
                except httpx.TransportError as exc:
                    raise Transient(malformed("reddit", "new.rss", type(exc).__name__,
                                              None)) from exc
            err = error_for_status("reddit", resp.status_code, resp.headers.get("retry-after"),
                                   what="FreeGameFindings new.rss", policy=self._policy)
            if err is not None:
                raise err
            return resp.text

        text = await call_with_retry("reddit", self._policy, attempt, what="new.rss")
        return parse_reddit_atom(text)
