"""The sandbox's Epic feed answers by country, and each family reads its own currency.

Issue 13: the sandbox served the Canadian recording whatever the country, so a German
family read "Usually CA$33.99". Prices: sandbox/_epic_regions.py (CAD recorded for Canada;
the others derived from it at the rates there, 3399 CAD for Deliver Us Mars).
"""

from __future__ import annotations

import pytest
import trio

from familybot_trio.errors import UpstreamError
from tests.features.test_free_games import FREE, run_job


@pytest.mark.parametrize(("country", "currency", "usually"), [
    ("US", "USD", "Usually $24.99."),       # 33.99 x 0.73 = 24.81 -> 24.99
    ("CA", "CAD", "Usually $33.99."),       # recorded; en_CA writes CAD as "$"
    ("DE", "EUR", "Usually 22,99\xa0€."),   # 33.99 x 0.67 = 22.77 -> 22.99, en_DE format
    ("GB", "GBP", "Usually £19.99."),       # 33.99 x 0.58 = 19.71 -> 19.99
    ("BR", "BRL", "Usually R$121.99."),     # 33.99 x 3.58 = 121.68 -> 121.99
])
async def test_each_family_reads_its_own_currency(start_world, country: str, currency: str,
                                                  usually: str) -> None:
    world = await start_world(features=["free_games"], country=country)
    with trio.fail_after(30):
        offers = await world.app.epic.promotions(country=country, locale=f"en-{country}")
        await run_job(world)
    priced = [o for o in offers if o.original_cents]
    assert priced and {o.currency for o in offers} == {currency}
    mars = next(e for m in world.discord.messages(FREE) for e in m.embeds
                if e["title"] == "Free: Deliver Us Mars")
    assert usually in mars["description"], mars["description"]


async def test_a_discount_keeps_its_ratio_and_free_stays_free(start_world) -> None:
    world = await start_world(features=["free_games"], country="DE")
    with trio.fail_after(30):
        offers = {o.title: o for o in await world.app.epic.promotions(country="DE")}
    mars = offers["Deliver Us Mars"]
    assert (mars.original_cents, mars.discount_cents, mars.currency) == (2299, 0, "EUR")
    vault = offers["Fallout: New Vegas - Ultimate Edition"]
    assert (vault.original_cents, vault.discount_cents) == (0, 0)


async def test_an_invalid_country_is_epics_error(start_world) -> None:
    world = await start_world(features=["free_games"])
    with trio.fail_after(30), pytest.raises(UpstreamError, match="invalid_country|searchStore"):
        await world.app.epic.promotions(country="XX")


def test_reprice_keeps_a_recorded_discount_ratio() -> None:
    import json

    from familybot_trio.sandbox import _epic_regions
    from tests.upstream.conftest import SANDBOX_DATA

    body = json.loads((SANDBOX_DATA / "epic" / "free_games_promotions_2023-12-14_CA_holiday_mystery.json"
                       ).read_text("utf-8"))
    out = _epic_regions.reprice(body, "EUR", "de-DE")
    gloom = next(e for e in out["data"]["Catalog"]["searchStore"]["elements"]
                 if e["title"] == "Gloomhaven")["price"]["totalPrice"]
    # recorded 3899 -> 2339 CAD (60 % off); 38.99 x 0.67 = 26.12 -> 25.99 EUR, 60 % of it 15.59
    assert (gloom["originalPrice"], gloom["discountPrice"], gloom["currencyCode"]) == (2599, 1559, "EUR")
    assert gloom["fmtPrice"]["discountPrice"] == "15,59\xa0€"
    assert _epic_regions.reprice(body, "CAD", "en-US") == body      # Canada: as recorded
