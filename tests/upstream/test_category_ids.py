"""The co-op / multi-player category ids are Steam's, as the recorded Steam bodies say.

Checking the product's constants against themselves proves nothing; these read every
recorded storefront appdetails body in the sandbox data (real Steam answers) and pin each
constant to the description Steam gives that id, so a wrong or swapped constant fails.
"""

from __future__ import annotations

import json
from importlib import resources

from familybot_trio.sandbox._family import CATEGORY_NAMES
from familybot_trio.upstream import models

DATA = resources.files("familybot_trio.sandbox") / "data" / "steam_store"


def _recorded_categories() -> dict[int, str]:
    """id -> description over every recorded appdetails body (they all must agree)."""
    seen: dict[int, str] = {}
    bodies = [p for p in DATA.iterdir() if p.name.startswith("appdetails_")]
    assert len(bodies) >= 5
    for body in bodies:
        for entry in json.loads(body.read_text(encoding="utf-8")).values():
            for cat in (entry.get("data") or {}).get("categories", []):
                assert seen.setdefault(int(cat["id"]), cat["description"]) == cat["description"]
    return seen


def test_each_category_constant_names_what_steam_calls_it() -> None:
    steam = _recorded_categories()
    assert steam[models.CATEGORY_MULTI_PLAYER] == "Multi-player"
    assert steam[models.CATEGORY_CO_OP] == "Co-op"
    assert steam[models.CATEGORY_ONLINE_PVP] == "Online PvP"
    assert steam[models.CATEGORY_ONLINE_CO_OP] == "Online Co-op"
    assert steam[models.CATEGORY_LAN_CO_OP] == "LAN Co-op"
    assert steam[models.CATEGORY_FAMILY_SHARING] == "Family Sharing"


def test_the_multiplayer_set_is_the_play_together_categories_by_steams_names() -> None:
    steam = _recorded_categories()
    assert {steam[i] for i in models.MULTIPLAYER_CATEGORIES} == {
        "Multi-player", "Co-op", "Online PvP", "Online Co-op", "LAN Co-op", "PvP"}


def test_the_sandboxs_made_up_apps_use_steams_names_for_the_same_ids() -> None:
    steam = _recorded_categories()
    assert {i: n for i, n in CATEGORY_NAMES.items() if i in steam} == {
        i: steam[i] for i in CATEGORY_NAMES if i in steam}
    assert set(CATEGORY_NAMES) <= set(steam)  # the sandbox invents no category id
