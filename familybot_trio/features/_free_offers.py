"""Free games, the source side: Epic elements and r/FreeGameFindings posts -> offers.

What is announced, from which link, under which identity. Epic elements are decided by
`EpicOffer.status` (their offer data). A Reddit post is kept when a family of PC players can
claim it for nothing (a known PC store, not expired, not a PSA, not in-game items, not DLC
that needs a paid base game, not a raffle or key site, not older than REDDIT_MAX_AGE_S) and
its link is on the store its tag names (`familybot_trio.links.STORES`): a `[Steam]` post
linking elsewhere is dropped and counted, never announced (anyone can post there).

Identity (`offer_key`): the canonical store identity of the rebuilt link (store + product id,
or the normalised store URL); a home page or generic giveaway page has none, and the key
falls back to store + normalised title, so two different giveaways on GOG's home page are
two offers, and `gog.com/en/game/x` and `gog.com/game/x` are one.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from familybot_trio import links
from familybot_trio.upstream.models import EpicOffer, FreeGamePost

log = logging.getLogger("familybot_trio.features.free_games")

#: Reddit posts older than this are skipped: most giveaways end within a few days and the
#: feed carries no end date (the JSON "Expired" flair comes late, the RSS has none).
REDDIT_MAX_AGE_S: Final = 3 * 24 * 3600
#: Bracket tag (lower case) -> store name (a links.STORES key); anything else (mobile,
#: consoles, "PSA") is skipped.
PC_STORES: Final[dict[str, str]] = {
    "steam": "Steam", "epic": "Epic Games", "epic games": "Epic Games", "egs": "Epic Games",
    "epic games store": "Epic Games", "gog": "GOG", "gog.com": "GOG",
    "prime gaming": "Prime Gaming", "amazon": "Prime Gaming", "amazon prime": "Prime Gaming",
    "luna": "Prime Gaming", "itch.io": "itch.io", "itch": "itch.io", "indiegala": "IndieGala",
    "ubisoft": "Ubisoft Connect", "ubisoft connect": "Ubisoft Connect", "ea": "EA app",
    "ea app": "EA app", "origin": "EA app",
}
#: Hosts that run raffles or key giveaways (keys run out, sign-ups and tasks required).
GIVEAWAY_HOSTS: Final = ("gleam.io", "givee.club", "alienwarearena.com", "keyhub.gg",
                         "steelseries.com", "prys.ga")
#: Skip reason of a post whose link is not on the store its tag names.
OFF_STORE: Final = "link not on the tagged store"
_RAFFLE_WORDS: Final = re.compile(r"\b(raffle|sweepstakes?|giveaway|beta key|alpha key)\b", re.I)
_PAID_BASE: Final = re.compile(r"requires? (the )?(paid )?base game|base game required", re.I)
_FREE_BASE: Final = re.compile(r"\bf2p\b|free[- ]to[- ]play", re.I)
_NOT_WORD: Final = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class FreeOffer:
    """A game that is free to keep right now.

    Attributes: dedupe_key (`offer_key`); source ("epic" or "reddit"); store (display name);
    title; url (the claim page, built by familybot_trio.links); ends_at (aware UTC, None
    when unknown); image_url; original_cents + currency (Epic's usual price, else None / "");
    free_weekend (True: free to PLAY for a while, not to keep; posted only with
    `[free_games] free_weekends = true`).
    """

    dedupe_key: str
    source: str
    store: str
    title: str
    url: str
    ends_at: dt.datetime | None = None
    image_url: str | None = None
    original_cents: int | None = None
    currency: str = ""
    free_weekend: bool = False


@dataclass(frozen=True, slots=True)
class UpcomingOffer:
    """An Epic giveaway announced for later: title, url, starts_at/ends_at (aware UTC)."""

    title: str
    url: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FreeGames:
    """Both sources merged. errors: one secret-free line per source that failed;
    off_store: feed posts dropped because their link was not on the store their tag names."""

    free_now: tuple[FreeOffer, ...]
    upcoming: tuple[UpcomingOffer, ...]
    mystery_upcoming: int
    errors: tuple[str, ...]
    off_store: int = 0


def offer_key(store: str, identity: str | None, title: str) -> str:
    """The de-duplication key of an offer.

    Args: store: display name; identity: the link's canonical store identity
        (links.StoreLink.identity) or None for a home / generic giveaway page; title.
    Returns: `identity` ("steam:app/620", "epic:<slug>", "gog:game/<slug>", "url:<host>/<path>"),
        else "title:<store>:<normalised title>".
    """
    if identity:
        return identity
    name = _NOT_WORD.sub(" ", title.lower()).strip()
    return f"title:{store.lower()}:{name}"


def epic_offers(offers: tuple[EpicOffer, ...], now: dt.datetime
                ) -> tuple[list[FreeOffer], list[UpcomingOffer], int]:
    """Epic elements -> (free now, upcoming free, count of upcoming placeholder slots).

    Each element is decided by `EpicOffer.status` (its offer data: windows, discount price,
    page): only "free_now" is announced; "free_later" is listed; a placeholder ("Mystery
    Game": no real product page) is only counted when a free window is ahead.
    """
    free: list[FreeOffer] = []
    upcoming: list[UpcomingOffer] = []
    mystery = 0
    for o in offers:
        status = o.status(now)
        if status == "placeholder_later":
            mystery += 1
        elif status == "free_now" and o.url:
            window = o.free_window(now)
            assert window is not None  # "free_now" means a window covers now
            free.append(FreeOffer(offer_key("Epic Games", o.identity, o.title), "epic",
                                  "Epic Games", o.title, o.url, window.end, o.image_url,
                                  o.original_cents or None, o.currency))
        elif status == "free_later" and (window := o.next_free_window(now)) is not None:
            upcoming.append(UpcomingOffer(o.title, o.url, window.start, window.end))
    upcoming.sort(key=lambda u: (u.starts_at, u.title))
    return free, upcoming, mystery


#: r/FreeGameFindings tags of a free weekend / play-for-free event (not a game to keep).
_WEEKEND_KIND: Final = re.compile(r"^(free[\s-]*)?weekend$|^play[\s-]*(for[\s-]*)?free|"
                                  r"^free[\s-]*to[\s-]*play[\s-]*weekend$", re.IGNORECASE)


def is_free_weekend(post: FreeGamePost) -> bool:
    """True when the post's tag says free weekend / play for free (e.g. "(Free Weekend)")."""
    return bool(_WEEKEND_KIND.search(post.kind.strip()))


def skip_reason(post: FreeGamePost, now: dt.datetime, *, free_weekends: bool = False
                ) -> str | None:
    """Why a r/FreeGameFindings post is not announced (OFF_STORE among them), or None.

    A free weekend is skipped ("free weekend") unless `free_weekends` is True.
    """
    host = (urlsplit(post.url).hostname or "").lower()
    text = f"{post.title} {post.flair or ''}"
    if post.is_psa:
        return "psa"
    if post.is_expired or "expired" in text.lower():
        return "expired"
    if post.store.lower() not in PC_STORES:
        return f"store {post.store or 'unknown'}"
    if post.published and (now - post.published).total_seconds() > REDDIT_MAX_AGE_S:
        return "old"
    if any(host == h or host.endswith("." + h) for h in GIVEAWAY_HOSTS) or _RAFFLE_WORDS.search(
            text):
        return "giveaway"
    kind = post.kind.lower()
    if is_free_weekend(post):
        kind = "game" if free_weekends else "free weekend"
    if kind == "dlc" and (_PAID_BASE.search(text) or not _FREE_BASE.search(f"{text} {post.url}")):
        return "dlc needs a paid base game"
    if kind not in ("game", "dlc"):
        return f"kind {post.kind or 'none'}"
    if host.endswith(("reddit.com", "redd.it")):
        return "no offer link"
    if links.from_url(PC_STORES[post.store.lower()], post.url) is None:
        return OFF_STORE
    return None


def reddit_offers(posts: tuple[FreeGamePost, ...], now: dt.datetime, *,
                  free_weekends: bool = False) -> tuple[list[FreeOffer], int]:
    """Posts -> (offers worth announcing, oldest first; posts dropped as OFF_STORE).

    Each kept offer's url is rebuilt by familybot_trio.links from the post's link; an
    off-store post is logged at info with the host it pointed to.
    """
    out, off_store = [], 0
    for post in posts:
        reason = skip_reason(post, now, free_weekends=free_weekends)
        if reason == OFF_STORE:
            off_store += 1
            log.info("free-game post dropped: its link is not on the store its tag names "
                     "[post:%s tag:%s host:%r]", post.post_id[:20], post.store[:40],
                     (urlsplit(post.url).hostname or "")[:80])
            continue
        if reason is not None:
            log.debug("free-game post skipped [post:%s reason:%s]", post.post_id, reason)
            continue
        store = PC_STORES[post.store.lower()]
        link = links.from_url(store, post.url)
        assert link is not None  # skip_reason checked it
        weekend = is_free_weekend(post)
        key = offer_key(store, link.identity, post.name)
        out.append(FreeOffer(f"weekend:{key}" if weekend else key, "reddit", store,
                             post.name, link.url, free_weekend=weekend))
    out.reverse()
    return out, off_store


def merge(*groups: list[FreeOffer]) -> list[FreeOffer]:
    """One offer per dedupe_key; the first group (Epic's, with end dates) wins."""
    seen: dict[str, FreeOffer] = {}
    for group in groups:
        for offer in group:
            seen.setdefault(offer.dedupe_key, offer)
    return list(seen.values())
