"""/owned: "do we already own it?" before anyone buys a game.

`/owned game:<name, store URL or appid>` answers with one card: in the family library or
not, who owns it and how many copies, shareable or excluded (and why), which members wish
for it, the price now in the family's currency with the historical low, and for a DLC
whether the family owns the base game.

The `game` option autocompletes from the local name index (`_owned_index`): the library
and wishlists the store already holds, matched with rapidfuzz. Autocomplete never makes an
upstream request, so it answers well inside Discord's 3 s deadline. The index is rebuilt by
the `owned_index` job (a minute after start, then every 6 hours; names come from the
catalog cache, fetched in batches only for apps not cached yet).

Logger: `familybot_trio.features.owned`.
Upstream: Discord "Autocomplete" (interaction type 4, callback type 8 with choices);
IStoreBrowseService/GetItems and ITAD prices through app.catalog for the card.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from familybot_trio.errors import StoreError, UpstreamError
from familybot_trio.features import _common
from familybot_trio.features._money import Money
from familybot_trio.features._owned_index import (CHOICE_NAME_MAX, RESOLVE_CUTOFF,
                                                  STORE_APP_URL, NameIndex, parse_appid,
                                                  rebuild)
from familybot_trio.store import AppId, OutboxDraft
from familybot_trio.upstream.models import GameDetails, GamePrice
from gateway._options import quoted
from gateway.commands import ArgumentError, CommandContext, string
from gateway.messages import Embed, EmbedField, escape_text, truncate

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.owned")

JOB: Final = "owned_index"
INDEX_INTERVAL_S: Final = 6 * 3600.0
#: The first rebuild waits for the start-up jobs (library, wishlists) to fill the store.
INDEX_FIRST_DELAY_S: Final = 60.0
GAME_OPTION_MAX: Final = 200  # a name, a store URL or an appid; longer is not a game
LINK_KIND: Final = "owned_link"
MAX_LINKS: Final = 3  # store links answered per message
COLOR_OWNED: Final = 0x2E8B57
COLOR_NOT_OWNED: Final = 0x8B2E2E
#: GetSharedLibraryApps `exclude_reason` (ESharedLibraryExcludeReason) in words.
EXCLUDE_TEXT: Final[Mapping[int, str]] = {
    1: "the publisher does not allow Family Sharing for it",
    3: "it is free to play, so there is nothing to lend",
    6: "Family Sharing does not lend this kind of app",
}


def exclude_text(reason: int) -> str:
    """Why an app is not lent in the family, in words (Steam's number for unknown ones)."""
    return EXCLUDE_TEXT.get(reason, f"Steam excludes it from sharing (reason {reason})")


async def resolve_game(app: App, index: NameIndex, text: str) -> AppId:
    """What the user typed -> an appid: an appid, a store URL, or a name (typos allowed).

    Raises: ArgumentError naming `game` (empty, too long, no such name). StoreError /
        UpstreamError only when the index is empty and must be built first.
    """
    text = text.strip()
    if not text:
        raise ArgumentError("game", "give a game name, a Steam store URL or an appid")
    if len(text) > GAME_OPTION_MAX:
        raise ArgumentError("game", f"at most {GAME_OPTION_MAX} characters (a name, a store "
                            "URL or an appid)")
    appid = parse_appid(text)
    if appid is not None:
        return appid
    if not index.built:
        await rebuild(app, index)
    found = index.search(text, limit=1, cutoff=RESOLVE_CUTOFF)
    if not found:
        raise ArgumentError("game", f"no game called {quoted(text, 80)} "
                            "is in the family library or anyone's wishlist; paste its Steam "
                            "store URL or appid instead")
    return found[0][0]


def price_line(app: App, details: GameDetails | None, price: GamePrice | None) -> str:
    """"$9.99 now (-50%, was $19.99) · Steam's low $7.49", "free", or why there is no price."""
    money = Money.for_app(app)
    store = price.store if price else (details.price if details else None)
    if store is None:
        if details is None:
            return "unknown"
        return money.unpriced(is_free=details.is_free, coming_soon=details.coming_soon)
    text = f"{money.price(store)} now"
    low = money.low_of(price)
    return f"{text} · {low}" if low else text


async def owned_card(app: App, index: NameIndex, appid: AppId) -> Embed:
    """The /owned answer for one appid.

    Raises: ArgumentError naming `game` when neither the store, the library, a wishlist
        nor the index knows `appid`; StoreError. A failing catalog (UpstreamError) is shown
        as "price unknown" so the ownership answer still goes out.
    """
    entry = await app.store.library.get(appid)
    if entry is not None and entry.removed_at is not None:
        entry = None
    wishers = next((s for a, s in await app.store.wishlist.common(min_members=1) if a == appid),
                   ())
    names = await _common.member_names(app)
    details: Mapping[AppId, GameDetails] = {}
    prices: Mapping[AppId, GamePrice] = {}
    note = None
    try:
        details, prices = await app.catalog.details_and_prices([appid],
                                                               country=app.config.country)
    except UpstreamError as exc:
        log.warning("owned: no store details [appid:%d cause:%s]", appid, exc)
        note = "The Steam store did not answer, so the price is unknown right now."
    d = details.get(appid)
    if d is None and entry is None and not wishers and note is None \
            and appid not in index.names:
        raise ArgumentError("game", f"no Steam app has the id {appid} (the store does not know "
                            "it); check the number, or give the game's name or store URL")
    name = d.name if d else index.names.get(appid, f"App {appid}")
    fields = []
    if entry is not None:
        owners = sorted(names.get(int(s), str(s)) for s in entry.owner_steamids)
        copies = len(owners)
        fields.append(EmbedField("Owners", f"{_common.join_names(owners)} · "
                                 f"{copies} cop{'y' if copies == 1 else 'ies'}"))
        fields.append(EmbedField("Sharing", "shareable with the family" if entry.exclude_reason == 0
                                 else f"not shared: {exclude_text(entry.exclude_reason)}"))
    if wishers:
        fields.append(EmbedField("Wished for by", _common.join_names(
            sorted(names.get(int(s), str(s)) for s in wishers))))
    fields.append(EmbedField("Price", price_line(app, d, prices.get(appid))))
    if d is not None and d.type == "dlc":
        fields.append(EmbedField("Base game", await _base_game_text(app, d)))
    headline = ("Yes, the family already owns it." if entry is not None
                else "No, nobody in the family owns it.")
    return Embed(title=escape_text(name), url=_common.store_url(appid),
                 description=headline + (f"\n{note}" if note else ""),
                 color=COLOR_OWNED if entry is not None else COLOR_NOT_OWNED,
                 fields=tuple(fields), footer=f"appid {appid}")


async def _base_game_text(app: App, dlc: GameDetails) -> str:
    parent = dlc.parent_appid
    if parent is None:
        return "unknown (the store names no base game)"
    base = await app.store.library.get(AppId(parent))
    owned = base is not None and base.removed_at is None
    try:
        got = await app.catalog.details([AppId(parent)], country=app.config.country)
        label = _common.game_link(got[AppId(parent)].name, parent) if parent in got \
            else f"app {parent}"
    except UpstreamError:
        label = f"app {parent}"
    return f"{label}: {'the family owns it' if owned else 'nobody in the family owns it'}"


async def answer_store_links(app: App, index: NameIndex, msg: dict) -> int:
    """`[owned] answer_store_links`: reply to a message that posts Steam store links with
    the /owned card of each (at most MAX_LINKS), once per link per channel per UTC day.

    The replies go through the outbox with the dedupe key
    `owned_link:<channel>:<appid>:<YYYY-MM-DD>`, so a restart or a repeated link never
    answers twice that day. Bots' messages (ours too), DMs and other servers than
    `[discord] guild_id` are ignored.
    Returns: replies queued. Raises: StoreError. Upstream: MESSAGE_CREATE (needs the
        Message Content intent); the card's catalog requests.
    """
    author = msg.get("author") or {}
    if author.get("bot") or not msg.get("content") or "channel_id" not in msg:
        return 0
    guild = app.config.access.guild_id
    if guild is None or msg.get("guild_id") != str(guild):
        return 0  # a DM or another server: links are answered in the family's server only
    appids = list(dict.fromkeys(int(m.group(1))
                                for m in STORE_APP_URL.finditer(str(msg["content"]))))
    if not appids:
        return 0
    channel, day = int(msg["channel_id"]), app.now().date().isoformat()
    drafts = []
    for appid in appids[:MAX_LINKS]:
        try:
            card = await owned_card(app, index, AppId(appid))
        except ArgumentError:
            continue  # a link to an app the store does not know: nothing to say
        drafts.append(OutboxDraft(LINK_KIND, f"owned_link:{channel}:{appid}:{day}", channel, {
            "embeds": [card.to_dict()],
            "message_reference": {"message_id": str(msg["id"]), "fail_if_not_exists": False}}))
    await app.announce(drafts)
    return len(drafts)


def setup(app: App) -> None:
    """Register /owned (with autocomplete) and the `owned_index` job.

    Job: `owned_index`, a minute after start then every 6 h: rebuilds the name index from
        the store and catalog.
    Command: `/owned game:<name, store URL or appid>`, everyone, DMs allowed.
    """
    index = NameIndex()

    async def refresh(a: App) -> None:
        await rebuild(a, index)

    app.scheduler.add(JOB, run=refresh, interval_s=INDEX_INTERVAL_S, jitter=0.1,
                      timeout_s=300.0, backoff_base_s=60.0, first_delay_s=INDEX_FIRST_DELAY_S)

    async def complete(ctx: CommandContext, option: str, partial: str) -> list[Any]:
        # Reads only the in-memory index: never the store, never an upstream.
        if option != "game":
            return []
        return [(truncate(name, CHOICE_NAME_MAX), str(appid))
                for appid, name, _ in index.search(partial)]

    @app.registry.command(
        "owned", "Does the family already own a game? Owners, sharing, wishers and price",
        options=[string("game", "A game name, Steam store URL or appid", autocomplete=True)],
        autocomplete=complete)
    async def owned_command(ctx: CommandContext) -> None:
        try:
            appid = await resolve_game(app, index, str(ctx.args.get("game") or ""))
            card = await owned_card(app, index, appid)
        except ArgumentError as exc:
            await ctx.reply(str(exc), ephemeral=True)
            return
        except (StoreError, UpstreamError) as exc:
            log.warning("owned failed [cause:%s]", exc)
            await ctx.reply(truncate(f"Could not answer right now: {exc}", 300), ephemeral=True)
            return
        await ctx.reply(embeds=[card])

    if app.config.thresholds.owned_answer_store_links:
        async def on_message(msg: dict) -> None:
            try:
                await answer_store_links(app, index, msg)
            except (StoreError, UpstreamError) as exc:
                log.warning("could not answer a posted store link [cause:%s]", exc)

        app.listeners.setdefault("MESSAGE_CREATE", []).append(on_message)
