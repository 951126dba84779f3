"""Free offers coming and going: Epic giveaways and r/FreeGameFindings posts added over time.

The recorded bodies (sandbox/_feeds.py) stay the base; these knobs add to them what the real
feeds add over a week, in the recordings' own shapes, so the bot's real parsers read them:

- an Epic giveaway is one more `searchStore.elements[]` entry, a copy of the recorded Deliver
  Us Mars element re-identified (id, namespace, slug, mappings, images, title), priced 0 with
  a 0 % `promotionalOffers` window [start, end] and an `appliedRules` entry ending with it;
  when it ends the element stays at its full price with no promotion (as a paid game);
- a FreeGameFindings post is one more Atom `<entry>` (newest first, the recorded entry's
  markup: author, content with `[link]` and `[comments]`, id t3_..., permalink, published)
  and, since the JSON listing is built from the feed, one more `t3`; when it ends, the JSON
  post carries the "Expired" flair (the Atom feed has no flairs, as on Reddit).

Each start and end is logged in `sb.change_log` (kinds "free_start" / "free_end", `key` the
offer's canonical store page URL, `source` "epic" or "reddit"): the same game given away on
Epic and posted on Reddit logs two starts with one key.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from familybot_trio import blocking
from familybot_trio.sandbox import _data
from familybot_trio.sandbox._mutations import Change

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox

EPIC_PAGE: Final = "https://store.epicgames.com/p/{slug}"
REDDIT: Final = "https://www.reddit.com"
_SLUG: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
_TEMPLATE_TITLE: Final = "Deliver Us Mars"


@dataclass(slots=True)
class LiveOffers:
    """The offers added to the recorded feeds. epic: slug -> element (newest last);
    reddit: posts, newest first; version: bumped on every change (body caches key on it)."""

    epic: dict[str, dict[str, Any]] = field(default_factory=dict)
    reddit: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    _cache: dict[str, tuple[tuple[int, ...], bytes]] = field(default_factory=dict)


def _iso_z(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _hex(seed: str, n: int = 32) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def _log(sb: Sandbox, kind: str, key: str, source: str, appid: int = 0) -> None:
    sb.change_log.append(Change(sb.now_s(), kind, appid, key=key, source=source))


def _template(sb: Sandbox) -> dict[str, Any]:
    for body, _captured in sb.static.epic:
        for e in body["data"]["Catalog"]["searchStore"]["elements"]:
            if e["title"] == _TEMPLATE_TITLE:
                return e
    raise LookupError(f"the recorded Epic element {_TEMPLATE_TITLE!r} is missing")


def start_free_epic(sb: Sandbox, slug: str, title: str, *, ends_at_s: float,
                    original_cents: int = 1999) -> str:
    """Give `title` away on Epic from now until `ends_at_s` (sandbox Unix s).

    Args: slug: the product page slug (lower case, digits, "-"); original_cents: its usual
        USD price (the feed re-prices it per country like the recordings).
    Returns: the key logged, the product page "https://store.epicgames.com/p/<slug>".
    Raises: ValueError for a bad slug, a slug already given away now, or an end not after now.
    """
    now = sb.now_s()
    if not _SLUG.match(slug):
        raise ValueError(f"Epic slug {slug!r}: use lower case letters, digits and '-'")
    live = sb.free_offers
    if slug in live.epic and live.epic[slug]["price"]["totalPrice"]["discountPrice"] == 0:
        raise ValueError(f"Epic slug {slug!r} is already free; end_free_epic it first")
    if ends_at_s <= now:
        raise ValueError(f"ends_at_s {ends_at_s} is not after now ({now})")
    e = copy.deepcopy(_template(sb))
    ns, offer_id = _hex(f"ns:{slug}"), _hex(f"offer:{slug}")
    start, end = _iso_z(now), _iso_z(ends_at_s)
    image = f"https://cdn1.epicgames.com/offer/{ns}/EGS_{slug.replace('-', '')}_2560x1440-{_hex(slug)}"
    e.update(title=title, id=offer_id, namespace=ns, productSlug=slug, urlSlug=slug,
             description=f"{title}: a sandbox giveaway.", effectiveDate=_iso_z(now - 30 * 86400),
             viewableDate=_iso_z(now - 30 * 86400), seller={"id": f"o-{_hex(slug, 28)}",
                                                            "name": "Sandbox Studio"},
             items=[{"id": _hex(f"item:{slug}"), "namespace": ns}],
             keyImages=[{"type": t, "url": image} for t in
                        ("OfferImageWide", "DieselStoreFrontWide", "Thumbnail")],
             customAttributes=[{"key": "com.epicgames.app.productSlug", "value": slug}],
             catalogNs={"mappings": [{"pageSlug": slug, "pageType": "productHome"}]},
             offerMappings=[])
    e["price"] = {"totalPrice": {
        "discountPrice": 0, "originalPrice": original_cents, "voucherDiscount": 0,
        "discount": original_cents, "currencyCode": "USD", "currencyInfo": {"decimals": 2},
        "fmtPrice": {"originalPrice": f"${original_cents / 100:.2f}", "discountPrice": "0",
                     "intermediatePrice": "0"}},
        "lineOffers": [{"appliedRules": [{"id": _hex(f"rule:{slug}:{start}"), "endDate": end,
                                          "discountSetting": {"discountType": "PERCENTAGE"}}]}]}
    e["promotions"] = {"promotionalOffers": [{"promotionalOffers": [{
        "startDate": start, "endDate": end,
        "discountSetting": {"discountType": "PERCENTAGE", "discountPercentage": 0}}]}],
        "upcomingPromotionalOffers": []}
    live.epic.pop(slug, None)
    live.epic[slug] = e
    live.version += 1
    key = EPIC_PAGE.format(slug=slug)
    _log(sb, "free_start", key, "epic")
    return key


def end_free_epic(sb: Sandbox, slug: str) -> None:
    """End the giveaway of `slug`: full price, no promotion. Raises: KeyError if never given."""
    live = sb.free_offers
    if slug not in live.epic:
        raise KeyError(f"no Epic giveaway {slug!r}; start_free_epic it first")
    e = copy.deepcopy(live.epic[slug])  # a new dict: a request being built keeps the old one
    total = e["price"]["totalPrice"]
    if total["discountPrice"] != 0:
        return  # already ended
    total.update(discountPrice=total["originalPrice"], discount=0)
    total["fmtPrice"].update(discountPrice=total["fmtPrice"]["originalPrice"],
                             intermediatePrice=total["fmtPrice"]["originalPrice"])
    e["price"]["lineOffers"] = [{"appliedRules": []}]
    e["promotions"] = {"promotionalOffers": [], "upcomingPromotionalOffers": []}
    live.epic[slug] = e
    live.version += 1
    _log(sb, "free_end", EPIC_PAGE.format(slug=slug), "epic")


def post_free_reddit(sb: Sandbox, title: str, url: str, *, key: str | None = None,
                     author: str = "sandbox_finder") -> str:
    """A new r/FreeGameFindings post, published now, linking to `url`.

    Args: title: as posters write it, "[Store] (Game) Name"; url: the post's link (no "&");
        key: the logged key (default `url`): the offer's canonical store page.
    Returns: the post id (base 36, as Reddit's t3 ids).
    """
    if "&" in url or '"' in url:
        raise ValueError(f"post link {url!r}: a link with '&' or '\"' is not supported")
    live = sb.free_offers
    post_id = "1s" + _hex(f"post:{title}:{url}:{len(live.reddit)}", 5)
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50]
    live.reddit.insert(0, {"id": post_id, "title": title, "url": url, "author": author,
                           "permalink": f"{REDDIT}/r/FreeGameFindings/comments/{post_id}/{slug}/",
                           "published_s": sb.now_s(), "key": key or url, "expired": False})
    live.version += 1
    _log(sb, "free_start", key or url, "reddit")
    return post_id


def expire_free_reddit(sb: Sandbox, post_id: str) -> None:
    """Flair a post "Expired" (the JSON listing shows it). Raises: KeyError for an unknown id."""
    post = next((p for p in sb.free_offers.reddit if p["id"] == post_id), None)
    if post is None:
        raise KeyError(f"no sandbox FreeGameFindings post {post_id!r}")
    if not post["expired"]:
        live = sb.free_offers  # a new dict: a request being built keeps the old one
        live.reddit[live.reddit.index(post)] = {**post, "expired": True}
        live.version += 1
        _log(sb, "free_end", post["key"], "reddit")


def _entry(p: dict[str, Any]) -> str:
    user = f"{REDDIT}/user/{p['author']}"
    content = (f'<table> <tr><td> &#32; submitted by &#32; <a href="{user}"> /u/{p["author"]} '
               f'</a> <br/> <span><a href="{p["url"]}">[link]</a></span> &#32; <span><a href='
               f'"{p["permalink"]}">[comments]</a></span> </td></tr></table>')
    when = datetime.fromtimestamp(p["published_s"], UTC).isoformat(timespec="seconds")
    return (f'<entry><author><name>/u/{p["author"]}</name><uri>{user}</uri></author><category '
            f'term="FreeGameFindings" label="r/FreeGameFindings"/><content type="html">'
            f'{html.escape(content)}</content><id>t3_{p["id"]}</id><link href="{p["permalink"]}" '
            f'/><updated>{when}</updated><published>{when}</published><title>'
            f'{html.escape(p["title"], quote=True)}</title></entry>')


def reddit_rss(base: bytes, posts: list[dict[str, Any]]) -> bytes:
    """The Atom feed: the added `posts` (newest first) before the recorded entries."""
    if not posts:
        return base
    text = base.decode("utf-8")
    at = text.find("<entry>")
    at = at if at >= 0 else text.rfind("</feed>")
    return (text[:at] + "".join(_entry(p) for p in posts) + text[at:]).encode("utf-8")


def reddit_json(base_rss: bytes, base_json: bytes, posts: list[dict[str, Any]]) -> bytes:
    """The JSON listing built from the combined feed, expired posts flaired "Expired"."""
    if not posts:
        return base_json
    listing = _data.reddit_listing(reddit_rss(base_rss, posts).decode("utf-8"))
    expired = {p["id"] for p in posts if p["expired"]}
    for child in listing["data"]["children"]:
        if child["data"]["id"] in expired:
            child["data"].update(link_flair_text="Expired", link_flair_css_class="expired")
    return json.dumps(listing).encode()


async def served(live: LiveOffers, name: str, bases: tuple[bytes, ...], build: Any) -> bytes:
    """`bases[0]` while nothing was added; else build(posts) in a worker thread, once per
    (offers version, base bodies), from a snapshot of the added posts taken on the loop."""
    if not live.reddit:
        return bases[0]
    key, posts = (live.version, *map(hash, bases)), list(live.reddit)
    hit = live._cache.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    body = await blocking.run_sync("cpu", build, posts)
    live._cache[name] = (key, body)
    return body


def epic_body(base: dict[str, Any], added: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The recorded mix plus the `added` elements (a snapshot of `LiveOffers.epic.values()`
    taken on the loop; the knobs never edit an element in place): `base`, changed in place."""
    store = base["data"]["Catalog"]["searchStore"]
    store["elements"] += [copy.deepcopy(e) for e in added]
    store["paging"]["total"] = len(store["elements"])
    return base
