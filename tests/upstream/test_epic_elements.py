"""Every element of every recorded Epic freeGamesPromotions body, decided from its offer data.

The table below has one row per element of each recording, read at the recording's capture
time (sandbox/_data.EPIC_FILES). Each row's comment says which fields decide it: the
price (`price.totalPrice.discountPrice`), the promotion windows (`promotions.promotionalOffers`
and `upcomingPromotionalOffers`, with `discountSetting.discountPercentage`), the offer type and
categories (which kind of page) and the mappings (`offerMappings`, `catalogNs.mappings`,
`productSlug`: which page). Images never decide: the vault items below all carry a
`VaultClosed` image, revealed or not. A new recording fails `test_every_element_has_a_row`
until its elements get rows here.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from familybot_trio.features.free_games import epic_offers
from familybot_trio.sandbox._data import EPIC_FILES
from familybot_trio.upstream import freegames
from tests.upstream.conftest import FIXTURES, SANDBOX_DATA

#: The shared fixture folder (../shared/fixtures/upstream beside the checkout), when present.
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream" / "epic"
CAPTURED = {name: datetime.fromisoformat(at.replace("Z", "+00:00")) for name, at in EPIC_FILES}
MARS = "free_games_promotions_2023-11-26_CA_deliver_us_mars.json"
HOLIDAY = "free_games_promotions_2023-12-14_CA_holiday_mystery.json"
VAULT = "free_games_promotions_2023-05-29_US_mega_sale_vault.json"
EPIC = "https://store.epicgames.com"

#: (file, title) -> (status at capture, page kind, url)
ROWS: dict[tuple[str, str], tuple[str, str, str | None]] = {
    # Upcoming window 2023-11-30..12-07 at 0 % (free later); a later 34 % window does not
    # matter. BASE_GAME; catalogNs productHome "mighty-fight-federation" is its page.
    (MARS, "Mighty Fight Federation"): ("free_later", "product", f"{EPIC}/p/mighty-fight-federation"),
    # DLC, categories "addons": an add-on. Only an upcoming 25 % window, discountPrice =
    # originalPrice 3199: paid now. Its page is its own offerMappings "addon--cms-hybrid"
    # slug, not catalogNs "destiny-2" (the base game's home).
    (MARS, "Destiny 2: Bungie 30th Anniversary Pack"):
        ("paid", "addon", f"{EPIC}/p/destiny-2--bungie-30th-anniversary-pack"),
    # Only an upcoming 60 % window (not free), no active one, price 3899 = original: paid.
    # productSlug null; offerMappings productHome "gloomhaven-92f741" (urlSlug is a hex id).
    (MARS, "Gloomhaven"): ("paid", "product", f"{EPIC}/p/gloomhaven-92f741"),
    # Upcoming 0 % window 11-30..12-07: free later. offerMappings productHome.
    (MARS, "Jitsu Squad"): ("free_later", "product", f"{EPIC}/p/jitsu-squad-af3f2f"),
    # Active 0 % window 11-23..11-30 and discountPrice 0 (original 3399 CAD): free now.
    # catalogNs productHome "deliver-us-mars" (urlSlug "...-general-audience" is not a page).
    (MARS, "Deliver Us Mars"): ("free_now", "product", f"{EPIC}/p/deliver-us-mars"),
    # promotions null, price 1699 = original: paid. offerMappings productHome.
    (MARS, "911 Operator"): ("paid", "product", f"{EPIC}/p/911-operator-585edd"),
    # Same add-on two weeks later: promotions empty, full price: paid.
    (HOLIDAY, "Destiny 2: Bungie 30th Anniversary Pack"):
        ("paid", "addon", f"{EPIC}/p/destiny-2--bungie-30th-anniversary-pack"),
    # Active 60 % window 12-13..01-10, discountPrice 2339 < 3899: discounted, not free.
    (HOLIDAY, "Gloomhaven"): ("discounted", "product", f"{EPIC}/p/gloomhaven-92f741"),
    # promotions null, full price: paid.
    (HOLIDAY, "911 Operator"): ("paid", "product", f"{EPIC}/p/911-operator-585edd"),
    # A revealed vault item: offerType OTHERS in the vault namespace with a VaultClosed
    # image, but a real productSlug "destiny-2--legacy-collection-2023", an active 0 %
    # window 12-13..12-20 and discountPrice 0: free now (the old image rule hid it).
    (HOLIDAY, "Destiny 2: Legacy Collection"):
        ("free_now", "product", f"{EPIC}/p/destiny-2--legacy-collection-2023"),
    # productSlug "[]", no offerMappings, no catalogNs mappings: no real product, so a
    # placeholder; its upcoming 0 % window 12-20..12-21 makes it an announced slot.
    (HOLIDAY, "Mystery Game Day 2"): ("placeholder_later", "product", None),
    # Revealed vault item: real productSlug "fallout-new-vegas--ultimate-edition", active
    # 0 % window 05-25..06-01, discountPrice 0 (USD): free now, VaultClosed image or not.
    (VAULT, "Fallout: New Vegas - Ultimate Edition"):
        ("free_now", "product", f"{EPIC}/p/fallout-new-vegas--ultimate-edition"),
    # productSlug "[]", no mappings: a placeholder, with an upcoming 0 % window 06-01..06-08.
    (VAULT, "Mystery Game"): ("placeholder_later", "product", None),
}


def recorded_bodies() -> list[Path]:
    """Every recorded freeGamesPromotions body with elements, from every folder holding one."""
    folders = [SANDBOX_DATA / "epic", FIXTURES / "epic"] + ([SHARED] if SHARED.is_dir() else [])
    return [p for folder in folders for p in sorted(folder.glob("*.json"))
            if "error" not in p.name]


def test_every_element_has_a_row() -> None:
    seen = set()
    for path in recorded_bodies():
        name = path.name
        assert name in CAPTURED, f"{path}: add it to sandbox/_data.EPIC_FILES with its capture time"
        for element in json.loads(path.read_text("utf-8"))["data"]["Catalog"]["searchStore"]["elements"]:
            assert (name, element["title"]) in ROWS, f"no row for {element['title']!r} of {path}"
            seen.add((name, element["title"]))
    assert seen == set(ROWS)


@pytest.mark.parametrize("path", recorded_bodies(),
                         ids=lambda p: f"{p.parent.parent.parent.name}/{p.name[22:40]}")
def test_each_element_is_decided_from_its_offer_data(path: Path) -> None:
    name, at = path.name, CAPTURED[path.name]
    for offer in freegames.parse_epic(json.loads(path.read_text("utf-8"))):
        status, kind, url = ROWS[(name, offer.title)]
        assert (offer.status(at), offer.page_kind, offer.url) == (status, kind, url), offer.title
        assert offer.is_placeholder == status.startswith("placeholder")


def test_the_feature_announces_exactly_the_free_now_rows() -> None:
    for path in recorded_bodies():
        name = path.name
        offers = freegames.parse_epic(json.loads(path.read_text("utf-8")))
        free, upcoming, slots = epic_offers(offers, CAPTURED[name])
        rows = {t: r for (f, t), r in ROWS.items() if f == name}
        assert sorted(o.title for o in free) == sorted(t for t, r in rows.items() if r[0] == "free_now")
        assert sorted(u.title for u in upcoming) == sorted(
            t for t, r in rows.items() if r[0] == "free_later")
        assert slots == sum(r[0] == "placeholder_later" for r in rows.values())


def test_a_bundle_links_to_its_bundle_page() -> None:
    """offerType BUNDLE (or a "bundles" category) lives under /bundles/<slug>, not /p/."""
    body = json.loads((SANDBOX_DATA / "epic" / MARS).read_text("utf-8"))
    element = next(e for e in body["data"]["Catalog"]["searchStore"]["elements"]
                   if e["title"] == "Deliver Us Mars")
    element["offerType"] = "BUNDLE"
    (offer,) = [o for o in freegames.parse_epic(body) if o.title == "Deliver Us Mars"]
    assert (offer.page_kind, offer.url) == ("bundle", f"{EPIC}/bundles/deliver-us-mars")
    assert offer.identity == "epic:bundles/deliver-us-mars"
