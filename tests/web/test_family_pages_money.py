"""Dashboard family pages write money like every feature does (features/_money.py)."""

from __future__ import annotations

import re

import trio

from familybot_trio.features._money import Money
from tests.web._flows import oauth_sign_in
from tests.web.conftest import MEMBER, open_client


async def test_wishlist_and_deals_pages_use_the_one_money_formatter(start_dashboard) -> None:
    world = await start_dashboard()
    fam = world.sandbox.family
    wished = sorted({a for wl in fam.wishlists.values() for a in wl
                     if a not in fam.library and not fam.prices[a].is_free})
    world.sandbox.start_sale(wished[0], 60)
    async with await open_client(world) as client:
        with trio.fail_after(60):
            await oauth_sign_in(world, client, MEMBER, next_path="/wishlist")
            deals = await client.get("/deals")  # fetches and stores the wishlists first
            wishlist = await client.get("/wishlist")
    assert wishlist.status_code == 200 and deals.status_code == 200
    sixty = Money("en", "US").discount(60)
    assert sixty == "-60%" and sixty in wishlist.text and sixty in deals.text
    for page in (wishlist.text, deals.text):
        assert not re.search(r"-\d+ %", page)  # the old hand-made "-60 %"
