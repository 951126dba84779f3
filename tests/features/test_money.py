"""The one money formatter (features/_money.py): words and formats every feature shares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from familybot_trio.features import _money
from familybot_trio.features._money import FREE, NOT_PRICED_YET, Money
from familybot_trio.upstream.models import AppId, GamePrice, PriceOverview

NBSP = "\u00a0"


def _store(final: int, initial: int, pct: int, currency: str | None = "USD") -> PriceOverview:
    return PriceOverview(final, initial, pct, currency)


@pytest.mark.parametrize(("language", "country", "want"), [
    ("en", "US", "-60%"),
    ("en", "GB", "-60%"),
    ("fr", "FR", f"-60{NBSP}%"),   # CLDR: French puts a (no-break) space before %
    ("de", "DE", f"-60{NBSP}%"),
])
def test_discounts_follow_the_locale(language: str, country: str, want: str) -> None:
    assert Money(language, country).discount(60) == want


def test_amounts_and_discounted_prices() -> None:
    us, de = Money("en", "US"), Money("de", "DE")
    assert us.amount(1999) == "$19.99"
    assert de.amount(975, "EUR") == f"9,75{NBSP}€"
    assert us.price(_store(999, 3999, 75)) == "$9.99 (-75%, was $39.99)"
    assert us.price(_store(999, 3999, 75), bold=True) == "**$9.99** (-75%, was $39.99)"
    assert us.price(_store(1999, 1999, 0)) == "$19.99"


def test_the_words_for_free_not_sold_and_coming_soon() -> None:
    us, de = Money("en", "US"), Money("en", "DE")
    assert us.unpriced(is_free=True) == FREE == "free"
    assert us.unpriced(is_free=False, coming_soon=True) == NOT_PRICED_YET
    assert us.unpriced(is_free=False) == "not sold in United States"
    assert de.not_sold() == "not sold in Germany"


def test_each_low_says_which_low_it_is() -> None:
    us = Money("en", "US")
    both = GamePrice(AppId(1), "US", None, None, history_low_cents=299, store_low_cents=499,
                     currency="USD")
    any_store = GamePrice(AppId(1), "US", None, None, history_low_cents=299,
                          store_low_cents=None, currency="USD")
    assert us.low_of(both) == "Steam's low $4.99"  # shops=61: Steam's own low
    assert us.low_of(any_store) == "lowest anywhere $2.99"
    assert us.low_of(None) is None


def test_an_odd_locale_falls_back_instead_of_failing() -> None:
    assert Money("en", "US").amount(100, "XXX").endswith("1.00")


def test_no_feature_formats_money_itself() -> None:
    """Every feature (and the dashboard) goes through _money: no Babel call or hand-made
    "-N%" elsewhere."""
    features = Path(_money.__file__).parent
    own = re.compile(r"format_currency|format_percent|-\{[^}]*discount_pct\}")
    files = sorted([*features.glob("*.py"), *(features.parent / "web").glob("*.py")])
    offenders = [f"{p.name}: {line.strip()}" for p in files if p.name != "_money.py"
                 for line in p.read_text().splitlines() if own.search(line)]
    assert offenders == []
