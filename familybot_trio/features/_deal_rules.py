"""Deal headlines from one rule table: what a deal alert says is what is true of the price.

A Steam price is checked against the rows of RULES in order; the first row whose test holds
names the deal and writes its headline. No row holds: not a deal.

| key             | holds when (price discounted, lows in the price's currency)  | headline                    |
| --------------- | ------------------------------------------------------------ | --------------------------- |
| lowest_ever     | final <= ITAD's all-store historyLow                         | "Lowest price ever"         |
| lowest_on_steam | final <= Steam's own low (ITAD storeLow, `shops=61`)         | "Lowest price ever on Steam"|
| near_low        | final <= buffer x the low compared (Steam's, else any store) | "Near its historical low"   |
| discount        | discount >= deal_min_discount_pct                            | "-75%" (`_money.discount`)  |

A full-price game is never a deal, even at its low (a never-discounted game would otherwise
be "a deal" forever). Lows in another currency than the price are ignored (never compared).
The row index is also the ranking: a lowest-ever deal is listed before a near-low one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from familybot_trio.features._money import Money, historical_low
from familybot_trio.upstream.models import GamePrice

__all__ = ["RULES", "DealFacts", "DealRule", "judge"]


@dataclass(frozen=True, slots=True)
class DealFacts:
    """What a rule may look at. Cents in the price's currency; lows None when unknown or in
    another currency. min_discount_pct (0-100) and low_buffer (>= 1.0) from `[thresholds]`."""

    final_cents: int
    discount_pct: int
    any_store_low_cents: int | None
    steam_low_cents: int | None
    min_discount_pct: int
    low_buffer: float

    @property
    def compared_low_cents(self) -> int | None:
        """The low a Steam price is compared with: Steam's own when known, else any store's."""
        return self.steam_low_cents if self.steam_low_cents is not None \
            else self.any_store_low_cents

    @property
    def compared_low(self) -> tuple[int, bool] | None:
        """`compared_low_cents` as (cents, steam_only), or None when no low is known."""
        if self.steam_low_cents is not None:
            return self.steam_low_cents, True
        return (self.any_store_low_cents, False) if self.any_store_low_cents is not None \
            else None


@dataclass(frozen=True, slots=True)
class DealRule:
    """One row: key (stable name, stored nowhere), holds(facts), headline(facts, money),
    basis(facts): the low the headline is based on, (cents, steam_only) or None, shown next
    to the price so the headline can be checked ("Lowest price ever" shows the all-store low).
    """

    key: str
    holds: Callable[[DealFacts], bool]
    headline: Callable[[DealFacts, Money], str]
    basis: Callable[[DealFacts], tuple[int, bool] | None] = lambda f: f.compared_low


def _at_or_below(low: int | None, final: int, factor: float = 1.0) -> bool:
    return low is not None and final <= low * factor


RULES: Final[tuple[DealRule, ...]] = (
    DealRule("lowest_ever", lambda f: _at_or_below(f.any_store_low_cents, f.final_cents),
             lambda f, m: "Lowest price ever",
             lambda f: (f.any_store_low_cents, False) if f.any_store_low_cents is not None
             else None),
    DealRule("lowest_on_steam", lambda f: _at_or_below(f.steam_low_cents, f.final_cents),
             lambda f, m: "Lowest price ever on Steam",
             lambda f: (f.steam_low_cents, True) if f.steam_low_cents is not None else None),
    DealRule("near_low",
             lambda f: _at_or_below(f.compared_low_cents, f.final_cents, f.low_buffer),
             lambda f, m: "Near its historical low"),
    DealRule("discount", lambda f: f.discount_pct >= f.min_discount_pct,
             lambda f, m: m.discount(f.discount_pct)),
)


def facts_of(price: GamePrice, *, min_discount_pct: int, low_buffer: float) -> DealFacts | None:
    """The facts of a discounted Steam price; None when it is not discounted (or not sold)."""
    store = price.store
    if store is None or not store.is_discounted:
        return None
    same = store.currency is None or price.currency is None or store.currency == price.currency
    return DealFacts(store.final_cents, store.discount_pct,
                     price.history_low_cents if same else None,
                     price.store_low_cents if same else None,
                     min_discount_pct, low_buffer)


def judge(price: GamePrice | None, *, min_discount_pct: int, low_buffer: float
          ) -> tuple[int, DealRule, DealFacts] | None:
    """The first row of RULES that holds for `price`: (row index, rule, facts), or None.

    Args: price: from the catalog; min_discount_pct (0-100); low_buffer (>= 1.0).
    """
    facts = facts_of(price, min_discount_pct=min_discount_pct, low_buffer=low_buffer) \
        if price is not None else None
    if facts is None:
        return None
    for index, rule in enumerate(RULES):
        if rule.holds(facts):
            return index, rule, facts
    return None


def compared_low(price: GamePrice) -> int | None:
    """The low shown next to a deal (`_money.historical_low`), in cents, or None."""
    found = historical_low(price)
    return found[0] if found else None
