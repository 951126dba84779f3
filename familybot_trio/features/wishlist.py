"""The family wishlist: games several members wish for, kept as pinned messages edited in place.

Job `wishlist` (every `schedules.wishlist_s`):

1. every member's IWishlistService/GetWishlist, side by side (the steam_webapi limiter bounds
   the threads); each answer replaces that member's stored wishlist through
   `store.wishlist.replace`, whose guard keeps the cached copy when a big wishlist suddenly
   comes back empty. A private wishlist (`{}`) or a failed call keeps the cached copy too and
   is recorded as a fetch failure for the admin report;
2. games wished by >= `thresholds.wishlist_min_members` members, not in the family library,
   family-shareable games (GameDetails.type "game" and the Family Sharing category; DLC,
   soundtracks and tools are left out), with the current price, discount, the price per
   wanting member and the historical low (catalog: one GetItems per 100 apps, ITAD batched,
   cached for PRICE_TTL_S);
3. the list is rendered as one embed per message (several messages when long) in the
   wishlist channel. The message ids live in `store.state` under WISHLIST_MESSAGES_KEY; the
   next run edits them in place. A missing message (deleted: 404) is created again and
   pinned; surplus messages from a longer list are deleted.

Command `/wishlist [member]` (also `!wishlist`): one member's wishlist (member by name,
Discord mention or id, or SteamID64; default: the caller), freshly fetched when Steam
answers, with games the family library already has marked.

Logger: `familybot_trio.features.wishlist`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import trio

from familybot_trio.errors import UpstreamError
from familybot_trio.features import _common, _deal_rules
from familybot_trio.features._money import Money
from familybot_trio.store import MemberRecord, SteamID64
from familybot_trio.upstream.models import AppId, GameDetails, GamePrice
from gateway.commands import ArgumentError, CommandContext, string
from gateway.errors import HTTPError, NotFound
from gateway.messages import NO_MENTIONS, Embed, escape_text, pack_embeds, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.wishlist")

#: state kv key: {"channel_id": int, "message_ids": [int, ...], "created": int,
#: "hashes": [payload_hash of each message, in message order]}.
WISHLIST_MESSAGES_KEY: Final = "wishlist.messages"
#: Characters per embed description (Discord's max is 4096; room for the "…" of a cut line).
DESCRIPTION_CHARS: Final = 4000
#: At most this many messages in the channel (each one embed); longer lists are cut with a note.
MAX_MESSAGES: Final = 5
#: The free-games section names at most this many (one short line); the rest are counted.
MAX_FREE_LISTED: Final = 10
#: At most this many replies to /wishlist (one embed each).
MAX_REPLY_EMBEDS: Final = 3
#: The first run comes soon after start-up, so a fresh server gets its pinned list (P8).
FIRST_RUN_DELAY_S: Final = 90.0
EMBED_COLOR: Final = 0x66C0F4  # Steam's light blue


# ---------------------------------------------------------------------- member lookup


async def resolve_member(app: App, text: str | None, caller_id: int) -> MemberRecord | str:
    """Find a family member from what the user typed (`_common.resolve_member_ref` rules).

    Args: text: a member name (case-insensitive), a Discord mention or user id, a
        SteamID64 or profile URL; None = the caller; caller_id: the caller's Discord id.
    Returns: the MemberRecord, or an error text saying what to type instead.
    Raises: StoreError.
    """
    members = await app.store.members.all()
    names = ", ".join(escape_text(m.name) for m in members)
    if text is None or not text.strip():
        found = next((m for m in members if m.discord_id == caller_id), None)
        if found is not None:
            return found
        link = ("or link your Discord account with `/link`"
                if any(c.name == "link" for c in app.registry.commands)
                else "or ask an admin to add your `discord_id` to the bot's config")
        return (f"Your Discord account is not linked to a family member. Name one "
                f"(`member:<name>`; members: {names}), {link}.")
    try:
        steamid, member = await _common.resolve_member_ref(app, text, "member")
    except ArgumentError as exc:
        return f"{exc}. Members: {names}."
    except UpstreamError as exc:
        return f"Steam could not look that account up ({exc}); try a member name: {names}."
    if member is None:
        return f"Steam account `{steamid}` is not in the family. Members: {names}."
    return member


# ---------------------------------------------------------------------- upstream + store


async def refresh_wishlist(app: App, member: MemberRecord) -> bool:
    """Fetch and store one member's wishlist (see `_common.refresh_member_wishlist`)."""
    return await _common.refresh_member_wishlist(app, member)


async def refresh_all_wishlists(app: App, members: Sequence[MemberRecord]) -> None:
    """Refresh every member's wishlist side by side (failures keep their cached copies)."""
    async with trio.open_nursery() as nursery:
        for member in members:
            nursery.start_soon(refresh_wishlist, app, member)


# ---------------------------------------------------------------------- rendering


def price_text(app: App, price: GamePrice | None, details: GameDetails,
               wanting: int = 1) -> str:
    """"**$29.99** (-25%, was $39.99) · $9.99 each for 3 · Steam's low $19.99" (`_money`)."""
    money = Money.for_app(app)
    store = price.store if price is not None else None
    if store is None:
        return money.unpriced(is_free=details.is_free, coming_soon=details.coming_soon)
    if store.currency is None and price is not None and price.currency:
        store = replace(store, currency=price.currency)
    text = money.price(store, bold=True)
    if wanting > 1:
        text += f" · {money.amount(round(store.final_cents / wanting), store.currency)} each for {wanting}"
    low = money.low_of(price)
    if low is not None:
        text += f" · {low}"
    return text


def link(name: str, appid: int) -> str:
    """`[name](<store url>)`: a masked link that does not unfurl into a preview."""
    return f"[{escape_text(name)}](<{_common.store_url(appid)}>)"


def deal_rank(app: App, price: GamePrice | None) -> tuple[int, int]:
    """How good the current deal is as a family reads the line, smaller first: (minus the
    discount percent, then the `_deal_rules` row or len(RULES) when no row holds). -80% is a
    better deal than -10%, even when the -10% happens to be its lowest price ever."""
    th = app.config.thresholds
    verdict = _deal_rules.judge(price, min_discount_pct=th.deal_min_discount_pct,
                                low_buffer=th.historical_low_buffer)
    store = price.store if price is not None else None
    pct = store.discount_pct if store is not None and store.is_discounted else 0
    return (-pct, verdict[0] if verdict else len(_deal_rules.RULES))


@dataclass(frozen=True, slots=True)
class CommonGame:
    """A family-wishlist game; wanted_by: SteamID64s of its wishers; price None if unknown."""
    appid: AppId
    details: GameDetails
    price: GamePrice | None
    wanted_by: tuple[SteamID64, ...]


def select_common(app: App, common: Sequence[tuple[AppId, tuple[SteamID64, ...]]],
                  details: dict[AppId, GameDetails], prices: dict[AppId, GamePrice],
                  library: set[AppId]) -> tuple[list[CommonGame], list[CommonGame]]:
    """The qualifying common-wishlist games (see module doc) as (paid, free), in list order.

    Paid games: most wishers first, then the better deal (`deal_rank`), then by name
    (natural order). Free games (nothing to buy) come apart, by name. The pinned messages
    and the dashboard's wishlist page both list exactly this.
    """
    paid: list[tuple[tuple[object, ...], CommonGame]] = []
    free: list[tuple[tuple[object, ...], CommonGame]] = []
    for appid, steamids in common:
        d = details.get(appid)
        if d is None or appid in library or d.type != "game" or not d.is_family_shareable:
            continue
        game = CommonGame(appid, d, prices.get(appid), tuple(steamids))
        if d.is_free and (game.price is None or game.price.store is None):
            free.append(((_common.natural_key(d.name), appid), game))
            continue
        paid.append(((-len(steamids), *deal_rank(app, game.price),
                      _common.natural_key(d.name), appid), game))
    return [g for _, g in sorted(paid)], [g for _, g in sorted(free)]


async def common_wishlist(app: App) -> tuple[list[CommonGame], list[CommonGame]]:
    """`select_common` of the stored wishlists. Raises: UpstreamError, StoreError."""
    common = await app.store.wishlist.common(app.config.thresholds.wishlist_min_members)
    library = await _common.family_library(app)
    details, prices = await _common.catalog_chunked(
        app, [a for a, _ in common if a not in library])
    return select_common(app, common, details, prices, library)


def common_lines(app: App, paid: Sequence[CommonGame], free: Sequence[CommonGame],
                 names: dict[int, str]) -> tuple[list[str], list[str]]:
    """`select_common`'s games as (paid lines, free lines: a bare link each)."""
    def line(g: CommonGame) -> str:
        who = _common.join_names(names.get(int(s), str(s)) for s in g.wanted_by)
        return (f"{link(g.details.name, g.appid)}: "
                f"{price_text(app, g.price, g.details, len(g.wanted_by))} · wanted by {who}")
    return [line(g) for g in paid], [link(g.details.name, g.appid) for g in free]


def wishlist_embeds(title: str, lines: list[str], empty: str, *, max_embeds: int) -> list[Embed]:
    """Lines packed into at most `max_embeds` embeds; a cut list ends with "…and N more"."""
    chunks = split_lines(lines, DESCRIPTION_CHARS) if lines else [empty]
    if len(chunks) > max_embeds:
        kept = chunks[:max_embeds]
        shown = sum(c.count("\n") + 1 for c in kept)
        kept[-1] += f"\n…and {len(lines) - shown} more"  # DESCRIPTION_CHARS leaves room
        chunks = kept
    return [Embed(title=title if i == 0 else f"{title} ({i + 1}/{len(chunks)})", description=c,
                  color=EMBED_COLOR) for i, c in enumerate(chunks)]


# ---------------------------------------------------------------------- the pinned messages


def _nonce(channel_id: int, slot: int, created: int) -> str:
    """A nonce (<= 25 chars) stable across a retry of the same creation, new after a 404."""
    digest = hashlib.sha256(f"wishlist:{channel_id}:{slot}:{created}".encode()).hexdigest()
    return f"wl{digest[:20]}"


async def _pinned_ids(app: App, channel_id: int) -> set[int]:
    """Ids of the channel's pinned messages (one GET instead of an edit per unchanged part);
    empty when Discord refuses, so every part is then edited as before."""
    try:
        return {int(m["id"]) for m in await app.rest.get_pinned_messages(channel_id)}
    except HTTPError as exc:
        log.warning("cannot read the pinned messages, editing every part [channel:%d cause:%s]",
                    channel_id, exc)
        return set()


def payload_hash(body: dict[str, Any]) -> str:
    """SHA-256 (hex) of a message payload as canonical JSON: equal content, equal hash."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


async def publish(app: App, channel_id: int, embeds: Sequence[Embed]) -> list[int]:
    """Edit the stored wishlist messages in place; create + pin missing ones; drop surplus.

    A part whose payload hash equals the one stored for it is not edited at all (an edit
    that changes nothing still costs a request and marks the message "(edited)"). A part
    deleted by hand while unchanged is noticed at its next change.

    When a stored message is gone (404), it and every later part are posted anew (and the
    old later parts deleted), so the parts stay in reading order.

    Args: channel_id; embeds: one per message. Returns: the message ids now in use.
    Raises: HTTPError other than 404 on an edit (the job fails and is retried with backoff).
    Upstream: PATCH/POST /channels/{id}/messages, PUT /channels/{id}/messages/pins/{id}.
    """
    saved: dict[str, Any] = await app.store.state.get(WISHLIST_MESSAGES_KEY) or {}
    ids: list[int] = [int(i) for i in saved.get("message_ids", [])] \
        if saved.get("channel_id") == channel_id else []
    created = int(saved.get("created", 0))
    hashes: list[str] = [str(h) for h in saved.get("hashes", [])] if ids else []
    out: list[int] = []
    out_hashes: list[str] = []
    broken = False  # once a message is gone, later parts are posted anew to keep the order

    # Parts posted but not pinned (Discord refused the pin): pinned again at the next run.
    unpinned: set[int] = {int(i) for i in saved.get("unpinned", [])} if ids else set()

    def save() -> dict[str, Any]:
        return {"channel_id": channel_id, "message_ids": out + [i for i in ids if i not in out],
                "created": created, "hashes": out_hashes, "unpinned": sorted(unpinned)}

    bodies = [{"content": "", "embeds": [e.to_dict()], "allowed_mentions": NO_MENTIONS}
              for e in embeds]
    unchanged = {slot for slot, body in enumerate(bodies)
                 if slot < min(len(ids), len(hashes)) and hashes[slot] == payload_hash(body)}
    pinned = await _pinned_ids(app, channel_id) if unchanged else set()
    for slot, body in enumerate(bodies):
        digest = payload_hash(body)
        if slot < len(ids) and not broken:
            if slot in unchanged and ids[slot] in pinned:
                out.append(ids[slot])  # the same content: no edit (it would change nothing)
                out_hashes.append(digest)
                continue
            try:
                await app.rest.edit_message(channel_id, ids[slot], **body)
                out.append(ids[slot])
                out_hashes.append(digest)
                continue
            except NotFound:
                log.info("wishlist message was deleted, posting it again [message:%d]", ids[slot])
                broken = True
        msg = await app.rest.create_message(channel_id, embeds=body["embeds"],
                                            allowed_mentions=NO_MENTIONS,
                                            nonce=_nonce(channel_id, slot, created))
        created += 1
        out.append(int(msg["id"]))
        out_hashes.append(digest)
        unpinned.add(int(msg["id"]))
        await app.store.state.set(WISHLIST_MESSAGES_KEY, save(), app.now())
    for message_id in [i for i in out if i in unpinned]:
        # A refused pin leaves the post in place and tells the admins once (Pin Messages).
        if await app.outbox_sender.pin(channel_id, message_id):
            unpinned.discard(message_id)
    unpinned &= set(out)
    for old in ids:
        if old not in out:
            try:
                await app.rest.delete_message(channel_id, old)
            except NotFound:
                pass
    ids = out
    await app.store.state.set(WISHLIST_MESSAGES_KEY, save(), app.now())
    return out


_warned_no_channel = False


async def run_wishlist_job(app: App) -> list[int]:
    """The `wishlist` job: refresh wishlists, compute the common list, update the messages.

    Returns: the message ids in the wishlist channel ([] when no channel is configured).
    Raises: UpstreamError (catalog or library unavailable), StoreError, HTTPError.
    """
    global _warned_no_channel
    members = await app.store.members.all()
    await refresh_all_wishlists(app, members)
    names = {int(m.steamid): m.name for m in members}
    lines, free = common_lines(app, *await common_wishlist(app), names)
    channel = app.config.channels.wishlist
    if channel is None:
        if not _warned_no_channel:
            log.warning("no wishlist channel configured: the common wishlist is not posted; "
                        "set channels.wishlist in config.toml")
            _warned_no_channel = True
        return []
    paid = len(lines)
    if free:  # their own short section: nothing to buy, so no price line each
        more = f" and {len(free) - MAX_FREE_LISTED} more" if len(free) > MAX_FREE_LISTED else ""
        lines = [*lines, f"**Free to play, nothing to buy ({len(free)}):** "
                 + ", ".join(free[:MAX_FREE_LISTED]) + more]
    embeds = wishlist_embeds(
        f"Family wishlist: {paid} game{'s' if paid != 1 else ''} to buy, wished by "
        f"{app.config.thresholds.wishlist_min_members}+ members", lines,
        "No game is on several members' wishlists (or the family already has them all).",
        max_embeds=MAX_MESSAGES)
    ids = await publish(app, int(channel), embeds)
    log.info("family wishlist updated [games:%d messages:%d]", len(lines), len(ids))
    return ids


async def member_wishlist_embeds(app: App, member: MemberRecord) -> list[Embed]:
    """`/wishlist` for one member: the stored list (refreshed first), owned games marked."""
    await refresh_wishlist(app, member)
    items = await app.store.wishlist.items(member.steamid)
    library = await _common.family_library(app)
    appids = [AppId(int(i.appid)) for i in items]
    details, prices = await _common.catalog_chunked(app, appids)
    lines, owned = [], 0
    for appid in appids:
        d = details.get(appid)
        if d is None:
            lines.append(f"app {appid} (Steam no longer lists it)")
            continue
        mark = ""
        if appid in library:
            owned += 1
            mark = " ✅ the family library has it"
        lines.append(f"{link(d.name, appid)}: {price_text(app, prices.get(appid), d)}{mark}")
    title = (f"{escape_text(member.name)}'s wishlist: {len(items)} game{'s' if len(items) != 1 else ''}"
             + (f", {owned} already in the family library" if owned else ""))
    return wishlist_embeds(title, lines, "The wishlist is empty (or not public).",
                           max_embeds=MAX_REPLY_EMBEDS)


def setup(app: App) -> None:
    """Register /wishlist and the `wishlist` job."""

    @app.registry.command("wishlist", "One member's Steam wishlist; games the family has are marked",
                          options=[string("member", "Name, @mention or SteamID64 (default: you)",
                                          required=False)])
    async def wishlist_command(ctx: CommandContext) -> None:
        member = await resolve_member(app, ctx.args.get("member"), ctx.user_id)  # type: ignore[arg-type]
        if isinstance(member, str):
            await ctx.reply(member, ephemeral=True)
            return
        try:
            embeds = await member_wishlist_embeds(app, member)
        except UpstreamError as exc:
            await ctx.reply(f"Steam did not answer, try again in a few minutes ({exc}).",
                            ephemeral=True)
            return
        for group in pack_embeds(embeds):
            await ctx.reply(embeds=group)

    app.scheduler.add("wishlist", run_wishlist_job, interval_s=app.config.schedules.wishlist_s,
                      timeout_s=600.0, backoff_base_s=60.0, first_delay_s=FIRST_RUN_DELAY_S)
