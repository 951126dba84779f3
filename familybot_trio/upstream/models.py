"""Typed records parsed from upstream answers: raw dicts stop at the parsers.

Every record is a frozen, slotted dataclass. Ids that are ints get their own NewType so a
SteamID64 can't be passed where an appid is expected. Money is in integer cents of the
record's `currency` (ISO 4217), never floats. Times are aware UTC datetimes.

One normalised `GameDetails` type serves both batch (IStoreBrowseService/GetItems) and full
(storefront appdetails) answers, so cached and fresh data look the same to features (the
reference bot's P1-P4 came from two shapes of "details").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, NewType

from familybot_trio.ids import AppId, SteamID64

FamilyGroupId = NewType("FamilyGroupId", int)
ItadId = NewType("ItadId", str)  # ITAD game uuid, e.g. "018d937f-12e9-71ca-a5d5-f31985870694"

# Steam store category ids that features ask about (appdetails `categories[].id`,
# GetItems `categories.*_categoryids`). Source: appdetails bodies in the fixtures.
CATEGORY_MULTI_PLAYER: Final = 1
CATEGORY_CO_OP: Final = 9
CATEGORY_ONLINE_PVP: Final = 36
CATEGORY_ONLINE_CO_OP: Final = 38
CATEGORY_LAN_CO_OP: Final = 48
CATEGORY_FAMILY_SHARING: Final = 62
MULTIPLAYER_CATEGORIES: Final = frozenset({1, 9, 36, 38, 48, 49})

# ESharedLibraryExcludeReason (steammessages_familygroups.steamclient.proto): 0 = included.
EXCLUDE_REASON_INCLUDED: Final = 0
EXCLUDE_REASON_FREE_GAME: Final = 3


def utc_from_unix(seconds: int | float | None) -> datetime | None:
    """Unix seconds -> aware UTC datetime; 0 and None (Steam's "never") -> None."""
    if not seconds:
        return None
    return datetime.fromtimestamp(float(seconds), tz=UTC)


# --------------------------------------------------------------------------- Steam Web API


@dataclass(frozen=True, slots=True)
class FamilyMember:
    """A member of a Steam family group. role: 1 adult, 2 child (EFamilyGroupRole)."""

    steamid: SteamID64
    role: int
    time_joined: datetime | None


@dataclass(frozen=True, slots=True)
class FamilyGroup:
    """IFamilyGroupsService/GetFamilyGroup: the family's name, members and slots."""

    family_groupid: FamilyGroupId
    name: str
    members: tuple[FamilyMember, ...]
    free_spots: int
    country: str

    @property
    def steamids(self) -> tuple[SteamID64, ...]:
        """SteamID64s of current members, in Steam's order."""
        return tuple(m.steamid for m in self.members)


@dataclass(frozen=True, slots=True)
class FamilyMembership:
    """IFamilyGroupsService/GetFamilyGroupForUser: which family a user is in (or none)."""

    steamid: SteamID64
    family_groupid: FamilyGroupId | None  # None when is_not_member_of_any_group
    role: int | None
    family_group: FamilyGroup | None  # present with include_family_group_response=true


@dataclass(frozen=True, slots=True)
class SharedApp:
    """One app of the family's shared library (GetSharedLibraryApps `apps[]`).

    rt_playtime_min is the *caller's* playtime in minutes (Probe notes C).
    exclude_reason 0 means shareable; 3 is a free game (see EXCLUDE_REASON_*).
    """

    appid: AppId
    name: str
    owner_steamids: tuple[SteamID64, ...]
    exclude_reason: int
    app_type: int
    rt_time_acquired: datetime | None
    rt_last_played: datetime | None
    rt_playtime_min: int

    @property
    def is_shared(self) -> bool:
        """True when the app is shareable in the family (exclude_reason 0)."""
        return self.exclude_reason == EXCLUDE_REASON_INCLUDED


@dataclass(frozen=True, slots=True)
class OwnedGame:
    """IPlayerService/GetOwnedGames `games[]`. Playtimes in minutes."""

    appid: AppId
    name: str
    playtime_forever_min: int
    playtime_2weeks_min: int
    rtime_last_played: datetime | None


@dataclass(frozen=True, slots=True)
class OwnedGames:
    """A user's library. is_visible False: Steam answered `{}` (private game details)."""

    steamid: SteamID64
    is_visible: bool
    games: tuple[OwnedGame, ...]


@dataclass(frozen=True, slots=True)
class WishlistItem:
    """IWishlistService/GetWishlist `items[]`."""

    appid: AppId
    priority: int
    date_added: datetime | None


@dataclass(frozen=True, slots=True)
class Wishlist:
    """A user's wishlist. is_visible False: Steam answered `{}` (not publicly readable)."""

    steamid: SteamID64
    is_visible: bool
    items: tuple[WishlistItem, ...]


@dataclass(frozen=True, slots=True)
class PlayerSummary:
    """ISteamUser/GetPlayerSummaries/v2 `players[]` (public fields only)."""

    steamid: SteamID64
    personaname: str
    profileurl: str
    avatarfull: str
    personastate: int
    game_appid: AppId | None  # `gameid` when in game
    game_name: str | None  # `gameextrainfo`


@dataclass(frozen=True, slots=True)
class RecentGame:
    """IPlayerService/GetRecentlyPlayedGames `games[]`. Playtimes in minutes."""

    appid: AppId
    name: str
    playtime_2weeks_min: int
    playtime_forever_min: int


# --------------------------------------------------------------------------- store data


@dataclass(frozen=True, slots=True)
class PriceOverview:
    """A store price in cents. currency None when the upstream gave only a formatted text."""

    final_cents: int
    initial_cents: int
    discount_pct: int
    currency: str | None
    final_formatted: str = ""

    @property
    def is_discounted(self) -> bool:
        """True when the store shows a discount."""
        return self.discount_pct > 0 and self.final_cents < self.initial_cents


@dataclass(frozen=True, slots=True)
class GameDetails:
    """Name, type, categories and price of one app, whatever endpoint produced them.

    type: "game", "dlc", "demo", "mod", "music", "video", "software", "other".
    price None: free, not sold, or not priced in this country.
    source: "getitems" (batch, fewer fields) or "appdetails" (full).
    """

    appid: AppId
    name: str
    type: str
    is_free: bool
    category_ids: frozenset[int]
    price: PriceOverview | None
    country: str
    source: str
    short_description: str = ""
    header_image: str = ""
    developers: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    release_date: str = ""  # display string, localised by the store
    coming_soon: bool = False
    review_pct_positive: int | None = None
    parent_appid: int | None = None  # a DLC's base game (GetItems related_items.parent_appid)

    @property
    def is_multiplayer(self) -> bool:
        """True when any multi-player / co-op / PvP category is listed."""
        return bool(self.category_ids & MULTIPLAYER_CATEGORIES)

    @property
    def is_family_shareable(self) -> bool:
        """True when the store lists the Family Sharing category (62)."""
        return CATEGORY_FAMILY_SHARING in self.category_ids


# --------------------------------------------------------------------------- ITAD


@dataclass(frozen=True, slots=True)
class ItadLookup:
    """Steam appid -> ITAD game id; itad_id None means ITAD knows no such game."""

    appid: AppId
    itad_id: ItadId | None


@dataclass(frozen=True, slots=True)
class ItadPrice:
    """ITAD games/prices/v3 for one game in one country, Steam deals only (shop 61).

    history_low_cents: lowest price at any store ever (`historyLow.all`).
    store_low_cents: lowest Steam price ever (`deals[].storeLow` of shop 61), the fair
    comparison for a Steam price (the reference bot compared all-store lows, P28).
    """

    itad_id: ItadId
    currency: str | None
    current_cents: int | None
    regular_cents: int | None
    cut_pct: int | None
    history_low_cents: int | None
    store_low_cents: int | None
    url: str | None


@dataclass(frozen=True, slots=True)
class GamePrice:
    """What the catalog knows about an app's price in one country."""

    appid: AppId
    country: str
    store: PriceOverview | None  # Steam's own current price (None: free or not sold)
    itad_id: ItadId | None
    history_low_cents: int | None
    store_low_cents: int | None
    currency: str | None


# --------------------------------------------------------------------------- free games


@dataclass(frozen=True, slots=True)
class PromoWindow:
    """One Epic promotional offer window; discount_pct 0 means free during the window."""

    start: datetime
    end: datetime
    discount_pct: int


@dataclass(frozen=True, slots=True)
class EpicOffer:
    """One element of Epic's freeGamesPromotions, decided from its offer data only.

    offer_type: Epic's own ("BASE_GAME", "DLC", "OTHERS", "BUNDLE", ...). page_kind:
    "product", "addon" or "bundle" (from offerType and categories). url / identity: the
    element's own store page (familybot_trio.links.epic_page) and its canonical identity,
    None when the element names no real product page (no offerMappings, catalogNs
    mappings or productSlug: Epic's "Mystery Game" slots carry productSlug "[]").
    is_placeholder: url is None, so there is nothing a family could claim; vault images
    or a title never decide it (a revealed vault item keeps its VaultClosed image).
    """

    offer_id: str
    namespace: str
    title: str
    offer_type: str
    description: str
    url: str | None
    image_url: str | None
    original_cents: int
    discount_cents: int
    currency: str
    current: tuple[PromoWindow, ...]
    upcoming: tuple[PromoWindow, ...]
    page_kind: str = "product"
    identity: str | None = None

    @property
    def is_placeholder(self) -> bool:
        """True when the element has no real product page (see the class docstring)."""
        return self.url is None

    def free_window(self, now: datetime) -> PromoWindow | None:
        """The 0%-price promo window covering `now` (aware UTC) when the discount price is
        0, as the store's "Free Now" rule reads it; else None."""
        if self.discount_cents != 0:
            return None
        return next((w for w in self.current if w.discount_pct == 0 and w.start <= now < w.end),
                    None)

    def is_free_now(self, now: datetime) -> bool:
        """True when price is 0 and a 0%-price promo window covers `now` (aware UTC)."""
        return self.free_window(now) is not None

    def next_free_window(self, now: datetime) -> PromoWindow | None:
        """The first 0%-price window starting after `now` (upcoming, or a current-list
        window that has not started yet), or None."""
        windows = [w for w in self.upcoming + self.current if w.discount_pct == 0 and w.start > now]
        return min(windows, key=lambda w: w.start, default=None)

    def status(self, now: datetime) -> str:
        """What the element is at `now`, from its offer data.

        Returns: "free_now" (claimable), "free_later" (a 0% window ahead), "placeholder_later"
            (an unrevealed slot with a 0% window ahead), "placeholder" (no product, no free
            window), "discounted" (an active window above 0% or a price cut), "paid" (no
            active promotion).
        """
        free_later = self.next_free_window(now) is not None
        if self.is_placeholder:
            return "placeholder_later" if free_later else "placeholder"
        if self.is_free_now(now):
            return "free_now"
        if free_later:
            return "free_later"
        active = any(w.start <= now < w.end for w in self.current)
        if active or self.discount_cents < self.original_cents:
            return "discounted"
        return "paid"


@dataclass(frozen=True, slots=True)
class FreeGamePost:
    """A post of r/FreeGameFindings: "[Store] (Kind) Name" titles parsed.

    store / kind / name are "" when the title does not follow the convention.
    url: the post's outbound link (the offer) or the permalink for self posts.
    """

    post_id: str
    title: str
    store: str
    kind: str
    name: str
    url: str
    permalink: str
    published: datetime | None
    is_psa: bool
    is_expired: bool
    flair: str | None = field(default=None)
