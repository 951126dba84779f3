"""Fake store.steampowered.com (`/store/api/appdetails`), GetItems store items, and the
store page that hands out the user's Web API token (`/steam-auth/pointssummary/...`).

appdetails rules (RJackson StorefrontAPI wiki + live probes in SOURCES.md):
- one appid: the full body (recorded body for fixture games, generated otherwise);
- several appids need `filters=price_overview`, else HTTP 400 with body `null`;
- with `filters=price_overview`, a free app or a non-game answers `"data": []`;
- unknown appid: `{"<id>": {"success": false}}` with HTTP 200.
Prices always come from the live sandbox state, so mutations show at once; `cc` picks the
currency (USD, EUR, GBP, CAD, BRL; others USD) with fixed rates.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import Response

from familybot_trio.sandbox import _family as F

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox  # what _server meets

_EUR = ("EUR", 0.95, "{}€", ",")  # recorded bodies: "9,75€" (no space, comma decimals)
#: country (ISO 3166-1 alpha-2, upper) -> (currency, rate from USD, display format, decimal mark)
CURRENCIES: Final[dict[str, tuple[str, float, str, str]]] = {
    "US": ("USD", 1.0, "${}", "."), "GB": ("GBP", 0.85, "£{}", "."),
    "CA": ("CAD", 1.35, "CDN$ {}", "."), "BR": ("BRL", 5.0, "R$ {}", ","),
    **{cc: _EUR for cc in ("DE", "FR", "NL", "IT", "ES", "CZ", "AT", "BE", "FI", "IE", "PT")},
}
BASIC_FILTER_KEYS: Final = ("type", "name", "steam_appid", "required_age", "is_free",
                            "detailed_description", "about_the_game", "short_description",
                            "supported_languages", "header_image", "website", "pc_requirements")
#: Storefront `type` -> EStoreAppType number used in GetItems `type`.
STORE_TYPE_NUMBER: Final = {"game": 0, "dlc": 4, "music": 11, "demo": 1, "mod": 2, "video": 7}


def currency_of(cc: str) -> tuple[str, float, str, str]:
    """Currency facts for a country code (case-insensitive); unknown -> USD."""
    return CURRENCIES.get(cc.upper(), CURRENCIES["US"])


def convert_cents(usd_cents: int, cc: str) -> int:
    """USD cents -> cents of the country's currency at the sandbox's fixed rate."""
    return int(round(usd_cents * currency_of(cc)[1]))


def format_cents(cents: int, cc: str) -> str:
    """Display string like Steam's: "$9.99", "9,75€", "R$ 24,99"."""
    _cur, _rate, fmt, mark = currency_of(cc)
    return fmt.format(f"{cents // 100}{mark}{cents % 100:02d}")


#: EUserReviewScore (steam/steammessages_storebrowse.steamclient.proto) -> Steam's label.
REVIEW_LABELS: Final = {5: "Mixed", 6: "Mostly Positive", 7: "Positive", 8: "Very Positive",
                        9: "Overwhelmingly Positive"}


def _review_summary(appid: int) -> dict[str, Any]:
    """A deterministic StoreReviewSummary for an app (the recorded shape, made-up numbers)."""
    count = 50 + appid % 9000
    positive = 60 + appid % 40
    score = 9 if positive >= 95 and count >= 500 else 8 if positive >= 80 \
        else 6 if positive >= 70 else 5
    return {"review_count": count, "percent_positive": positive, "review_score": score,
            "review_score_label": REVIEW_LABELS[score]}


class Storefront:
    """Builds storefront and GetItems bodies from the sandbox state."""

    def __init__(self, sb: Sandbox) -> None:
        self._sb = sb

    def price_overview(self, appid: F.AppId, cc: str) -> dict[str, Any] | None:
        """appdetails `price_overview` for the live price, or None for a free app."""
        price = self._sb.family.prices[appid]
        if price.is_free:
            return None
        initial = convert_cents(price.initial_cents, cc)
        final = initial * (100 - price.discount_pct) // 100
        return {"currency": currency_of(cc)[0], "initial": initial, "final": final,
                "discount_percent": price.discount_pct,
                "initial_formatted": format_cents(initial, cc) if price.discount_pct else "",
                "final_formatted": format_cents(final, cc)}

    def app_data(self, appid: F.AppId, cc: str) -> dict[str, Any]:
        """The full appdetails `data` object: recorded body (re-priced) or a generated one."""
        fam = self._sb.family
        info, price = fam.apps[appid], fam.prices[appid]
        if info.fixture:
            data = copy.deepcopy(self._sb.static.appdetails[appid][str(appid)]["data"])
            data.setdefault("type", info.store_type)
            data.setdefault("is_free", price.is_free)
        else:
            img = f"https://shared.akamai.steamstatic.com/store_item_assets/steam/apps/{appid}"
            desc = f"{info.name} is a {info.genres[0][1].lower()} game by {info.developer}."
            data = {
                "type": info.store_type, "name": info.name, "steam_appid": appid,
                "required_age": 0, "is_free": price.is_free, "detailed_description": desc,
                "about_the_game": desc, "short_description": desc,
                "supported_languages": "English<strong>*</strong>",
                "header_image": f"{img}/header.jpg", "capsule_image": f"{img}/capsule_231x87.jpg",
                "website": None, "developers": [info.developer], "publishers": [info.publisher],
                "packages": [appid * 10 + 1],
                "platforms": {"windows": True, "mac": appid % 3 == 0, "linux": appid % 5 == 0},
                "categories": [{"id": c, "description": F.CATEGORY_NAMES.get(c, f"Category {c}")}
                               for c in info.categories],
                "genres": [{"id": g, "description": d} for g, d in info.genres],
                "recommendations": {"total": 50 + appid % 9000},
                "release_date": {"coming_soon": info.coming_soon, "date": info.release_date},
                "content_descriptors": {"ids": [], "notes": None}}
        data.pop("price_overview", None)
        overview = self.price_overview(appid, cc)
        if overview is not None:
            data["price_overview"] = overview
        return data

    def store_item(self, appid: int, want: dict[str, Any], cc: str) -> dict[str, Any]:
        """One IStoreBrowseService/GetItems `store_items[]` entry (see the recorded sample)."""
        fam = self._sb.family
        info = fam.apps.get(F.AppId(appid))
        if info is None:
            return {"item_type": 0, "id": appid, "success": 15, "visible": False, "appid": 0}
        price = fam.prices[info.appid]
        item: dict[str, Any] = {
            "item_type": 0, "id": appid, "success": 1, "visible": True, "name": info.name,
            "store_url_path": f"app/{appid}/{info.name.replace(' ', '_')}", "appid": appid,
            "type": STORE_TYPE_NUMBER.get(info.store_type, 0),
            "categories": {
                "supported_player_categoryids": [c for c in info.categories
                                                 if c in F.PLAYER_CATEGORIES],
                "feature_categoryids": [c for c in info.categories if c not in F.PLAYER_CATEGORIES],
                "controller_categoryids": [c for c in info.categories if c == 28]}}
        if price.is_free:
            item["is_free"] = True
        if info.parent_appid:  # StoreItem.related_items: a DLC names its base game
            item["related_items"] = {"parent_appid": info.parent_appid}
        if want.get("include_basic_info"):
            item["basic_info"] = {
                "short_description": f"{info.name} by {info.developer}.",
                "publishers": [{"name": info.publisher}], "developers": [{"name": info.developer}]}
        if want.get("include_reviews"):  # StoreItem.Reviews, as in the recorded sample
            item["reviews"] = {"summary_filtered": _review_summary(appid)}
        if want.get("include_assets"):
            item["assets"] = {"asset_url_format": f"steam/apps/{appid}/${{FILENAME}}",
                              "main_capsule": "capsule_616x353.jpg", "header": "header.jpg",
                              "small_capsule": "capsule_231x87.jpg"}
        if not price.is_free:
            initial = convert_cents(price.initial_cents, cc)
            final = initial * (100 - price.discount_pct) // 100
            best: dict[str, Any] = {
                "packageid": appid * 10 + 1, "purchase_option_name": info.name,
                "final_price_in_cents": str(final), "formatted_final_price": format_cents(final, cc)}
            if price.discount_pct:
                best |= {"original_price_in_cents": str(initial),
                         "formatted_original_price": format_cents(initial, cc),
                         "discount_pct": price.discount_pct,
                         "active_discounts": [{"discount_amount": str(initial - final),
                                               "discount_description":
                                                   "#discount_desc_preset_special",
                                               "discount_end_date": int(self._sb.now_s()) + 7 * 86400}]}
            best |= {"user_can_purchase_as_gift": True, "hide_discount_pct_for_compliance": False,
                     "included_game_count": 1}
            item["best_purchase_option"] = best
        return item


async def appdetails(sb: Sandbox, req: Request) -> Response:
    """GET /store/api/appdetails?appids=N[,M...]&filters=&cc=&l= (see module docstring)."""
    p = req.query_params
    try:
        appids = [int(a) for a in p.get("appids", "").split(",") if a.strip()]
    except ValueError:
        appids = []
    filters = [f for f in p.get("filters", "").split(",") if f]
    cc = p.get("cc", "US")
    if not appids or (len(appids) > 1 and filters != ["price_overview"]):
        return Response(b"null", 400, media_type="application/json; charset=utf-8")
    out: dict[str, Any] = {}
    for appid in appids:
        if F.AppId(appid) not in sb.family.apps:
            out[str(appid)] = {"success": False}
            continue
        data = sb.store.app_data(F.AppId(appid), cc)
        if filters:
            keys = {k for f in filters for k in (BASIC_FILTER_KEYS if f == "basic" else (f,))}
            data = {k: v for k, v in data.items() if k in keys}
            if not data:  # what Steam does for free apps and non-games with price_overview
                data = []  # type: ignore[assignment]
        out[str(appid)] = {"success": True, "data": data}
    return sb.json(out)


async def ajaxgetasyncconfig(sb: Sandbox, req: Request) -> Response:
    """GET /steam-auth/pointssummary/ajaxgetasyncconfig -> {"success":1,"data":{"webapi_token"}}.

    The sandbox does not model cookies: it hands out the current access token, issuing a
    fresh one (new exp) when the current one was expired with `expire_access_token()`.
    """
    return sb.json({"success": 1, "data": {"webapi_token": sb.renew_access_token_if_expired()}})
