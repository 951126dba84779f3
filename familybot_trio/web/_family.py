"""Family pages: library, wishlist, deals, free games, members, "what can we play".

Each page reads through the same objects and feature functions as the Discord commands
(`app.store`, `app.catalog`, features.deals.current_deals, features.coop.coop_games,
features.common_games.owned_lists, features.free_games.collect), so the page and the
command give the same answer.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from familybot_trio import blocking
from familybot_trio.errors import FamilybotError
from familybot_trio.features._money import Money, currency_for, historical_low
from familybot_trio.web._auth import Principal, require
from familybot_trio.web._library import LibraryFilter

if TYPE_CHECKING:
    from familybot_trio.web._server import Dashboard

#: Longest a page waits for an upstream (free games, deals) before showing what it has (s).
UPSTREAM_WAIT_S: Final = 20.0


def _date(when: dt.datetime | None) -> str:
    return "" if when is None else f"{when:%Y-%m-%d}"


def _money(app: Any, cents: int | None, currency: str | None) -> str:
    return "" if cents is None else Money.for_app(app).amount(cents, currency)


def _discount(app: Any, store: Any) -> str:
    """The discount as every feature writes it (`features._money`), "" when none."""
    return Money.for_app(app).discount(store.discount_pct) if store and store.is_discounted \
        else ""


def routes(dash: Dashboard) -> list[BaseRoute]:
    """The family pages (members and admins)."""
    app = dash.app

    async def page(p: Principal, name: str, context: dict[str, Any]) -> Response:
        assert dash.assets is not None
        return await dash.assets.page(name, {**dash.nav(p), **context})

    @require(dash)
    async def library(request: Request, p: Principal) -> Response:
        # The read model (no query when the library did not change); filtering one sort
        # order and rendering happen in one worker thread hop.
        assert dash.assets is not None
        model = await dash.library.get()
        return await dash.assets.page_of(
            "library.html", dash.nav(p), model.page, LibraryFilter.from_query(request.query_params))

    @require(dash)
    async def wishlist(request: Request, p: Principal) -> Response:
        from familybot_trio.features import wishlist as wishlist_feature

        names = {int(m.steamid): m.name for m in await app.store.members.all()}
        error, paid, free = None, [], []
        try:  # the pinned list's own selection and order (features.wishlist)
            paid, free = await wishlist_feature.common_wishlist(app)
        except FamilybotError as exc:
            error = f"The wishlist could not be read just now: {exc}"
        # Money formatting (babel) of hundreds of rows is CPU work: off the loop.
        rows = await blocking.run_sync("cpu", _wishlist_rows, app, paid, names)
        return await page(p, "wishlist.html", {
            "rows": rows, "error": error, "currency": currency_for(app.config.country),
            "free": [{"appid": g.appid, "name": g.details.name} for g in free],
            "min_members": app.config.thresholds.wishlist_min_members})

    @require(dash)
    async def deals(request: Request, p: Principal) -> Response:
        from familybot_trio.features import deals as deals_feature

        members = await app.store.members.all()
        names = {int(m.steamid): m.name for m in members}
        error = None
        try:
            with trio.fail_after(UPSTREAM_WAIT_S):
                found, _ = await deals_feature.current_deals(app, members)
        except (FamilybotError, trio.TooSlowError) as exc:
            found, error = [], f"Deals could not be checked just now: {exc}"
        rows = await blocking.run_sync("cpu", _deal_rows, app, found, names)
        return await page(p, "deals.html", {
            "rows": rows, "error": error,
            "min_pct": app.config.thresholds.deal_min_discount_pct})

    @require(dash)
    async def free(request: Request, p: Principal) -> Response:
        from familybot_trio.features import free_games

        with trio.move_on_after(UPSTREAM_WAIT_S):
            found = await free_games.collect(app)
            return await page(p, "free.html", {
                "free_now": [{"title": o.title, "url": o.url, "store": o.store,
                              "until": _date(o.ends_at)} for o in found.free_now],
                "upcoming": [{"title": o.title, "starts": _date(o.starts_at),
                              "ends": _date(o.ends_at)} for o in found.upcoming],
                "mystery": found.mystery_upcoming, "errors": list(found.errors)})
        return await page(p, "free.html", {"free_now": [], "upcoming": [], "mystery": 0,
                                           "errors": ["The free-game sources did not answer "
                                                      "in time; reload in a minute."]})

    @require(dash)
    async def members(request: Request, p: Principal) -> Response:
        counts: dict[int, int] = {}
        for a in await app.store.library.apps():
            for s in a.owner_steamids:
                counts[int(s)] = counts.get(int(s), 0) + 1
        rows = [{"name": m.name, "steamid": m.steamid, "linked": m.discord_id is not None,
                 "games": counts.get(int(m.steamid), 0)} for m in await app.store.members.all()]
        return await page(p, "members.html", {"rows": rows})

    @require(dash)
    async def play(request: Request, p: Principal) -> Response:
        from familybot_trio.features import common_games, coop

        q = request.query_params
        try:
            copies = min(coop.MAX_COPIES, max(coop.MIN_COPIES, int(q.get("copies", 2))))
        except ValueError:
            copies = coop.MIN_COPIES
        everyone = await app.store.members.all()
        names = {int(m.steamid): m.name for m in everyone}
        picked = [m for m in everyone if str(m.steamid) in q.getlist("member")]
        error, common = None, None
        try:
            games, _ = await coop.coop_games(app, copies)
            if len(picked) >= 2:
                lists = await common_games.owned_lists(app, picked)
                both = frozenset.intersection(*(ol.appids for ol in lists))
                details = await app.catalog.details(sorted(both), country=app.config.country)
                common = sorted(((d.name, a) for a, d in details.items()
                                 if a in both and d.is_multiplayer),
                                key=lambda g: (g[0].casefold(), g[1]))
            elif picked:
                error = "Pick at least two members to see the games they all own."
        except (FamilybotError, common_games.CompareError) as exc:
            games, error = [], str(exc)
        coop_rows = await blocking.run_sync("cpu", _coop_rows, app, games, names)
        return await page(p, "play.html", {
            "members": [(int(m.steamid), m.name) for m in everyone],
            "picked": {int(m.steamid) for m in picked}, "copies": copies, "coop": coop_rows,
            "common": common, "error": error,
            "picked_names": ", ".join(m.name for m in picked)})

    return [
        Route("/", library, methods=["GET"]),
        Route("/wishlist", wishlist, methods=["GET"]),
        Route("/deals", deals, methods=["GET"]),
        Route("/free", free, methods=["GET"]),
        Route("/members", members, methods=["GET"]),
        Route("/play", play, methods=["GET"]),
    ]


def _wishlist_rows(app: Any, games: list[Any], names: dict[int, str]) -> list[dict[str, Any]]:
    """Sync: one row per `features.wishlist.CommonGame`, in the given (pinned list's) order."""
    rows = []
    for g in games:
        d, pr = g.details, g.price
        store = pr.store if pr else d.price
        currency = (store.currency if store else None) or (pr.currency if pr else None)
        low = historical_low(pr)
        rows.append({"appid": g.appid, "name": d.name, "count": len(g.wanted_by),
                     "who": ", ".join(sorted(names.get(int(s), str(s)) for s in g.wanted_by)),
                     "price": _money(app, store.final_cents, currency) if store else
                     Money.for_app(app).unpriced(is_free=d.is_free),
                     "discount": _discount(app, store),
                     "low": _money(app, low[0] if low else None, currency)})
    return rows


def _deal_rows(app: Any, found: list[Any], names: dict[int, str]) -> list[dict[str, Any]]:
    """Sync: one row per deal, best first (the /deals order)."""
    rows = []
    for d in sorted(found, key=lambda d: d.sort_key):
        store = d.price.store
        currency = store.currency if store else d.price.currency
        rows.append({"appid": d.appid, "name": d.name,
                     "price": _money(app, store.final_cents if store else None, currency),
                     "discount": _discount(app, store),
                     "low": _money(app, d.low_cents, currency),
                     "reason": d.headline,  # the deal rule's own words (_deal_rules)
                     "who": ", ".join(sorted(names.get(int(s), str(s)) for s in d.wanted_by))})
    return rows


def _coop_rows(app: Any, games: list[Any], names: dict[int, str]) -> list[dict[str, Any]]:
    """Sync: /coop's games as rows (coop.price_text formats with babel)."""
    from familybot_trio.features import coop

    return [{"appid": g.appid, "name": g.details.name, "copies": len(g.owner_steamids),
             "owners": ", ".join(sorted(names.get(int(s), str(s)) for s in g.owner_steamids)),
             "price": coop.price_text(app, g)} for g in games]
