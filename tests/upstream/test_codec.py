"""Every cached record round-trips through JSON text (for a SQLite-backed CatalogCache)."""

from __future__ import annotations

import pytest

from familybot_trio.upstream import _steam_parse as sp
from familybot_trio.upstream import codec, freegames, storefront
from familybot_trio.upstream.models import AppId, GamePrice, ItadId, ItadLookup, PriceOverview
from tests.upstream.conftest import fixture_json


def test_records_round_trip() -> None:
    details = storefront.parse_appdetails(AppId(1245620), fixture_json(
        "steam_store/appdetails_1245620_elden_ring_paid_usd.json"), "US")
    items = sp.store_items(fixture_json(
        "steam_webapi/store_browse_get_items_v1_two_items.json")["response"], "US")
    apps = sp.shared_apps(fixture_json(
        "steam_webapi/family_get_shared_library_apps_curated.json")["response"])
    offers = freegames.parse_epic(fixture_json(
        "epic/free_games_promotions_2023-11-26_CA_deliver_us_mars.json"))
    price = GamePrice(AppId(1), "US", PriceOverview(499, 1999, 75, None, "$4.99"),
                      ItadId("018d-x"), 399, 450, "USD")
    for record in [details, *items.values(), *apps, *offers, price,
                   ItadLookup(AppId(2), None)]:
        text = codec.dumps(record)
        back = codec.loads(text)
        assert back == record and type(back) is type(record)
    assert isinstance(codec.loads(codec.dumps(details)).category_ids, frozenset)


def test_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="clear the cache"):
        codec.loads('{"__t": "Nope"}')
