"""Changes over time: the sandbox methods that edit the family (bound onto `Sandbox`).

Each takes effect on the next request: bodies are built from the live state. Each change
to the library, a price's sale or a wishlist is also appended to `sb.change_log` (a list of
`Change`, in the order made): the ground truth a soak checks the bot's announcements
against, kept by the sandbox itself rather than derived from what the bot posted.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

from familybot_trio.sandbox import _family as F

if TYPE_CHECKING:
    from familybot_trio.sandbox._context import SandboxContext as Sandbox  # what _server meets


class Change(NamedTuple):
    """One change the sandbox made. at_s: sandbox Unix seconds; kind: "library_add",
    "library_remove", "sale_start", "sale_end", "wishlist_add" or "wishlist_remove" (and
    "free_start" / "free_end" from sandbox/_free_offers.py); appid; steamid (the owner or
    wisher, 0 when none); discount_pct (sale_start, else 0); key (free offers: the offer's
    canonical store page URL, else ""); source (free offers: "epic" or "reddit", else "")."""

    at_s: float
    kind: str
    appid: int
    steamid: int = 0
    discount_pct: int = 0
    key: str = ""
    source: str = ""


def _log(sb: Sandbox, kind: str, appid: int, steamid: int = 0, discount_pct: int = 0) -> None:
    log = sb.__dict__.setdefault("change_log", [])
    log.append(Change(sb.now_s(), kind, int(appid), int(steamid), discount_pct))


def add_catalog_app(sb: Sandbox, appid: int, name: str, *, price_cents: int = 1999,
                    categories: tuple[int, ...] = (2, 1, 9, 38, 62),
                    app_type: int = F.APP_TYPE_GAME) -> None:
    """Put a new app in the store catalog only (not in the library): one to wish for or sell.

    Raises: ValueError when `appid` is already in the catalog.
    """
    fam, aid = sb.family, F.AppId(appid)
    if aid in fam.apps:
        raise ValueError(f"appid {appid} is already in the sandbox catalog")
    fam.apps[aid] = F.AppInfo(aid, name, "game", app_type, tuple(categories),
                              (("1", "Action"),), "Sandbox Studio", "Sandbox Studio",
                              "Jan 1, 2025")
    fam.prices[aid] = F.Price(price_cents, 0, price_cents == 0)
    fam.itad_ids[aid] = f"018d0000-0000-7000-8000-{appid:012d}"[:36]
    fam.history_low_cents[aid] = price_cents


def _known(sb: Sandbox, appid: int) -> F.AppId:
    if F.AppId(appid) not in sb.family.apps:
        raise KeyError(f"appid {appid} is not in the sandbox catalog; add it with "
                       "add_library_app(appid, owner, name=...) first")
    return F.AppId(appid)


def add_library_app(sb: Sandbox, appid: int, owner: int, *, name: str | None = None,
                    price_cents: int = 1999, categories: tuple[int, ...] = (2, 1, 9, 38, 62),
                    app_type: int = F.APP_TYPE_GAME, exclude_reason: int = F.EXCLUDE_NONE) -> None:
    """Put `appid` in the shared library owned by `owner` (acquired now).

    Args: appid: a catalog app (e.g. a wished game) or a new one (then `name` is required);
        owner: a member's SteamID64; an app already in the library gains this owner.
    Raises: KeyError for an unknown owner, ValueError for a new appid without a name.
    """
    fam = sb.family
    if fam.member(owner) is None:
        raise KeyError(f"{owner} is not a member of the sandbox family")
    aid, sid = F.AppId(appid), F.SteamID64(owner)
    if aid not in fam.apps:
        if not name:
            raise ValueError(f"appid {appid} is new to the sandbox: pass name=")
        add_catalog_app(sb, appid, name, price_cents=price_cents, categories=categories,
                        app_type=app_type)
    lib = fam.library.get(aid)
    _log(sb, "library_add", appid, owner)
    if lib is None:
        fam.library[aid] = F.LibraryApp(aid, (sid,), exclude_reason, int(sb.now_s()))
    elif sid not in lib.owners:
        fam.library[aid] = dataclasses.replace(lib, owners=(*lib.owners, sid))
    fam.playtimes.setdefault((sid, aid), F.Playtime(0, 0, 0))


def remove_library_app(sb: Sandbox, appid: int) -> None:
    """Take `appid` out of the shared library (a licence revoked or refunded)."""
    if sb.family.library.pop(F.AppId(appid), None) is not None:
        _log(sb, "library_remove", appid)


def set_exclude_reason(sb: Sandbox, appid: int, reason: int) -> None:
    """Change why a library app is (not) lent: 0 shareable, e.g. 1 excluded by the publisher."""
    aid = F.AppId(appid)
    sb.family.library[aid] = dataclasses.replace(sb.family.library[aid], exclude_reason=reason)


def set_price(sb: Sandbox, appid: int, initial_cents: int, discount_pct: int | None = None) -> None:
    """Change the regular USD price (cents); keep the current discount unless given."""
    aid = _known(sb, appid)
    old = sb.family.prices[aid]
    pct = old.discount_pct if discount_pct is None else discount_pct
    sb.family.prices[aid] = F.Price(initial_cents, pct, initial_cents == 0)


def start_sale(sb: Sandbox, appid: int, discount_pct: int) -> None:
    """Put `appid` on sale at `discount_pct` (1..99) percent off."""
    if not 0 < discount_pct < 100:
        raise ValueError(f"discount_pct must be 1..99, got {discount_pct}")
    aid = _known(sb, appid)
    sb.family.prices[aid] = dataclasses.replace(sb.family.prices[aid], discount_pct=discount_pct)
    _log(sb, "sale_start", appid, discount_pct=discount_pct)


def end_sale(sb: Sandbox, appid: int) -> None:
    """Back to the regular price."""
    aid = _known(sb, appid)
    sb.family.prices[aid] = dataclasses.replace(sb.family.prices[aid], discount_pct=0)
    _log(sb, "sale_end", appid)


def set_historical_low(sb: Sandbox, appid: int, cents: int | None = None) -> None:
    """Set the ITAD historical low (USD cents); default: the current final price."""
    aid = _known(sb, appid)
    sb.family.history_low_cents[aid] = (sb.family.prices[aid].final_cents
                                        if cents is None else cents)


def set_other_shop_low(sb: Sandbox, appid: int, cents: int | None) -> None:
    """Another shop (GOG, ITAD shop 35) once sold `appid` for `cents` (USD): ITAD's all-store
    historyLow becomes the lower of it and Steam's low; None forgets it."""
    aid = _known(sb, appid)
    if cents is None:
        sb.family.other_shop_low_cents.pop(aid, None)
    else:
        sb.family.other_shop_low_cents[aid] = cents


def clear_wishlist(sb: Sandbox, steamid: int) -> None:
    """Empty a member's wishlist (GetWishlist then answers {"items": []})."""
    sb.family.wishlists[F.SteamID64(steamid)] = {}


def add_to_wishlist(sb: Sandbox, steamid: int, appid: int) -> None:
    """Add a catalog app to the end of a member's wishlist (date_added = now)."""
    aid = _known(sb, appid)
    wl = sb.family.wishlists.setdefault(F.SteamID64(steamid), {})
    wl[aid] = F.WishItem(aid, len(wl) + 1, int(sb.now_s()))
    _log(sb, "wishlist_add", appid, steamid)


def remove_from_wishlist(sb: Sandbox, steamid: int, appid: int) -> None:
    """Drop one app from a member's wishlist."""
    if sb.family.wishlists.get(F.SteamID64(steamid), {}).pop(F.AppId(appid), None):
        _log(sb, "wishlist_remove", appid, steamid)
