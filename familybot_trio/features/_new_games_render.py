"""How the new-games feature draws its posts: one embed per game, bundles, price texts.

Pure functions of their arguments (no I/O, no trio): `new_games.plan` calls them inside the
library write transaction, in the writer thread. Prices through `_money` (the one formatter).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from familybot_trio.features import _common
from familybot_trio.features._money import FREE, Money
from familybot_trio.store import AppId, LibraryEntry, Snowflake
from familybot_trio.upstream.models import GameDetails, GamePrice
from gateway.messages import Embed, EmbedField, escape_text, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

__all__ = ["BUNDLE_CHARS_MAX", "COLOR", "Facts", "bundle_embeds", "game_embed", "low_text",
           "price_text"]

COLOR: Final = 0x66C0F4  # Steam's light blue
#: Characters of game lines per bundle embed (a description holds 4,096).
BUNDLE_CHARS_MAX: Final = 3900


@dataclass(frozen=True, slots=True)
class Facts:
    """What the planner needs besides the diff, fetched before the write transaction.

    Attributes: channel_id (None: no announcements); since (announce_since as aware UTC, or
    None); bundle_threshold; names (SteamID64 -> member name); details / prices (catalog
    answers for the candidate appids, possibly partial); app_names (names from the snapshot).
    """

    channel_id: Snowflake | None
    since: dt.datetime | None
    bundle_threshold: int
    names: Mapping[int, str]
    details: Mapping[AppId, GameDetails]
    prices: Mapping[AppId, GamePrice]
    app_names: Mapping[AppId, str]




def _owners(entry: LibraryEntry, names: Mapping[int, str]) -> list[str]:
    return [names.get(int(s), str(int(s))) for s in entry.owner_steamids]


def price_text(app: App, details: GameDetails | None, price: GamePrice | None) -> str:
    """The current price in the family's currency, e.g. "$14.99 (-25%, was $19.99)" (`_money`)."""
    money = Money.for_app(app)
    if details is not None and details.is_free:
        return FREE
    store = price.store if price is not None else None
    if store is None and details is not None:
        store = details.price
    if store is None and details is None:
        return "unknown"  # the store did not answer: say nothing about where it is sold
    if store is None:
        return money.unpriced(is_free=False, coming_soon=details.coming_soon)
    if store.currency is None and price is not None and price.currency:
        store = replace(store, currency=price.currency)
    return money.price(store)


def low_text(app: App, price: GamePrice | None) -> str:
    """The historical low saying which one (Steam's or any store's), or "unknown"."""
    return Money.for_app(app).low_of(price) or "unknown"


def _name(appid: AppId, facts: Facts) -> str:
    d = facts.details.get(appid)
    return (d.name if d and d.name else None) or facts.app_names.get(appid) or f"App {appid}"


def game_embed(app: App, entry: LibraryEntry, facts: Facts) -> Embed:
    """The announcement embed of one new game: name, link, capsule, owners, price, low."""
    appid = entry.appid
    details, price = facts.details.get(appid), facts.prices.get(appid)
    owners = _owners(entry, facts.names)
    acquired = entry.rt_time_acquired
    return Embed(
        title=escape_text(_name(appid, facts)), url=_common.store_url(appid), color=COLOR,
        description=f"New in the family library, shared by {_common.join_names(owners)}.",
        image_url=(details.header_image if details and details.header_image
                   else _common.capsule_url(appid)),
        fields=(EmbedField("Owner" if len(owners) == 1 else "Owners",
                           _common.join_names(owners) or "unknown", inline=True),
                EmbedField("Price now", price_text(app, details, price), inline=True),
                EmbedField("Historical low", low_text(app, price), inline=True)),
        footer=f"appid {appid}", timestamp=acquired.isoformat() if acquired else None)


def bundle_embeds(app: App, entries: Sequence[LibraryEntry], facts: Facts) -> list[Embed]:
    """Many new games as embeds naming every one: a line per game, newest first.

    Each embed holds at most BUNDLE_CHARS_MAX characters of lines (Discord: 4,096 per
    description); the first is titled "N new games in the family library", the others
    "(2/3)"... `plan` packs them into as many messages as Discord's limits need.
    """
    def newest(e: LibraryEntry) -> tuple[float, list[object]]:
        when = e.rt_time_acquired.timestamp() if e.rt_time_acquired else 0.0
        return -when, _common.natural_key(_name(e.appid, facts))

    lines = []
    for e in sorted(entries, key=newest):
        price = price_text(app, facts.details.get(e.appid), facts.prices.get(e.appid))
        lines.append(f"• {_common.game_link(_name(e.appid, facts), e.appid)} · "
                     f"{_common.join_names(_owners(e, facts.names))} · {price}")
    chunks = split_lines(lines, limit=BUNDLE_CHARS_MAX)
    title = f"{len(entries)} new games in the family library"
    return [Embed(title=title if i == 0 else f"{title} ({i + 1}/{len(chunks)})",
                  description=c, color=COLOR) for i, c in enumerate(chunks)]


