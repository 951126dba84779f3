"""Free offers coming and going in the sandbox's Epic and Reddit feeds (sandbox/_free_offers.py),
read over a real socket by the bot's own parsers, each start and end in the change log."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import trio

from familybot_trio.features._free_offers import epic_offers, merge, reddit_offers
from familybot_trio.sandbox import Sandbox
from familybot_trio.upstream.freegames import (parse_epic, parse_reddit_atom,
                                               parse_reddit_listing)

SLUG = "sandbox-treat"
PAGE = f"https://store.epicgames.com/p/{SLUG}"


def _at(sandbox: Sandbox, later_s: float = 0.0) -> dt.datetime:
    return dt.datetime.fromtimestamp(sandbox.now_s() + later_s, dt.UTC)


async def _epic(sandbox: Sandbox, http: httpx.AsyncClient, country: str = "US"):
    with trio.fail_after(10):
        r = await http.get(sandbox.urls["epic"] + "/freeGamesPromotions",
                           params={"locale": "en-US", "country": country})
    return parse_epic(r.json())


async def _reddit(sandbox: Sandbox, http: httpx.AsyncClient):
    base = sandbox.urls["reddit"] + "/r/FreeGameFindings"
    with trio.fail_after(10):
        listing = (await http.get(base + "/new.json")).json()
        atom = (await http.get(base + "/new/.rss")).text
    return parse_reddit_listing(listing), parse_reddit_atom(atom)


async def test_an_epic_giveaway_starts_and_ends_like_the_recorded_one(
        sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    recorded = {o.offer_id for o in await _epic(sandbox, http)}
    ends = sandbox.now_s() + 3 * 86_400
    assert sandbox.start_free_epic(SLUG, "Sandbox Treat", ends_at_s=ends,
                                   original_cents=2499) == PAGE
    offers = await _epic(sandbox, http)
    added = [o for o in offers if o.offer_id not in recorded]
    assert len(added) == len(offers) - len(recorded) == 1
    o = added[0]
    assert o.status(_at(sandbox, 60)) == "free_now" and o.url == PAGE
    assert (o.original_cents, o.currency) == (2499, "USD")
    free, _upcoming, _mystery = epic_offers(offers, _at(sandbox, 60))
    mine = [f for f in free if f.url == PAGE]
    assert len(mine) == 1 and mine[0].ends_at == dt.datetime.fromtimestamp(int(ends), dt.UTC)
    ca = [x for x in await _epic(sandbox, http, "CA") if x.offer_id == o.offer_id][0]
    assert ca.currency == "CAD" and ca.discount_cents == 0 < ca.original_cents  # re-priced
    sandbox.end_free_epic(SLUG)
    ended = [x for x in await _epic(sandbox, http) if x.offer_id == o.offer_id][0]
    assert ended.status(_at(sandbox, 60)) == "paid"
    assert PAGE not in {f.url for f in epic_offers(await _epic(sandbox, http),
                                                    _at(sandbox, 60))[0]}
    assert [(c.kind, c.key, c.source) for c in sandbox.change_log] == [
        ("free_start", PAGE, "epic"), ("free_end", PAGE, "epic")]


async def test_a_reddit_post_appears_in_both_feeds_and_expires_in_the_listing(
        sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    before, _ = await _reddit(sandbox, http)
    steam = "https://store.steampowered.com/app/5300001/"
    post_id = sandbox.post_free_reddit("[Steam] (Game) Sandbox Freebie", steam + "Freebie/",
                                       key=steam)
    epic_post = sandbox.post_free_reddit("[Epic Games] (Game) Sandbox Treat",
                                         f"https://store.epicgames.com/en-US/p/{SLUG}", key=PAGE)
    listing, atom = await _reddit(sandbox, http)
    assert len(listing) == len(atom) == len(before) + 2
    assert [p.post_id for p in listing[:2]] == [p.post_id for p in atom[:2]] == [epic_post,
                                                                                 post_id]
    assert atom[1].url == steam + "Freebie/" and atom[1].name == "Sandbox Freebie"
    offers, off_store = reddit_offers(listing, _at(sandbox, 60))
    keys = {o.dedupe_key for o in offers}
    assert {"steam:app/5300001", f"epic:{SLUG}"} <= keys
    # the same game on Epic and on Reddit: one offer, Epic's (the feature's promise)
    sandbox.start_free_epic(SLUG, "Sandbox Treat", ends_at_s=sandbox.now_s() + 86_400)
    free = epic_offers(await _epic(sandbox, http), _at(sandbox, 60))[0]
    both = [o for o in merge(free, offers) if o.dedupe_key == f"epic:{SLUG}"]
    assert [o.source for o in both] == ["epic"]
    sandbox.expire_free_reddit(post_id)
    listing, atom = await _reddit(sandbox, http)
    gone = [p for p in listing if p.post_id == post_id][0]
    assert gone.is_expired and gone.flair == "Expired"
    assert "steam:app/5300001" not in {o.dedupe_key for o in
                                       reddit_offers(listing, _at(sandbox, 60))[0]}
    assert [p for p in atom if p.post_id == post_id]  # the Atom feed has no flairs
    assert [(c.kind, c.key, c.source) for c in sandbox.change_log] == [
        ("free_start", steam, "reddit"), ("free_start", PAGE, "reddit"),
        ("free_start", PAGE, "epic"), ("free_end", steam, "reddit")]


async def test_free_offer_knobs_refuse_bad_input(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="slug"):
        sandbox.start_free_epic("Not A Slug", "X", ends_at_s=sandbox.now_s() + 60)
    with pytest.raises(ValueError, match="not after now"):
        sandbox.start_free_epic(SLUG, "X", ends_at_s=sandbox.now_s() - 1)
    sandbox.start_free_epic(SLUG, "X", ends_at_s=sandbox.now_s() + 60)
    with pytest.raises(ValueError, match="already free"):
        sandbox.start_free_epic(SLUG, "X", ends_at_s=sandbox.now_s() + 60)
    with pytest.raises(KeyError, match="start_free_epic"):
        sandbox.end_free_epic("never-given")
    with pytest.raises(KeyError):
        sandbox.expire_free_reddit("nope")
    with pytest.raises(ValueError, match="&"):
        sandbox.post_free_reddit("[Steam] (Game) X", "https://store.steampowered.com/app/1/?a=1&b=2")
