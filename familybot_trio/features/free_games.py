"""Free games: Epic's weekly giveaways and r/FreeGameFindings, announced once, and `/free`.

Two sources, one list; how each is read is features/_free_offers.py. Epic's
`freeGamesPromotions` says exactly what is free and until when (`EpicOffer.status`: a 0 %
window covering now and a discount price of 0); an element without a real product page
("Mystery Game" slots) is a placeholder, only counted in `/free`; a revealed vault game is
announced like any other, whatever its images. r/FreeGameFindings covers every other store;
a post is announced only when its link is on the store its tag names (familybot_trio.links).
Every link is rebuilt by familybot_trio.links, so no feed text reaches a message as a URL.

Deduplication: every offer gets a key both sources agree on (`offer_key`: the canonical
store identity of its link, else store + normalised title), so the Epic giveaway that
Reddit also posts is announced once, Epic's richer entry winning. The announcement is
written to the outbox first and the offer is then claimed in `store.state.claim_free_game`;
a crash between the two re-runs the pair harmlessly (the outbox ignores the repeat), so
nothing is lost or doubled, across restarts too. A game given away again is announced
again once `[free_games] repeat_after_days` (default 180) passed since its last post: the
claim is a conditional upsert, and each round has its own outbox key (`outbox_key`).

Upstream: GET {epic}/freeGamesPromotions; GET {reddit}/r/FreeGameFindings/new.json.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from typing import TYPE_CHECKING, Final

import trio

from familybot_trio import links
from familybot_trio.errors import UpstreamError
from familybot_trio.features import _common
from familybot_trio.features._free_offers import (
    FreeGames,
    FreeOffer,
    UpcomingOffer,
    epic_offers,
    merge,
    offer_key,
    reddit_offers,
    skip_reason,
)
from familybot_trio.store import OutboxDraft, Snowflake
from gateway.commands import CommandContext
from gateway.messages import NO_MENTIONS, Embed, EmbedField, escape_text, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

__all__ = ["FreeGames", "FreeOffer", "UpcomingOffer", "announcement", "collect", "epic_offers",
           "free_embeds", "merge", "offer_key", "reddit_offers", "run_free_games", "setup",
           "skip_reason"]

log = logging.getLogger("familybot_trio.features.free_games")

JOB_NAME: Final = "free_games"
#: How many posts to read from the subreddit per run (its listing page size).
REDDIT_LIMIT: Final = 50
EMBED_COLOR: Final = 0x2ECC71
#: The first check runs this long after start-up (s), not a whole interval later.
FIRST_RUN_DELAY_S: Final = 120.0
#: Apps that already logged "no free_games channel" (once per App, not per run).
_WARNED_NO_CHANNEL: Final["weakref.WeakSet[App]"] = weakref.WeakSet()


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
    posts, off_store = reddit_offers(results.get("reddit", ()), now,  # type: ignore[arg-type]
                                     free_weekends=cfg.thresholds.free_games_free_weekends)
    return FreeGames(tuple(merge(free, posts)), tuple(upcoming), mystery, tuple(sorted(errors)),
                     off_store)


def _until(when: dt.datetime | None) -> str:
    if when is None:
        return "for a limited time"
    ts = int(when.timestamp())
    return f"until <t:{ts}:f> (<t:{ts}:R>)"


def announcement(app: App, offer: FreeOffer, owners: tuple[str, ...] = ()) -> Embed:
    """The embed posted to the free_games channel for one offer.

    Args: owners: display names of the members whose Steam library has the game (the
        family owns it already: said in the post).
    """
    if offer.free_weekend:
        lines = [f"Free to **play** on **{escape_text(offer.store)}** {_until(offer.ends_at)}: "
                 "a free weekend, not yours to keep."]
    else:
        lines = [f"Free to keep on **{escape_text(offer.store)}** {_until(offer.ends_at)}."]
    if offer.original_cents:
        lines.append(f"Usually {_common.format_money(app, offer.original_cents, offer.currency or None)}.")
    if owners:
        lines.append(f"The family already owns it on Steam ({_common.join_names(owners)}).")
    image = offer.image_url
    appid = steam_appid(offer)
    if image is None and appid is not None:
        image = _common.capsule_url(appid)
    source = "Epic Games Store" if offer.source == "epic" else "r/FreeGameFindings"
    title = f"Free weekend: {escape_text(offer.title)}" if offer.free_weekend else \
        f"Free: {escape_text(offer.title)}"
    return Embed(title=title, url=offer.url, description="\n".join(lines),
                 color=EMBED_COLOR, image_url=image, footer=f"Source: {source}")


def steam_appid(offer: FreeOffer) -> int | None:
    """The Steam appid of an offer on Steam (its dedupe key is "steam:app/<appid>")."""
    key = offer.dedupe_key.removeprefix("weekend:")
    tail = key.removeprefix("steam:app/")
    return int(tail) if tail != key and tail.isdigit() else None


async def family_owners(app: App, offers: tuple[FreeOffer, ...]) -> dict[str, tuple[str, ...]]:
    """dedupe_key -> names of the members who own that game on Steam, for owned offers.

    A Steam offer is matched by appid; any other store's by its title against the names of
    the library's games that the catalog has cached (no upstream request).
    Raises: StoreError.
    """
    library = {a.appid: a for a in await app.store.library.apps()}
    if not library or not offers:
        return {}
    names = await _common.member_names(app)
    cached = await app.catalog.cached_details(list(library), country=app.config.country)
    by_title = {d.name.casefold(): a for a, d in cached.items()}
    out: dict[str, tuple[str, ...]] = {}
    for offer in offers:
        appid = steam_appid(offer)
        if appid is None:
            appid = by_title.get(offer.title.casefold())
        lib = library.get(appid) if appid is not None else None  # type: ignore[arg-type]
        if lib is not None:
            out[offer.dedupe_key] = tuple(sorted(names.get(int(s), str(int(s)))
                                                 for s in lib.owner_steamids))
    return out


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


def outbox_key(dedupe_key: str, last_posted: dt.datetime | None) -> str:
    """The outbox key of one announcement round: "free_game:<key>" the first time, then
    "free_game:<key>@<Unix s of the previous post>", the same on a re-run after a crash."""
    if last_posted is None:
        return f"free_game:{dedupe_key}"
    return f"free_game:{dedupe_key}@{int(last_posted.timestamp())}"


async def _announce(app: App, offers: tuple[FreeOffer, ...], channel: Snowflake) -> int:
    """Queue each offer not posted within `[free_games] repeat_after_days`; returns how many."""
    repeat = dt.timedelta(days=app.config.thresholds.free_games_repeat_after_days)
    posted = await app.store.state.free_games_posted_at([o.dedupe_key for o in offers])
    owned = await family_owners(app, offers)
    queued = 0
    for offer in offers:
        now = app.now()
        last = posted.get(offer.dedupe_key)
        if last is not None and now - last < repeat:
            continue
        if offer.dedupe_key in owned and app.config.thresholds.free_games_skip_owned:
            log.info("free game left out, the family owns it [key:%s]", offer.dedupe_key)
            continue
        embed = announcement(app, offer, owned.get(offer.dedupe_key, ()))
        payload = {"embeds": [embed.to_dict()],
                   "allowed_mentions": NO_MENTIONS}
        await app.store.outbox.enqueue(
            [OutboxDraft("free_game", outbox_key(offer.dedupe_key, last), channel, payload)],
            now)
        if await app.store.state.claim_free_game(offer.dedupe_key, source=offer.source,
                                                 title=offer.title, url=offer.url,
                                                 now=now, repeat_after=repeat):
            queued += 1
    if queued:
        app.wake_outbox()
    return queued


def free_embeds(app: App, found: FreeGames) -> list[Embed]:
    """`/free`'s answer: free now, upcoming on Epic, and which source failed."""
    now_lines = [f"• {links.markdown_link(escape_text(o.title), o.url)} on "
                 f"{escape_text(o.store)} {_until(o.ends_at)}"
                 for o in found.free_now] or ["Nothing right now."]
    soon = [f"• {links.markdown_link(escape_text(u.title), u.url) if u.url else escape_text(u.title)}"
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
