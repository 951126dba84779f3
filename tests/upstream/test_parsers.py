"""Every recorded upstream body parses into records; bad shapes give UpstreamError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from familybot_trio.errors import NotFound, UpstreamError
from familybot_trio.upstream import _steam_parse as sp
from familybot_trio.upstream import freegames, itad, storefront
from familybot_trio.upstream.models import AppId, FamilyGroupId, SteamID64
from tests.upstream.conftest import fixture_json, fixture_text

SID = SteamID64(76561190000000001)

APPDETAILS = [
    ("appdetails_1121640_wandering_village_early_access_eur.json", 1121640, "game", True),
    ("appdetails_1222670_the_sims4_free_to_play_81dlc.json", 1222670, "game", False),
    ("appdetails_1233070_isles_of_sea_and_sky_discount10_eur.json", 1233070, "game", True),
    ("appdetails_1245620_elden_ring_paid_usd.json", 1245620, "game", True),
    ("appdetails_1604030_v_rising_paid.json", 1604030, "game", True),
    ("appdetails_322330_dont_starve_together_twd_paid.json", 322330, "game", True),
    ("appdetails_413150_stardew_valley_excerpt.json", 413150, "game", False),
    ("appdetails_413150_stardew_valley_brl_ptbr_excerpt.json", 413150, "game", True),
    ("appdetails_440_team_fortress_2_free_raw.json", 440, "game", False),
    ("appdetails_523510_dlc_filtered_basic_brl_raw.json", 523510, "dlc", True),
    ("appdetails_570_dota_2_free_cz_raw.json", 570, "game", False),
    ("appdetails_669270_momentum_mod_coming_soon_free.json", 669270, "game", False),
    ("appdetails_730_counter_strike_2_free_eur.json", 730, "game", False),
    ("appdetails_892970_valheim_paid.json", 892970, "game", True),
]


@pytest.mark.parametrize(("name", "appid", "type_", "priced"), APPDETAILS)
def test_every_appdetails_fixture_parses(name: str, appid: int, type_: str, priced: bool) -> None:
    d = storefront.parse_appdetails(AppId(appid), fixture_json(f"steam_store/{name}"), "US")
    assert d.appid == appid and d.name and d.type == type_ and d.source == "appdetails"
    assert (d.price is not None) == priced
    if d.price is not None:
        assert d.price.final_cents > 0 and d.price.currency


def test_appdetails_discount_and_categories() -> None:
    d = storefront.parse_appdetails(AppId(1233070), fixture_json(
        "steam_store/appdetails_1233070_isles_of_sea_and_sky_discount10_eur.json"), "DE")
    assert (d.price.initial_cents, d.price.final_cents, d.price.discount_pct) == (1950, 1755, 10)
    assert d.price.is_discounted and d.price.currency == "EUR"
    elden = storefront.parse_appdetails(AppId(1245620), fixture_json(
        "steam_store/appdetails_1245620_elden_ring_paid_usd.json"), "US")
    assert {1, 9, 38, 62} <= elden.category_ids
    assert elden.is_multiplayer and elden.is_family_shareable


def test_appdetails_unknown_app_is_not_found() -> None:
    with pytest.raises(NotFound, match="999999999"):
        storefront.parse_appdetails(AppId(999999999), fixture_json(
            "steam_store/appdetails_failed_lookup.json"), "US")


@pytest.mark.parametrize("body", [None, [], {"1": {"success": True, "data": {}}}, "x"])
def test_appdetails_bad_shapes_are_upstream_errors(body: object) -> None:
    with pytest.raises(UpstreamError):
        storefront.parse_appdetails(AppId(1), body, "US")


def test_multi_price_overview_quirks() -> None:
    real = storefront.parse_prices(fixture_json(
        "steam_store/appdetails_multi_price_overview_real_cz_eur_raw.json"))
    assert real[AppId(620)].final_cents == 975
    assert real[AppId(1174180)].discount_pct == 75 and real[AppId(1174180)].initial_cents == 5999
    assert real[AppId(570)] is None and real[AppId(323180)] is None  # "data": []
    assert AppId(999999999) not in real  # success false
    doc = storefront.parse_prices(fixture_json(
        "steam_store/appdetails_multi_price_overview_as_documented.json"))
    assert doc[AppId(1091500)].final_cents == 5999 and doc[AppId(292030)] is None  # {}
    assert storefront.parse_prices(fixture_json(
        "steam_store/appdetails_multi_price_overview_free_game_entry.json")) == {AppId(440): None}
    with pytest.raises(UpstreamError):  # HTTP 400 body `null`
        storefront.parse_prices(fixture_json(
            "steam_store/appdetails_multi_without_filter_http400_body.json"))


def test_family_bodies() -> None:
    m = sp.family_membership(SID, fixture_json(
        "steam_webapi/family_get_family_group_for_user_curated.json")["response"])
    assert m.family_groupid == 4223817 and m.role == 1
    assert m.family_group is not None and len(m.family_group.members) == 3
    none = sp.family_membership(SID, fixture_json(
        "steam_webapi/family_get_family_group_for_user_not_member_curated.json")["response"])
    assert none.family_groupid is None
    g = sp.family_group(FamilyGroupId(4223817), fixture_json(
        "steam_webapi/family_get_family_group_curated.json")["response"])
    assert g.name == "The Walkers" and g.free_spots == 2
    assert g.steamids[0] == 76561190000000002 and g.members[2].role == 2
    apps = sp.shared_apps(fixture_json(
        "steam_webapi/family_get_shared_library_apps_curated.json")["response"])
    assert [a.appid for a in apps] == [220, 620, 440]
    assert apps[1].owner_steamids == (76561190000000002, 76561190000000001)
    assert not apps[2].is_shared and apps[2].exclude_reason == 3
    assert apps[0].rt_time_acquired == datetime(2004, 11, 30, tzinfo=UTC)
    excerpt = sp.shared_apps(fixture_json(
        "steam_webapi/family_get_shared_library_apps_real_excerpt.json")["response"])
    assert [a.rt_playtime_min for a in excerpt] == [15005, 1]


@pytest.mark.parametrize(("name", "visible", "count"), [
    ("player_get_owned_games_2017_include_appinfo_trimmed50.json", True, 50),
    ("player_get_owned_games_appids_filter_413150.json", True, 1),
    ("player_get_owned_games_modern_fields_curated.json", True, 3),
    ("player_get_owned_games_private_or_empty_as_documented.json", False, 0),
])
def test_owned_games(name: str, visible: bool, count: int) -> None:
    owned = sp.owned_games(SID, fixture_json(f"steam_webapi/{name}")["response"])
    assert owned.is_visible is visible and len(owned.games) == count
    assert all(g.appid > 0 for g in owned.games)


def test_wishlists_players_vanity() -> None:
    wl = sp.wishlist(SID, fixture_json("steam_webapi/wishlist_get_wishlist_real_excerpt.json")
                     ["response"])
    assert [(i.appid, i.priority) for i in wl.items] == [(50650, 29), (215824, 24)]
    assert sp.wishlist(SID, fixture_json("steam_webapi/wishlist_get_wishlist_empty.json")
                       ["response"]).is_visible
    assert not sp.wishlist(SID, fixture_json(
        "steam_webapi/wishlist_get_wishlist_private_or_unreadable.json")["response"]).is_visible
    players = sp.player_summaries(fixture_json(
        "steam_webapi/user_get_player_summaries_in_game_anonymized.json")["response"])
    p = players[SID]
    assert p.personaname == "TestUserOne" and p.game_appid == 413150
    assert p.game_name == "Stardew Valley"
    assert sp.player_summaries(fixture_json(
        "steam_webapi/user_get_player_summaries_unknown_id.json")["response"]) == {}


def test_get_items_batch_body() -> None:
    items = sp.store_items(fixture_json(
        "steam_webapi/store_browse_get_items_v1_two_items.json")["response"], "US")
    blue = items[AppId(1220150)]
    assert blue.name == "Blue Fire" and blue.type == "game" and blue.source == "getitems"
    assert (blue.price.final_cents, blue.price.initial_cents, blue.price.discount_pct) == (
        499, 1999, 75)
    assert blue.category_ids == frozenset({2, 22, 23, 43, 62, 28})
    ghost = items[AppId(2215430)]
    assert ghost.price.final_cents == 5999 and ghost.price.discount_pct == 0
    assert ghost.is_multiplayer and ghost.developers == ("Sucker Punch Productions",
                                                         "Nixxes Software")
    # success 15 (invalid app, appid 0) is skipped, not a crash
    assert sp.store_items({"store_items": [{"success": 15, "appid": 0, "id": 5}]}, "US") == {}


@pytest.mark.parametrize("body", [{"apps": [{"name": "no appid"}]}, {"apps": "x"}])
def test_webapi_bad_shapes_are_upstream_errors(body: dict) -> None:
    with pytest.raises(UpstreamError, match="GetSharedLibraryApps"):
        sp.shared_apps(body)


def test_itad_bodies() -> None:
    lk = itad.parse_lookup(fixture_json("itad/lookup_id_shop_61_v1.json"))
    assert lk == {AppId(137730): lk[AppId(137730)]} and lk[AppId(137730)].itad_id is None
    prices = itad.parse_prices(fixture_json("itad/games_prices_v3.json"))
    p = prices["018d937f-012f-73b8-ab2c-898516969e6a"]
    assert (p.current_cents, p.regular_cents, p.cut_pct) == (999, 999, 0)
    assert (p.history_low_cents, p.store_low_cents, p.currency) == (99, 99, "USD")
    lows = itad._parse_lows(fixture_json("itad/games_historylow_v1.json"))
    assert lows["01849782-1017-7389-8de4-c97c587fd7e3"] == 399
    with pytest.raises(UpstreamError):
        itad.parse_prices({"status_code": 400, "reason_phrase": "Bad Request"})


def test_epic_bodies() -> None:
    mars = freegames.parse_epic(fixture_json(
        "epic/free_games_promotions_2023-11-26_CA_deliver_us_mars.json"))
    assert len(mars) == 6
    at = datetime(2023, 11, 26, 12, tzinfo=UTC)
    free_now = [o for o in mars if o.is_free_now(at)]
    assert [o.title for o in free_now] == ["Deliver Us Mars"]
    assert free_now[0].url == "https://store.epicgames.com/p/deliver-us-mars"
    assert free_now[0].current[0].end == datetime(2023, 11, 30, 16, tzinfo=UTC)
    upcoming = {o.title: o.next_free_window(at) for o in mars}
    assert upcoming["Mighty Fight Federation"].start == datetime(2023, 11, 30, 16, tzinfo=UTC)
    assert upcoming["Gloomhaven"] is None  # 60% off is not free
    mystery = freegames.parse_epic(fixture_json(
        "epic/free_games_promotions_2023-12-14_CA_holiday_mystery.json"))
    # Only the slot without a real product is a placeholder: the revealed Destiny 2 vault
    # item carries a VaultClosed image too, but it has a product slug and a free window.
    assert {o.title for o in mystery if o.is_placeholder} == {"Mystery Game Day 2"}
    vault = freegames.parse_epic(fixture_json(
        "epic/free_games_promotions_2023-05-29_US_mega_sale_vault.json"))
    assert vault and all(o.offer_type for o in vault)
    with pytest.raises(UpstreamError, match="invalid_country|searchStore|400"):
        freegames.parse_epic(fixture_json("epic/free_games_promotions_error_invalid_country.json"))


def test_reddit_bodies() -> None:
    posts = freegames.parse_reddit_atom(fixture_text("reddit/fgf_new_rss_2025-04-18.xml"))
    assert len(posts) == 25
    steam = [p for p in posts if p.store == "Steam"]
    assert any(p.kind == "Game" and p.name == "AtmaSphere" for p in steam)
    assert posts[0].is_psa and posts[0].url == "https://www.pantaloon.io/"
    assert all(p.permalink.startswith("https://www.reddit.com/r/FreeGameFindings/") for p in posts)
    listing = freegames.parse_reddit_listing(fixture_json(
        "reddit/subreddit_listing_json_2016_r_gaming_trimmed5.json"))
    assert len(listing) == 5 and listing[0].post_id == "58hakw"
    assert listing[0].store == "" and listing[0].url.startswith("https://www.youtube.com/")
    with pytest.raises(UpstreamError):
        freegames.parse_reddit_atom("<html><body>Sorry!</body></html")

