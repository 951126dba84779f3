"""Free games: Epic's weekly giveaways and r/FreeGameFindings, announced once, and `/free`.

Two sources, one list. Epic's `freeGamesPromotions` says exactly what is free and until
when: an element is free now when its discount price is 0 inside an active promotional
offer with a 0 % price (`EpicOffer.status`). A placeholder is what lacks a real product page
(`EpicOffer.is_placeholder`: "Mystery Game" slots with productSlug "[]"): never announced,
upcoming slots only counted in `/free`. A revealed vault game (a real product slug and an
active 0 % window) is announced like any other, whatever its images say. r/FreeGameFindings covers every other store; its titles read
"[Store] (Game|DLC|Other) Name" and we keep only what a family of PC players can claim for
nothing: a known PC store, not expired, not a PSA, not in-game items, not DLC that needs a
paid base game, not a raffle or a key-giveaway site, and not older than REDDIT_MAX_AGE_S.

Deduplication: every offer gets a key that both sources agree on (`offer_key`: Steam appid,
Epic product slug, else host + path of the offer link, else store + normalised name), so the
Epic giveaway that Reddit also posts is announced once, Epic's richer entry winning.
The announcement is written to the outbox first (its dedupe_key is unique forever) and the
offer is then claimed in `store.state.claim_free_game`; a crash between the two re-runs the
pair harmlessly (the outbox ignores the repeat), so nothing is lost or doubled, across
restarts too (P16 of the reference bot kept its seen set in memory).

Upstream: GET {epic}/freeGamesPromotions; GET {reddit}/r/FreeGameFindings/new.json.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import trio

from familybot_trio.errors import UpstreamError
from familybot_trio.features import _common
from familybot_trio.store import OutboxDraft, Snowflake
from familybot_trio.upstream.models import EpicOffer, FreeGamePost
from gateway.commands import CommandContext
from gateway.messages import NO_MENTIONS, Embed, EmbedField, escape_text, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.free_games")

JOB_NAME: Final = "free_games"
#: Reddit posts older than this are skipped: most giveaways end within a few days and the
#: feed carries no end date (the JSON "Expired" flair comes late, the RSS has none).
REDDIT_MAX_AGE_S: Final = 3 * 24 * 3600
#: How many posts to read from the subreddit per run (its listing page size).
REDDIT_LIMIT: Final = 50
#: Keys already posted are read back in one query of at most this many rows.
RECENT_CLAIMS: Final = 500
EMBED_COLOR: Final = 0x2ECC71
#: The first check runs this long after start-up (s), not a whole interval later.
FIRST_RUN_DELAY_S: Final = 120.0
#: Bracket tag (lower case) -> store name; anything else (mobile, consoles, "PSA") is skipped.
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
_RAFFLE_WORDS: Final = re.compile(r"\b(raffle|sweepstakes?|giveaway|beta key|alpha key)\b", re.I)
_PAID_BASE: Final = re.compile(r"requires? (the )?(paid )?base game|base game required", re.I)
_FREE_BASE: Final = re.compile(r"\bf2p\b|free[- ]to[- ]play", re.I)
_STEAM_APP: Final = re.compile(r"^/app/(\d+)")
_EPIC_SLUG: Final = re.compile(r"/p/([^/?#]+)")
_NOT_WORD: Final = re.compile(r"[^a-z0-9]+")
#: Apps that already logged "no free_games channel" (once per App, not per run).
_WARNED_NO_CHANNEL: Final["weakref.WeakSet[App]"] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class FreeOffer:
    """A game that is free to keep right now.

    Attributes: dedupe_key (`offer_key`); source ("epic" or "reddit"); store (display name);
    title; url (the claim page); ends_at (aware UTC, None when unknown); image_url;
    original_cents + currency (Epic's usual price, else None / "").
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


@dataclass(frozen=True, slots=True)
class UpcomingOffer:
    """An Epic giveaway announced for later: title, url, starts_at/ends_at (aware UTC)."""

    title: str
    url: str | None
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass(frozen=True, slots=True)
class FreeGames:
    """Both sources merged. errors: one secret-free line per source that failed."""

    free_now: tuple[FreeOffer, ...]
    upcoming: tuple[UpcomingOffer, ...]
    mystery_upcoming: int
    errors: tuple[str, ...]


def offer_key(store: str, url: str, title: str) -> str:
    """A key two sources agree on for the same giveaway.

    Returns: "steam:app/<appid>", "epic:<product slug>", "url:<host><path>" (lower case,
        no query), or "title:<store>:<name>" when the link is a Reddit self post.
    """
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.lower().rstrip("/")
    if host == "store.steampowered.com" and (m := _STEAM_APP.match(path)):
        return f"steam:app/{m.group(1)}"
    if host.endswith("epicgames.com") and (m := _EPIC_SLUG.search(path)):
        return f"epic:{m.group(1)}"
    if host and not host.endswith(("reddit.com", "redd.it")):
        return f"url:{host}{path}"
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
            free.append(FreeOffer(o.identity or offer_key("Epic Games", o.url, o.title), "epic",
                                  "Epic Games", o.title, o.url, window.end, o.image_url,
                                  o.original_cents or None, o.currency))
        elif status == "free_later" and (window := o.next_free_window(now)) is not None:
            upcoming.append(UpcomingOffer(o.title, o.url, window.start, window.end))
    upcoming.sort(key=lambda u: (u.starts_at, u.title))
    return free, upcoming, mystery


def skip_reason(post: FreeGamePost, now: dt.datetime) -> str | None:
    """Why a r/FreeGameFindings post is not announced, or None to keep it."""
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
    if kind == "dlc" and (_PAID_BASE.search(text) or not _FREE_BASE.search(f"{text} {post.url}")):
        return "dlc needs a paid base game"
    if kind not in ("game", "dlc"):
        return f"kind {post.kind or 'none'}"
    if host.endswith(("reddit.com", "redd.it")):
        return "no offer link"
    return None


def reddit_offers(posts: tuple[FreeGamePost, ...], now: dt.datetime) -> list[FreeOffer]:
    """Posts -> offers worth announcing (see `skip_reason`), oldest first."""
    out = []
    for post in posts:
        reason = skip_reason(post, now)
        if reason is not None:
            log.debug("free-game post skipped [post:%s reason:%s]", post.post_id, reason)
            continue
        store = PC_STORES[post.store.lower()]
        out.append(FreeOffer(offer_key(store, post.url, post.name), "reddit", store, post.name,
                             post.url))
    out.reverse()
    return out


def merge(*groups: list[FreeOffer]) -> list[FreeOffer]:
    """One offer per dedupe_key; the first group (Epic's, with end dates) wins."""
    seen: dict[str, FreeOffer] = {}
    for group in groups:
        for offer in group:
            seen.setdefault(offer.dedupe_key, offer)
    return list(seen.values())


async def collect(app: App) -> FreeGames:
    """Fetch both sources concurrently and merge them; a failing source is reported, not fatal.

    Returns: FreeGames (errors lists the sources that failed).
    Raises: nothing of the upstreams' (UpstreamError becomes an `errors` line).
    Upstream: Epic freeGamesPromotions; r/FreeGameFindings new.json.
    """
    cfg, now = app.config, app.now()
    locale = cfg.language.replace("_", "-") if "_" in cfg.language else \
        f"{cfg.language}-{cfg.country}"
    results: dict[str, object] = {}
    errors: list[str] = []

    async def fetch(name: str, call) -> None:
        try:
            results[name] = await call()
        except UpstreamError as exc:
            log.warning("free-game source failed [source:%s cause:%s]", name, exc)
            errors.append(f"{name}: {exc}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(fetch, "epic", lambda: app.epic.promotions(country=cfg.country,
                                                                       locale=locale))
        nursery.start_soon(fetch, "reddit", lambda: app.fgf.new_posts_json(limit=REDDIT_LIMIT))
    free, upcoming, mystery = epic_offers(results.get("epic", ()), now)  # type: ignore[arg-type]
    posts = reddit_offers(results.get("reddit", ()), now)  # type: ignore[arg-type]
    return FreeGames(tuple(merge(free, posts)), tuple(upcoming), mystery, tuple(sorted(errors)))


def _until(when: dt.datetime | None) -> str:
    if when is None:
        return "for a limited time"
    ts = int(when.timestamp())
    return f"until <t:{ts}:f> (<t:{ts}:R>)"


def announcement(app: App, offer: FreeOffer) -> Embed:
    """The embed posted to the free_games channel for one offer."""
    lines = [f"Free to keep on **{escape_text(offer.store)}** {_until(offer.ends_at)}."]
    if offer.original_cents:
        lines.append(f"Usually {_common.format_money(app, offer.original_cents, offer.currency or None)}.")
    image = offer.image_url
    if image is None and offer.dedupe_key.startswith("steam:app/"):
        image = _common.capsule_url(int(offer.dedupe_key.removeprefix("steam:app/")))
    source = "Epic Games Store" if offer.source == "epic" else "r/FreeGameFindings"
    return Embed(title=f"Free: {escape_text(offer.title)}", url=offer.url, description="\n".join(lines),
                 color=EMBED_COLOR, image_url=image, footer=f"Source: {source}")


async def run_free_games(app: App) -> int:
    """The "free_games" job: announce every offer not announced before.

    Returns: offers newly queued (0 when no free_games channel is configured: then nothing
        is claimed either, so the offers are announced once a channel is set).
    Raises: UpstreamError when a source failed (after the other source's offers were
        queued), so the scheduler backs off and tells the admin once per failure streak.
    Cancellation: each offer's outbox write and claim finish before Cancelled.
    """
    channel = app.config.channels.free_games
    found = await collect(app)
    queued = 0
    if channel is None:
        if app not in _WARNED_NO_CHANNEL:
            _WARNED_NO_CHANNEL.add(app)
            log.warning("no free_games channel configured, not announcing free games "
                        "[set channels.free_games in config.toml]")
    else:
        queued = await _announce(app, found.free_now, Snowflake(channel))
        if queued:
            log.info("free games queued [count:%d]", queued)
    if found.errors:
        raise UpstreamError("; ".join(found.errors), upstream="free_games")
    return queued


async def _announce(app: App, offers: tuple[FreeOffer, ...], channel: Snowflake) -> int:
    posted = {key for key, *_ in await app.store.state.posted_free_games(limit=RECENT_CLAIMS)}
    queued = 0
    for offer in offers:
        if offer.dedupe_key in posted:
            continue
        payload = {"embeds": [announcement(app, offer).to_dict()],
                   "allowed_mentions": NO_MENTIONS}
        await app.store.outbox.enqueue(
            [OutboxDraft("free_game", f"free_game:{offer.dedupe_key}", channel, payload)],
            app.now())
        if await app.store.state.claim_free_game(offer.dedupe_key, source=offer.source,
                                                 title=offer.title, url=offer.url,
                                                 now=app.now()):
            queued += 1
    if queued:
        app.wake_outbox()
    return queued


def free_embeds(app: App, found: FreeGames) -> list[Embed]:
    """`/free`'s answer: free now, upcoming on Epic, and which source failed."""
    now_lines = [f"• [{escape_text(o.title)}]({o.url}) on {escape_text(o.store)} "
                 f"{_until(o.ends_at)}" for o in found.free_now] or ["Nothing right now."]
    soon = [f"• {escape_text(u.title) if not u.url else f'[{escape_text(u.title)}]({u.url})'}"
            f" from <t:{int(u.starts_at.timestamp())}:f> to <t:{int(u.ends_at.timestamp())}:f>"
            for u in found.upcoming]
    if found.mystery_upcoming:
        soon.append(f"• plus {found.mystery_upcoming} mystery game"
                    f"{'s' if found.mystery_upcoming > 1 else ''} Epic has not revealed yet")
    fields = [EmbedField("Upcoming on Epic", part) for part in split_lines(soon, 1024)]
    if found.errors:
        fields.append(EmbedField("Could not check", "\n".join(
            f"• {e.split(':', 1)[0]} did not answer; try again later" for e in found.errors)))
    parts = split_lines(now_lines, 4096)
    embeds = [Embed(title="Free to keep now" if i == 0 else None, description=p,
                    color=EMBED_COLOR) for i, p in enumerate(parts)]
    if fields:
        embeds.append(Embed(fields=tuple(fields[:25]), color=EMBED_COLOR))
    return embeds[:10]


def setup(app: App) -> None:
    """Register /free and the "free_games" job."""

    @app.registry.command("free", "Games free to keep right now, and Epic's upcoming giveaways")
    async def free_command(ctx: CommandContext) -> None:
        await ctx.reply(embeds=free_embeds(app, await collect(app)))

    app.scheduler.add(JOB_NAME, run_free_games, interval_s=app.config.schedules.free_games_s,
                      timeout_s=120.0, backoff_base_s=60.0, first_delay_s=FIRST_RUN_DELAY_S)
