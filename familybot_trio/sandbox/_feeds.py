"""Fake free-game feeds: Epic `freeGamesPromotions` (prefix /epic) and r/FreeGameFindings
(prefix /reddit). Bodies are the recordings, rebased to "now" and serialised at startup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox  # what _server meets


async def free_games_promotions(sb: Sandbox, req: Request) -> Response:
    """GET /epic/freeGamesPromotions?locale=&country=&allowCountries= (the recorded mix).

    locale/country are accepted and ignored: the recordings are CA/US bodies.
    """
    return Response(sb.feeds.epic_json, 200, media_type="application/json;charset=UTF-8")


def _reddit_headers(sb: Sandbox) -> dict[str, str]:
    limit = sb.rate_limits.get("reddit")
    remaining = limit.remaining() if limit else 99
    used = (limit.limit - remaining) if limit else 1
    return {"x-ratelimit-used": str(used), "x-ratelimit-remaining": f"{float(remaining):.1f}",
            "x-ratelimit-reset": "310"}


async def new_rss(sb: Sandbox, req: Request) -> Response:
    """GET /reddit/r/FreeGameFindings/new/.rss (also new.rss): the recorded Atom feed."""
    return Response(sb.feeds.reddit_rss, 200, headers=_reddit_headers(sb),
                    media_type="application/atom+xml; charset=UTF-8")


async def new_json(sb: Sandbox, req: Request) -> Response:
    """GET /reddit/r/FreeGameFindings/new/.json (also new.json): a Listing of the feed's posts."""
    return Response(sb.feeds.reddit_json, 200, headers=_reddit_headers(sb),
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
