"""Fake api.isthereanydeal.com (prefix /itad), shapes from ITAD's own documentation examples.

The key goes in `?key=` or the `ITAD-API-Key` header; a missing or wrong key answers the
documented error body `{"status_code": 403, "reason_phrase": "..."}`. The shop-id lookup
(`POST /lookup/id/shop/{shopId}/v1`) needs no key (its OpenAPI security lists `{}` first);
a wrong key there is still refused. Batch endpoints take a JSON array of 1..200 items.

Steam (shop 61) prices are the sandbox's live storefront prices. Steam's own low (a deal's
`storeLow`) comes from `family.history_low_cents` (knob: `set_historical_low`); another
shop's (GOG, 35) from `family.other_shop_low_cents` (knob: `set_other_shop_low`), and the
all-store `historyLow` is the lower of the two. `shops` picks which shops' deals are listed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import Response

from familybot_trio.sandbox import _family as F
from familybot_trio.sandbox._store import convert_cents, currency_of

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox  # what _server meets

MAX_BATCH: Final = 200
STEAM: Final = {"id": 61, "name": "Steam"}
OTHER_SHOP: Final = {"id": 35, "name": "GOG"}


def _error(status: int, reason: str) -> Response:
    return Response(json.dumps({"status_code": status, "reason_phrase": reason}).encode(),
                    status, media_type="application/json")


def _amount(usd_cents: int, country: str) -> dict[str, Any]:
    cents = convert_cents(usd_cents, country)
    return {"amount": cents / 100, "amountInt": cents, "currency": currency_of(country)[0]}


def _check_key(sb: Sandbox, req: Request, *, optional: bool = False) -> Response | None:
    key = req.query_params.get("key") or req.headers.get("ITAD-API-Key")
    if not key and optional:
        return None
    if not key:
        return _error(401, "Unauthorized: pass your API key as ?key= or the ITAD-API-Key header")
    if key != sb.itad_key:
        return _error(403, "Forbidden: invalid API key")
    return None


async def _keyed_batch(sb: Sandbox, req: Request, *, key_optional: bool = False
                       ) -> list[Any] | Response:
    """The key check and the JSON-array body every batch endpoint starts with."""
    if denied := _check_key(sb, req, optional=key_optional):
        return denied
    try:
        body = json.loads(await req.body())
    except ValueError:
        return _error(400, "Bad Request: body must be a JSON array")
    if not isinstance(body, list) or not 1 <= len(body) <= MAX_BATCH:
        return _error(400, f"Bad Request: send a JSON array of 1..{MAX_BATCH} items")
    return body


def _appid_by_itad(sb: Sandbox) -> dict[str, F.AppId]:
    return {gid: appid for appid, gid in sb.family.itad_ids.items() if gid}


def _timestamp(sb: Sandbox, days_ago: int) -> str:
    return datetime.fromtimestamp(sb.now_s() - days_ago * 86400, UTC).isoformat(timespec="seconds")


def _deal(sb: Sandbox, appid: F.AppId, country: str) -> dict[str, Any]:
    price = sb.family.prices[appid]
    gid = sb.family.itad_ids[appid]
    return {"shop": STEAM, "price": _amount(price.final_cents, country),
            "regular": _amount(price.initial_cents, country), "cut": price.discount_pct,
            "voucher": None,
            "storeLow": _amount(_steam_low_cents(sb, appid), country),
            "flag": None, "drm": [], "platforms": [{"id": 1, "name": "Windows"}],
            "timestamp": _timestamp(sb, 3), "expiry": None,
            "url": f"https://itad.link/{gid}/"}


def _steam_low_cents(sb: Sandbox, appid: F.AppId) -> int:
    return sb.family.history_low_cents.get(appid, sb.family.prices[appid].final_cents)


def _low(sb: Sandbox, appid: F.AppId, country: str, *, any_store: bool = True
         ) -> dict[str, Any]:
    """A historical low object: the all-store low (any_store) or Steam's own."""
    price = sb.family.prices[appid]
    low = _steam_low_cents(sb, appid)
    other = sb.family.other_shop_low_cents.get(appid)
    shop = STEAM
    if any_store and other is not None and other < low:
        low, shop = other, OTHER_SHOP
    cut = 100 - (low * 100 // price.initial_cents) if price.initial_cents else 0
    return {"shop": shop, "price": _amount(low, country),
            "regular": _amount(price.initial_cents, country), "cut": cut,
            "timestamp": _timestamp(sb, 0 if low == price.final_cents else 200)}


def _priced(sb: Sandbox, ids: list[Any]) -> list[tuple[str, F.AppId]]:
    index = _appid_by_itad(sb)
    return [(gid, index[gid]) for gid in ids if isinstance(gid, str) and gid in index
            and not sb.family.prices[index[gid]].is_free]


async def lookup(sb: Sandbox, req: Request) -> Response:
    """GET /games/lookup/v1?appid=N (or title=) -> {"found": bool, "game": {...}}."""
    if denied := _check_key(sb, req):
        return denied
    p = req.query_params
    fam = sb.family
    appid: F.AppId | None = None
    if p.get("appid", "").isdigit():
        appid = F.AppId(int(p["appid"]))
    elif title := p.get("title"):
        appid = next((a for a, i in fam.apps.items() if i.name.lower() == title.lower()), None)
    gid = fam.itad_ids.get(appid) if appid is not None else None
    if appid is None or gid is None:
        return sb.json({"found": False})
    info = fam.apps[appid]
    slug = "".join(c if c.isalnum() else "-" for c in info.name.lower()).strip("-")
    assets = {k: v.replace(sb.static.itad_lookup_template["game"]["id"], gid)
              for k, v in sb.static.itad_lookup_template["game"]["assets"].items()}
    return sb.json({"found": True, "game": {"id": gid, "slug": slug, "title": info.name,
                                            "type": "game", "mature": False, "assets": assets}})


async def lookup_id_shop(sb: Sandbox, req: Request) -> Response:
    """POST /lookup/id/shop/61/v1 with ["app/N", ...] -> {"app/N": uuid | null} (keyless)."""
    body = await _keyed_batch(sb, req, key_optional=True)
    if isinstance(body, Response):
        return body
    out: dict[str, str | None] = {}
    for shop_id in body:
        kind, _, num = str(shop_id).partition("/")
        out[str(shop_id)] = (sb.family.itad_ids.get(F.AppId(int(num)))
                             if kind == "app" and num.isdigit() else None)
    return sb.json(out)


async def prices(sb: Sandbox, req: Request) -> Response:
    """POST /games/prices/v3?country=&shops= with [uuid, ...] -> [{id, historyLow, deals}]."""
    body = await _keyed_batch(sb, req)
    if isinstance(body, Response):
        return body
    country = req.query_params.get("country", "US")
    shops = {s for s in req.query_params.get("shops", "").split(",") if s}

    def build() -> list[dict[str, Any]]:
        out = []
        for gid, appid in _priced(sb, body):
            low = _low(sb, appid, country)["price"]
            deals = [_deal(sb, appid, country)]
            if not shops or "35" in shops:
                other = dict(deals[0], shop=OTHER_SHOP, url=f"https://itad.link/{gid}/gog/")
                other["price"] = _amount(sb.family.prices[appid].initial_cents, country)
                other["cut"] = 0
                gog_low = sb.family.other_shop_low_cents.get(appid)
                other["storeLow"] = _amount(gog_low if gog_low is not None
                                            else sb.family.prices[appid].initial_cents, country)
                deals.append(other)
            if shops:
                deals = [d for d in deals if str(d["shop"]["id"]) in shops]
            out.append({"id": gid, "historyLow": {"all": low, "y1": low, "m3": low},
                        "deals": deals})
        return out

    return await sb.json_big(build)


async def historylow(sb: Sandbox, req: Request) -> Response:
    """POST /games/historylow/v1?country= with [uuid, ...] -> [{id, low: {...}}]."""
    body = await _keyed_batch(sb, req)
    if isinstance(body, Response):
        return body
    country = req.query_params.get("country", "US")
    return sb.json([{"id": gid, "low": _low(sb, appid, country)}
                    for gid, appid in _priced(sb, body)])


async def storelow(sb: Sandbox, req: Request) -> Response:
    """POST /games/storelow/v2?country=&shops=61 with [uuid, ...] -> [{id, lows: [...]}]."""
    body = await _keyed_batch(sb, req)
    if isinstance(body, Response):
        return body
    country = req.query_params.get("country", "US")
    return sb.json([{"id": gid, "lows": [_low(sb, appid, country, any_store=False)]}
                    for gid, appid in _priced(sb, body)])


async def overview(sb: Sandbox, req: Request) -> Response:
    """POST /games/overview/v2?country= with [uuid, ...] -> {prices: [...], bundles: []}."""
    body = await _keyed_batch(sb, req)
    if isinstance(body, Response):
        return body
    country = req.query_params.get("country", "US")
    out = []
    for gid, appid in _priced(sb, body):
        current = _deal(sb, appid, country)
        current.pop("storeLow")
        out.append({"id": gid, "current": current, "lowest": _low(sb, appid, country),
                    "bundled": 0,
                    "urls": {"game": f"https://isthereanydeal.com/game/id:{gid}/"}})
    return sb.json({"prices": out, "bundles": []})


ROUTES: dict[str, tuple[str, Any]] = {
    "/games/lookup/v1": ("lookup", lookup),
    "/lookup/id/shop/61/v1": ("lookup_id_shop", lookup_id_shop),
    "/games/prices/v3": ("prices", prices),
    "/games/historylow/v1": ("historylow", historylow),
    "/games/storelow/v2": ("storelow", storelow),
    "/games/overview/v2": ("overview", overview),
}
