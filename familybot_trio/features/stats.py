"""/stats: the family library in figures, in one embed.

What each figure counts (the stored library snapshot, apps still in it):
- library: every game of the family library, excluded ones too (the library job asks
  GetSharedLibraryApps for games only);
- shareable games: app type "game" with exclude_reason 0 (lent in the family);
- several copies: shareable games at least two members own;
- value: the sum of Steam's current price (after any discount) of the shareable games that
  have a price in the family's country, in its currency; free and unsold games add nothing;
- brought by: per member, shareable games nobody else owns;
- top categories: the store categories most shareable games list (Family Sharing itself
  left out, since every shareable game lists it);
- most wished, not owned: games on most members' wishlists that the library lacks.

Details and prices come from `app.catalog` (batched, cached), so a warm cache answers
without any upstream request. Genres are not shown: GetItems (the batch endpoint the
catalog uses) does not return them.

Logger: `familybot_trio.features.stats`.
Upstream: IStoreBrowseService/GetItems through app.catalog.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from familybot_trio.errors import StoreError, UpstreamError
from familybot_trio.features import _common
from familybot_trio.features._money import Money, currency_for
from familybot_trio.store import AppId, SteamID64
from familybot_trio.upstream.models import CATEGORY_FAMILY_SHARING
from gateway.commands import CommandContext
from gateway.messages import Embed, EmbedField, escape_text, truncate

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.stats")

COLOR: Final = 0x1B2838
TOP_CATEGORIES: Final = 5
TOP_WISHED: Final = 5
GAME: Final = "game"
LIBRARY_JOB: Final = "new_games"  # the job that stores the library snapshot
#: Steam store category id -> its English description (storefront appdetails
#: `categories[].description`, as in the recorded bodies of sandbox/data/steam_store).
CATEGORY_NAMES: Final = {
    1: "Multi-player", 2: "Single-player", 9: "Co-op", 18: "Partial Controller Support",
    20: "MMO", 22: "Steam Achievements", 23: "Steam Cloud", 24: "Shared/Split Screen",
    27: "Cross-Platform Multiplayer", 28: "Full controller support", 29: "Steam Trading Cards",
    30: "Steam Workshop", 35: "In-App Purchases", 36: "Online PvP", 37: "Shared/Split Screen PvP",
    38: "Online Co-op", 39: "Shared/Split Screen Co-op", 41: "Remote Play on Phone",
    42: "Remote Play on Tablet", 43: "Remote Play on TV", 44: "Remote Play Together",
    47: "LAN PvP", 48: "LAN Co-op", 49: "PvP", 62: "Family Sharing",
}


@dataclass(frozen=True, slots=True)
class FamilyStats:
    """The figures of /stats (see the module docstring for what each counts).

    Attributes: library, shareable, several_copies: counts; value_cents: minor units of
        `currency`; priced: games the value sums; brought: member SteamID64 -> games only
        they own; categories: (category id, games) most first; wished: (appid, wishers)
        most wished first, not in the library.
    """

    library: int
    shareable: int
    several_copies: int
    value_cents: int
    currency: str
    priced: int
    brought: dict[SteamID64, int]
    categories: list[tuple[int, int]]
    wished: list[tuple[AppId, int]]


async def family_stats(app: App) -> tuple[FamilyStats, dict[AppId, str]]:
    """Compute the figures from the store and the catalog.

    Returns: (FamilyStats, appid -> name for the wished games shown).
    Raises: StoreError; UpstreamError when the catalog cannot be read.
    """
    apps = await app.store.library.apps()
    games = [a for a in apps if a.app_type == GAME and a.exclude_reason == 0]
    wished_all = await app.store.wishlist.common(min_members=1)
    owned = {a.appid for a in apps}
    wished = sorted(((a, len(s)) for a, s in wished_all if a not in owned),
                    key=lambda p: (-p[1], p[0]))[:TOP_WISHED]
    ids = [g.appid for g in games] + [a for a, _ in wished]
    details, prices = await app.catalog.details_and_prices(ids, country=app.config.country)
    currency = currency_for(app.config.country)
    value = priced = 0
    cats: collections.Counter[int] = collections.Counter()
    for g in games:
        price = prices.get(g.appid)
        store = price.store if price else None
        if store is not None:
            value += store.final_cents
            priced += 1
            currency = store.currency or currency
        d = details.get(g.appid)
        if d is not None:
            cats.update(c for c in d.category_ids if c != CATEGORY_FAMILY_SHARING)
    brought: dict[SteamID64, int] = collections.Counter(
        g.owner_steamids[0] for g in games if len(g.owner_steamids) == 1)
    stats = FamilyStats(
        library=len(apps), shareable=len(games),
        several_copies=sum(1 for g in games if len(g.owner_steamids) >= 2),
        value_cents=value, currency=currency, priced=priced, brought=dict(brought),
        categories=sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES],
        wished=wished)
    return stats, {a: details[a].name for a, _ in wished if a in details}


async def stats_embed(app: App) -> Embed:
    """The /stats answer as one embed (every part within Discord's limits).

    Raises: as family_stats.
    """
    stats, wished_names = await family_stats(app)
    names = await _common.member_names(app)
    members = sorted(names.items(), key=lambda kv: kv[1].casefold())
    brought = "\n".join(f"{escape_text(name)}: {stats.brought.get(SteamID64(sid), 0)}"
                        for sid, name in members) or "no members known"
    cats = "\n".join(f"{CATEGORY_NAMES.get(c, f'category {c}')}: {n}"
                     for c, n in stats.categories) or "no store details yet"
    wished = "\n".join(
        f"{_common.game_link(wished_names.get(a, f'App {a}'), a)} · {n} wish"
        f"{'' if n == 1 else 'es'}" for a, n in stats.wished) or "nothing on anyone's wishlist"
    fields = (
        EmbedField("Library", f"{stats.library} games", inline=True),
        EmbedField("Shareable games", str(stats.shareable), inline=True),
        EmbedField("Several copies", str(stats.several_copies), inline=True),
        EmbedField("Value at today's prices",
                   f"{Money.for_app(app).amount(stats.value_cents, stats.currency)} "
                   f"({stats.priced} priced games)", inline=False),
        EmbedField("Games only they brought", truncate(brought, 1024), inline=True),
        EmbedField("Top categories", truncate(cats, 1024), inline=True),
        EmbedField("Most wished, not owned", truncate(wished, 1024), inline=False),
    )
    return Embed(title="The family library in figures", color=COLOR, fields=fields,
                 footer="Shareable: games Family Sharing lends to every member")


def setup(app: App) -> None:
    """Register /stats (everyone, DMs allowed)."""

    @app.registry.command("stats", "The family library in figures: size, copies, value, "
                          "who brought what, most wished")
    async def stats_command(ctx: CommandContext) -> None:
        try:
            if not await app.store.library.apps() and any(
                    j.name == LIBRARY_JOB for j in app.scheduler.jobs):
                await app.scheduler.run_now(LIBRARY_JOB)  # first use: read the library now
            embed = await stats_embed(app)
        except (StoreError, UpstreamError) as exc:
            log.warning("stats failed [cause:%s]", exc)
            await ctx.reply(truncate(f"Could not compute the figures right now: {exc}", 300),
                            ephemeral=True)
            return
        await ctx.reply(embeds=[embed])
