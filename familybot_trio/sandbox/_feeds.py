"""Fake free-game feeds: Epic `freeGamesPromotions` (prefix /epic) and r/FreeGameFindings
(prefix /reddit). Bodies are the recordings, rebased to "now" and serialised at startup,
plus the offers added since (sandbox/_free_offers.py: giveaways and posts coming and going);
the Epic body is priced per request for its `country` (sandbox/_epic_regions.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from familybot_trio.sandbox import _epic_regions, _free_offers

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox  # what _server meets


async def free_games_promotions(sb: Sandbox, req: Request) -> Response:
    """GET /epic/freeGamesPromotions?locale=&country=&allowCountries= (the recorded mix).

    Priced for `country` (default "US") with `fmtPrice` in `locale` (sandbox/_epic_regions.py:
    recorded prices where the recording's country matches, derived ones elsewhere); an
    invalid country gets Epic's recorded invalid_country_code error body.
    """
    country = req.query_params.get("country", "US")
    locale = req.query_params.get("locale", "en-US")
    currency = _epic_regions.currency_for(country)
    if currency is None:
        return sb.json(_epic_regions.invalid_country(sb.static.epic_error, country))
    raw, added = sb.feeds.epic_json, tuple(sb.free_offers.epic.values())
    return await sb.json_big(lambda: _epic_regions.reprice(
        _free_offers.epic_body(json.loads(raw), added), currency, locale))


def _reddit_headers(sb: Sandbox) -> dict[str, str]:
    limit = sb.rate_limits.get("reddit")
    remaining = limit.remaining() if limit else 99
    used = (limit.limit - remaining) if limit else 1
    return {"x-ratelimit-used": str(used), "x-ratelimit-remaining": f"{float(remaining):.1f}",
            "x-ratelimit-reset": "310"}


async def new_rss(sb: Sandbox, req: Request) -> Response:
    """GET /reddit/r/FreeGameFindings/new/.rss (also new.rss): the recorded Atom feed, the
    added posts first."""
    base, live = sb.feeds.reddit_rss, sb.free_offers
    body = await _free_offers.served(live, "rss", (base,),
                                     lambda posts: _free_offers.reddit_rss(base, posts))
    return Response(body, 200, headers=_reddit_headers(sb),
                    media_type="application/atom+xml; charset=UTF-8")


async def new_json(sb: Sandbox, req: Request) -> Response:
    """GET /reddit/r/FreeGameFindings/new/.json (also new.json): a Listing of the feed's posts
    (the added ones first, an ended one flaired "Expired")."""
    rss, base, live = sb.feeds.reddit_rss, sb.feeds.reddit_json, sb.free_offers
    body = await _free_offers.served(live, "json", (base, rss),
                                     lambda posts: _free_offers.reddit_json(rss, base, posts))
    return Response(body, 200, headers=_reddit_headers(sb),
                    media_type="application/json; charset=UTF-8")


EPIC_ROUTES: dict[str, tuple[str, Any]] = {
    "/freeGamesPromotions": ("freeGamesPromotions", free_games_promotions),
}
REDDIT_ROUTES: dict[str, tuple[str, Any]] = {
    "/r/FreeGameFindings/new/.rss": ("new_rss", new_rss),
    "/r/FreeGameFindings/new.rss": ("new_rss", new_rss),
    "/r/FreeGameFindings/new/.json": ("new_json", new_json),
    "/r/FreeGameFindings/new.json": ("new_json", new_json),
}
