"""/coop: games of the family library enough members own to play them together.

Family Sharing lends one licence to one player at a time, so playing a game together needs
as many copies as players. `/coop copies:N` lists the shareable multi-player or co-op games
of which at least N members own a copy, with their current price (for a member who wants
to buy one more copy).

Where the data comes from:
- the library: the stored snapshot (`store.library.apps()`, written by the new_games job);
  if it was never fetched, GetSharedLibraryApps is asked directly, so /coop works on a fresh
  database (the reference bot answered from a warm cache only, P3). That answer is used, not
  stored: recording the library (and its first-run baseline) is the new_games job's work.
- details and prices: `app.catalog.details_and_prices`, batched and cached, one normalised
  GameDetails whether fresh or cached, so a game is never dropped the first time it is seen.
  Multi-player: GameDetails.is_multiplayer (categories 1, 9, 36, 38, 48, 49); shareable: the
  library's exclude_reason 0 and the store's Family Sharing category (62).

Logger: `familybot_trio.features.coop`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from familybot_trio.errors import StoreError, UpstreamError
from familybot_trio.features import _common
from familybot_trio.features._money import Money
from familybot_trio.store import AppId, SteamID64
from familybot_trio.upstream.models import FamilyGroupId, GameDetails, GamePrice
from gateway.commands import CommandContext, integer
from gateway.messages import EMBED_DESCRIPTION_MAX, Embed, pack_embeds, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.coop")

#: A Steam family has at most 6 members; fewer than 2 copies is nothing to play together.
MIN_COPIES: Final = 2
MAX_COPIES: Final = 6
#: Longest list we post (more would flood the channel); the rest is counted.
MAX_LISTED: Final = 100
COLOR: Final = 0x5C7E10
EXCLUDE_REASON_INCLUDED: Final = 0  # GetSharedLibraryApps: 0 = shareable in this family


@dataclass(frozen=True, slots=True)
class CoopGame:
    """One /coop result: the app, its owners (SteamID64s), details and price (or None)."""

    appid: AppId
    owner_steamids: tuple[SteamID64, ...]
    details: GameDetails
    price: GamePrice | None


async def library_owners(app: App) -> dict[AppId, tuple[SteamID64, ...]]:
    """Shareable library apps -> owners, from the store, else straight from Steam.

    Returns: appid -> owner SteamID64s, only apps with exclude_reason 0.
    Raises: StoreError; TokenExpired / Unauthorized (no valid access token for the
        fallback fetch); UpstreamError.
    Upstream: IFamilyGroupsService/GetSharedLibraryApps/v1 (only when nothing is stored).
    """
    stored = await app.store.library.apps()
    if stored:
        return {a.appid: a.owner_steamids for a in stored
                if a.exclude_reason == EXCLUDE_REASON_INCLUDED}
    log.info("no stored family library yet, asking Steam directly [family:%d]",
             app.config.family_group_id)
    shared = await app.steam.get_shared_library_apps(
        FamilyGroupId(app.config.family_group_id), include_own=True, include_excluded=False)
    return {AppId(int(a.appid)): tuple(SteamID64(int(s)) for s in a.owner_steamids)
            for a in shared if a.exclude_reason == EXCLUDE_REASON_INCLUDED}


async def coop_games(app: App, copies: int) -> tuple[list[CoopGame], int]:
    """Shareable multi-player/co-op games with at least `copies` owners.

    Returns: (games sorted by copies then name, apps skipped because the store knows no
        details for them).
    Raises: as library_owners; UpstreamError when the catalog cannot be read.
    Upstream: IStoreBrowseService/GetItems and ITAD prices through app.catalog.
    """
    owners = {a: o for a, o in (await library_owners(app)).items() if len(o) >= copies}
    details, prices = await app.catalog.details_and_prices(list(owners),
                                                           country=app.config.country)
    games = [CoopGame(a, owners[a], d, prices.get(a)) for a, d in details.items()
             if a in owners and d.type == "game" and d.is_multiplayer and d.is_family_shareable]
    games.sort(key=lambda g: (-len(g.owner_steamids), g.details.name.casefold(), g.appid))
    return games, sum(1 for a in owners if a not in details)


def price_text(app: App, game: CoopGame) -> str:
    """"free", "$19.99", "$9.99 (-50%, was $19.99)" or "not sold in <country>" (`_money`)."""
    money = Money.for_app(app)
    store = game.price.store if game.price else game.details.price
    if store is None:
        return money.unpriced(is_free=game.details.is_free)
    return money.price(store)


def coop_lines(app: App, games: Sequence[CoopGame], names: Mapping[int, str]) -> list[str]:
    """One markdown line per game: link, copies and owners (by name), price."""
    return [f"• {_common.game_link(g.details.name, g.appid)} · {len(g.owner_steamids)} copies "
            f"({_common.join_names(sorted(names.get(int(s), str(s)) for s in g.owner_steamids))})"
            f" · {price_text(app, g)}" for g in games]


async def coop_messages(app: App, copies: int) -> list[list[dict]]:
    """The /coop answer as messages of embeds (each message <= 10 embeds, 6,000 chars).

    Raises: as coop_games.
    """
    games, skipped = await coop_games(app, copies)
    if not games:
        return [[Embed(description=f"No shareable multi-player or co-op game has {copies} or "
                       "more copies in the family library.", color=COLOR).to_dict()]]
    names = await _common.member_names(app)
    lines = coop_lines(app, games[:MAX_LISTED], names)
    if len(games) > MAX_LISTED:
        lines.append(f"…and {len(games) - MAX_LISTED} more; ask for more copies to narrow it.")
    notes = [f"{len(games)} games"]
    if skipped:
        notes.append(f"{skipped} apps without store details skipped")
    chunks = split_lines(lines, EMBED_DESCRIPTION_MAX)
    title = f"Play together: games with {copies}+ copies"
    embeds = [Embed(title=title if i == 0 else f"{title} ({i + 1}/{len(chunks)})",
                    description=chunk, color=COLOR,
                    footer=" · ".join(notes) if i == len(chunks) - 1 else None)
              for i, chunk in enumerate(chunks)]
    return pack_embeds(embeds)


def setup(app: App) -> None:
    """Register /coop."""

    @app.registry.command(
        "coop", "Multi-player and co-op games enough of us own to play together",
        options=[integer("copies", f"At least this many members own it ({MIN_COPIES}-"
                         f"{MAX_COPIES}, default {MIN_COPIES})", required=False,
                         min_value=MIN_COPIES, max_value=MAX_COPIES)])
    async def coop_command(ctx: CommandContext) -> None:
        copies = ctx.args.get("copies")
        copies = MIN_COPIES if copies is None else int(copies)  # type: ignore[call-overload]
        try:
            messages = await coop_messages(app, copies)
        except (UpstreamError, StoreError) as exc:
            log.warning("coop failed [copies:%d cause:%s]", copies, exc)
            await ctx.reply(f"Could not build the co-op list: {exc}", ephemeral=True)
            return
        for embeds in messages:
            await ctx.reply(embeds=embeds)
