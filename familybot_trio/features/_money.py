"""The one money formatter every feature uses: amounts, discounts, "free", "not sold in X".

Every price a family reads goes through `Money` so /coop, /wishlist, deals, new games, free
games (and any new feature) say the same thing the same way, in the family's locale (Babel,
from `[prices] language` + `country`, e.g. "en" + "US" -> en_US):

    money = Money.for_app(app)              # or Money("en", "DE") outside a running app
    money.amount(1999, "USD")               # "$19.99"; en_DE + EUR: "19,99 €"
    money.discount(60)                      # "-60%"; in de_DE or fr_FR: "-60 %" (Babel's rule)
    money.price(store)                      # "$9.99 (-75%, was $39.99)" or "$19.99"
    money.unpriced(is_free=..., coming_soon=...)   # FREE / NOT_PRICED_YET / "not sold in Germany"
    money.low(cents, currency, steam_only=True)    # "Steam's low $4.99" | "lowest anywhere $3.99"

Words (constants, so tests and other modules can refer to them): FREE = "free",
NOT_PRICED_YET = "not priced yet" (coming soon), `not_sold()` = "not sold in <country name>"
with the country named by Babel in the family's language. Discounts are Babel's percent
format of a negative fraction, so their spacing follows the locale (CLDR), everywhere alike.

An odd locale/currency pair never breaks an announcement: formatting falls back to "en".
Babel reads locale data from files on first use: call `warm_up` once in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_percent, get_territory_currencies

from familybot_trio.upstream.models import GamePrice, PriceOverview

if TYPE_CHECKING:
    from familybot_trio.app import App

__all__ = ["ANY_STORE_LOW_LABEL", "FREE", "NOT_PRICED_YET", "STEAM_LOW_LABEL", "Money",
           "currency_for", "historical_low", "locale_for"]

FREE: Final = "free"
NOT_PRICED_YET: Final = "not priced yet"
#: Which historical low a price line shows (ITAD prices/v3 with `shops=61`: storeLow is the
#: lowest Steam price; historyLow.all the lowest at any store ITAD tracks).
STEAM_LOW_LABEL: Final = "Steam's low"
ANY_STORE_LOW_LABEL: Final = "lowest anywhere"


@functools.lru_cache(maxsize=64)
def currency_for(country: str) -> str:
    """ISO 4217 currency of an ISO 3166 country (e.g. "DE" -> "EUR"); "USD" if unknown."""
    found = get_territory_currencies(country.upper(), start_date=dt.date.today())
    return found[0] if found else "USD"


def locale_for(language: str, country: str) -> str:
    """A Babel locale from the config's language and country ("en", "DE" -> "en_DE")."""
    return language if "_" in language else f"{language}_{country.upper()}"


@dataclass(frozen=True, slots=True)
class Money:
    """Formats money for one family. Args: language ("en", "pt_BR"); country ("US", ISO 3166)."""

    language: str
    country: str

    @classmethod
    def for_app(cls, app: App) -> Money:
        """The formatter of the running bot's `[prices]` config."""
        return _cached(app.config.language, app.config.country)

    @property
    def locale(self) -> str:
        """The Babel locale identifier, e.g. "en_US"."""
        return locale_for(self.language, self.country)

    def amount(self, cents: int, currency: str | None = None) -> str:
        """`cents` (minor units) in `currency` (ISO 4217; default the country's): "$19.99"."""
        cur = currency or currency_for(self.country)
        try:
            return format_currency(cents / 100, cur, locale=self.locale)
        except (ValueError, UnknownLocaleError):  # an odd pair must not break a post
            return format_currency(cents / 100, cur, locale="en")

    def discount(self, pct: int) -> str:
        """A discount of `pct` percent (0-100) as the locale writes it: "-60%" / "-60 %"."""
        try:
            return format_percent(-pct / 100, locale=self.locale)
        except (ValueError, UnknownLocaleError):
            return format_percent(-pct / 100, locale="en")

    def country_name(self) -> str:
        """The family's country as Babel names it in the family's language ("Germany")."""
        try:
            return Locale.parse(self.locale).territories.get(self.country.upper(),
                                                             self.country.upper())
        except (ValueError, UnknownLocaleError):
            return self.country.upper()

    def not_sold(self) -> str:
        """"not sold in <country>": the app has no store price in the family's country."""
        return f"not sold in {self.country_name()}"

    def unpriced(self, *, is_free: bool, coming_soon: bool = False) -> str:
        """Words for an app without a store price: FREE, NOT_PRICED_YET or `not_sold()`."""
        if is_free:
            return FREE
        return NOT_PRICED_YET if coming_soon else self.not_sold()

    def price(self, store: PriceOverview, *, bold: bool = False) -> str:
        """"$9.99 (-75%, was $39.99)" for a discount, else "$19.99"; bold: the current price
        in markdown bold (Discord)."""
        now = self.amount(store.final_cents, store.currency)
        text = f"**{now}**" if bold else now
        if store.is_discounted:
            text += (f" ({self.discount(store.discount_pct)}, was "
                     f"{self.amount(store.initial_cents, store.currency)})")
        return text

    def low(self, cents: int, currency: str | None, *, steam_only: bool) -> str:
        """A historical low, saying which one: "Steam's low $4.99" or "lowest anywhere $3.99".

        Args: steam_only: True for ITAD's storeLow (Steam only, `shops=61`), False for its
            all-store historyLow.
        """
        label = STEAM_LOW_LABEL if steam_only else ANY_STORE_LOW_LABEL
        return f"{label} {self.amount(cents, currency)}"

    def low_of(self, price: GamePrice | None) -> str | None:
        """The low `historical_low` picks for `price`, labelled (`low`); None when unknown."""
        found = historical_low(price)
        if found is None or price is None:
            return None
        return self.low(found[0], price.currency, steam_only=found[1])

    def warm_up(self) -> None:
        """Load Babel's locale data (a file read of tens of ms). Call in a worker thread."""
        self.amount(0)
        self.discount(0)
        self.country_name()


def historical_low(price: GamePrice | None) -> tuple[int, bool] | None:
    """The low a Steam price is compared with: (cents, steam_only), or None when unknown.

    Steam's own low (ITAD storeLow, asked with `shops=61`) when ITAD gave one: the fair
    comparison for a Steam price (reference pitfall P28); else ITAD's all-store historyLow.
    """
    if price is None:
        return None
    if price.store_low_cents is not None:
        return price.store_low_cents, True
    if price.history_low_cents is not None:
        return price.history_low_cents, False
    return None


@functools.lru_cache(maxsize=16)
def _cached(language: str, country: str) -> Money:
    return Money(language, country)
