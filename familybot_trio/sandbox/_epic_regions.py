"""The Epic feed by country: the recorded bodies re-priced into the country's currency.

The real `freeGamesPromotions` answers in the currency of `country` (prices, `currencyCode`,
`fmtPrice` in the request's locale; SOURCES.md: "Parameters locale, country and
allowCountries change the currency"), and answers an invalid country with a GraphQL error
and `searchStore: null` (the recorded `free_games_promotions_error_invalid_country.json`).

Which prices are real: the Deliver Us Mars and holiday bodies were recorded in Canada
(CAD), the mega-sale vault body in the US (USD). A price is served as recorded when the
element was recorded in the asked currency. Otherwise it is derived from the recorded price
with `RATES` (approximate exchange rates of late 2023, when the bodies were recorded, rounded
to the store's usual .99 endings): illustrative, NOT Epic's regional price tiers, which
no recording shows. Free elements (price 0) are 0 everywhere. Countries outside `REGIONS`
are priced in USD, as Epic does for its USD-priced regions (its region list: AFRICA, ANZ,
CIS, AR, ... in USD; dev.epicgames.com "Custom Price Tiers").
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Final

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

#: Country -> currency the sandbox answers in (Epic's region list: US USD, CA CAD, the
#: euro region EUR, GB GBP, BR2 BRL).
REGIONS: Final[dict[str, str]] = {"US": "USD", "CA": "CAD", "DE": "EUR", "FR": "EUR",
                                  "GB": "GBP", "BR": "BRL"}
#: Value of 1 unit of the recorded currency in the target currency (approximate, 2023-11).
RATES: Final[dict[tuple[str, str], float]] = {
    ("CAD", "USD"): 0.73, ("CAD", "EUR"): 0.67, ("CAD", "GBP"): 0.58, ("CAD", "BRL"): 3.58,
    ("USD", "CAD"): 1.37, ("USD", "EUR"): 0.92, ("USD", "GBP"): 0.80, ("USD", "BRL"): 4.90,
}
_COUNTRY: Final = re.compile(r"^[A-Z]{2}$")


def currency_for(country: str) -> str | None:
    """The currency the sandbox's Epic feed answers `country` in, or None for a code that is
    not an ISO 3166-1 alpha-2 country (Epic's invalid_country_code)."""
    if not _COUNTRY.match(country or "") or country not in Locale("en").territories:
        return None
    return REGIONS.get(country, "USD")


def _price(cents: int, source: str, target: str) -> int:
    if cents == 0 or source == target:
        return cents
    units = cents / 100 * RATES[(source, target)]
    return max(99, round(units) * 100 - 1)           # 24.40 -> 23.99, 0.30 -> 0.99


def _fmt(cents: int, currency: str, locale: str) -> str:
    if cents == 0:
        return "0"                                    # as recorded for free prices
    try:
        return format_currency(cents / 100, currency, locale=locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return format_currency(cents / 100, currency, locale="en")


def reprice(body: dict[str, Any], currency: str, locale: str) -> dict[str, Any]:
    """A copy of a freeGamesPromotions body with every element priced in `currency`.

    A discount keeps its recorded ratio (Gloomhaven's 60 % stays 60 %). Returns a new dict.
    """
    out = copy.deepcopy(body)
    for e in ((out.get("data") or {}).get("Catalog") or {}).get("searchStore", {}).get(
            "elements") or ():
        total = (e.get("price") or {}).get("totalPrice")
        if not total:
            continue
        source = total.get("currencyCode", currency)
        original = _price(int(total.get("originalPrice", 0)), source, currency)
        recorded = int(total.get("originalPrice", 0))
        ratio = int(total.get("discountPrice", recorded)) / recorded if recorded else 1.0
        discount = original if ratio == 1.0 else round(original * ratio)
        total.update(originalPrice=original, discountPrice=discount, discount=original - discount,
                     currencyCode=currency)
        total["fmtPrice"] = {"originalPrice": _fmt(original, currency, locale),
                             "discountPrice": _fmt(discount, currency, locale),
                             "intermediatePrice": _fmt(discount, currency, locale)}
    return out


def invalid_country(error_body: dict[str, Any], value: str) -> dict[str, Any]:
    """The recorded invalid-country error body, naming the value the request sent."""
    out = copy.deepcopy(error_body)
    for err in out.get("errors") or ():
        service = json.loads(err.get("serviceResponse") or "{}")
        service["errorMessage"] = (f"Sorry the value you entered: {value}, does not appear to "
                                   "be a valid ISO country code.")
        service["messageVars"] = [value]
        err["serviceResponse"] = json.dumps(service, separators=(",", ":"))
    return out
