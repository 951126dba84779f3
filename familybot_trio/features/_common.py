"""Helpers every feature may use (features never import each other; they import this).

Prices are formatted by babel for the family's country and language: never a hard-coded
"$". The currency comes from the price record when known, else from the country.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from babel.numbers import format_currency, get_territory_currencies

from gateway.messages import escape_markdown

if TYPE_CHECKING:
    from familybot_trio.app import App

#: Prices older than this are shown with their age ("price from 7 h ago").
STALE_PRICE_S: Final = 6 * 3600
STORE_URL: Final = "https://store.steampowered.com/app/{appid}/"
CAPSULE_URL: Final = "https://cdn.akamai.steamstatic.com/steam/apps/{appid}/header.jpg"


@functools.lru_cache(maxsize=64)
def currency_for(country: str) -> str:
    """ISO 4217 currency of an ISO 3166 country (e.g. "DE" -> "EUR"); "USD" if unknown."""
    found = get_territory_currencies(country.upper(), start_date=dt.date.today())
    return found[0] if found else "USD"


def locale_for(language: str, country: str) -> str:
    """A babel locale from the config's language and country ("en", "DE" -> "en_DE")."""
    return language if "_" in language else f"{language}_{country.upper()}"


def format_money(app: App, cents: int | None, currency: str | None = None) -> str:
    """`cents` as money in the family's locale, e.g. 1999 -> "$19.99" or "19,99 €".

    Args: cents: minor units (None -> "n/a"); currency: ISO 4217, default the country's.
    """
    if cents is None:
        return "n/a"
    cfg = app.config
    cur = currency or currency_for(cfg.country)
    try:
        return format_currency(cents / 100, cur, locale=locale_for(cfg.language, cfg.country))
    except Exception:  # an odd locale/currency pair must not break an announcement
        return format_currency(cents / 100, cur, locale="en")


def store_url(appid: int) -> str:
    """The Steam store page of an app."""
    return STORE_URL.format(appid=appid)


def capsule_url(appid: int) -> str:
    """The header capsule image of an app."""
    return CAPSULE_URL.format(appid=appid)


def game_link(name: str, appid: int) -> str:
    """A markdown link `[name](store url)` with the name escaped."""
    return f"[{escape_markdown(name)}]({store_url(appid)})"


async def member_names(app: App) -> dict[int, str]:
    """SteamID64 -> display name of every known member (config seeds, /link adds)."""
    return {int(m.steamid): m.name for m in await app.store.members.all()}


def join_names(names: Iterable[str]) -> str:
    """"A", "A and B", "A, B and C", each markdown-escaped."""
    items = [escape_markdown(n) for n in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def age_note(fetched_at: dt.datetime | None, now: dt.datetime) -> str:
    """"" when fresh, else " (price from 7 h ago)" for prices older than STALE_PRICE_S."""
    if fetched_at is None:
        return ""
    age_s = (now - fetched_at).total_seconds()
    if age_s <= STALE_PRICE_S:
        return ""
    return f" (price from {age_s / 3600:.0f} h ago)"


def warm_up(language: str, country: str) -> None:
    """Load babel's locale data (a file read of tens of ms). Call once in a worker thread."""
    format_currency(0, currency_for(country), locale=locale_for(language, country))
