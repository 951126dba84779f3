"""The sample Steam family the sandbox serves: members, shared library, wishlists, prices.

Generation is deterministic for a seed (`random.Random(seed)`, no wall clock except the
`now_s` passed in) and pure CPU plus one small file read, so `build_family` runs in a worker
thread (`blocking.run_sync("files", ...)`). Real fixture games keep their appids and names;
the rest take real (appid, name) pairs from a recorded IStoreService/GetAppList page and get
made-up categories, prices and owners.

Records are frozen; the `SandboxFamily` maps are the mutable state that knobs change by
replacing records (see `Sandbox` mutations).
"""

from __future__ import annotations

import json
import os
import random
import threading
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Final

from familybot_trio.ids import AppId, SteamID64

#: Valid per `steam.steamid.SteamID(x).is_valid()` (individual, public universe); account ids
#: 4_000_000_001.. are far above any account Steam has issued so far.
MEMBER_STEAMIDS: Final = tuple(SteamID64(76561197960265728 + 4_000_000_000 + i) for i in range(1, 6))
PERSONAS: Final = ("TestUserOne", "TestUserTwo", "TestUserThree", "TestUserFour", "TestUserFive")

#: Steam category ids -> English description (storefront `categories[]`).
CATEGORY_NAMES: Final[dict[int, str]] = {
    1: "Multi-player", 2: "Single-player", 9: "Co-op", 22: "Steam Achievements",
    23: "Steam Cloud", 24: "Shared/Split Screen", 28: "Full controller support",
    29: "Steam Trading Cards", 36: "Online PvP", 38: "Online Co-op",
    39: "Shared/Split Screen Co-op", 49: "PvP", 62: "Family Sharing",
}
#: Categories GetItems lists under `supported_player_categoryids`; the rest are features.
PLAYER_CATEGORIES: Final = frozenset({1, 2, 9, 24, 36, 37, 38, 39, 47, 48, 49})
GENRES: Final = (("1", "Action"), ("25", "Adventure"), ("23", "Indie"), ("3", "RPG"),
                 ("28", "Simulation"), ("2", "Strategy"), ("9", "Racing"), ("18", "Sports"))
STUDIOS: Final = ("Northwind Games", "Lantern Forge", "Pixel Orchard", "Copperleaf Studio",
                  "Blue Harbor Interactive", "Quiet Owl", "Ironbark Works", "Moonlit Foundry")
BASE_PRICES_CENTS: Final = (499, 799, 999, 1499, 1999, 2499, 2999, 3999, 4999, 5999, 6999)
DISCOUNTS_PCT: Final = (10, 20, 25, 33, 40, 50, 60, 66, 75, 80, 90)

#: EProtoAppType values used in GetSharedLibraryApps `app_type`.
APP_TYPE_GAME: Final = 1
APP_TYPE_APPLICATION: Final = 2
APP_TYPE_TOOL: Final = 4
APP_TYPE_DLC: Final = 32
APP_TYPE_MUSIC: Final = 8192
#: ESharedLibraryExcludeReason values the sample uses.
EXCLUDE_NONE: Final = 0
EXCLUDE_BY_PARTNER: Final = 1
EXCLUDE_FREE_GAME: Final = 3
EXCLUDE_WRONG_APP_TYPE: Final = 6


@dataclass(frozen=True, slots=True)
class Member:
    """One family member. role: 1 Adult, 2 Child (GetFamilyGroup `members[].role`)."""

    steamid: SteamID64
    persona: str
    vanity: str
    role: int
    time_joined: int


@dataclass(frozen=True, slots=True)
class AppInfo:
    """Store facts about one app. store_type: appdetails `type` ("game", "dlc", "music"...)."""

    appid: AppId
    name: str
    store_type: str
    app_type: int
    categories: tuple[int, ...]
    genres: tuple[tuple[str, str], ...]
    developer: str
    publisher: str
    release_date: str
    coming_soon: bool = False
    fixture: str | None = None  # file name of the recorded appdetails body, if any
    parent_appid: int | None = None  # a DLC's base game (appdetails `fullgame.appid`)


@dataclass(frozen=True, slots=True)
class Price:
    """Current Steam price in USD cents. is_free apps have no price_overview at all."""

    initial_cents: int
    discount_pct: int = 0
    is_free: bool = False

    @property
    def final_cents(self) -> int:
        """Price after the discount, rounded down like Steam shows it."""
        return self.initial_cents * (100 - self.discount_pct) // 100


@dataclass(frozen=True, slots=True)
class LibraryApp:
    """One row of GetSharedLibraryApps: owners (first = earliest) and why it is excluded."""

    appid: AppId
    owners: tuple[SteamID64, ...]
    exclude_reason: int
    rt_time_acquired: int


@dataclass(frozen=True, slots=True)
class WishItem:
    """One IWishlistService/GetWishlist item."""

    appid: AppId
    priority: int
    date_added: int


@dataclass(frozen=True, slots=True)
class Playtime:
    """Per (member, app) playtime in minutes; rtime_last_played in Unix seconds."""

    forever_min: int
    two_weeks_min: int
    rtime_last_played: int


@dataclass(slots=True)
class SandboxFamily:
    """The whole mutable sample: read it in tests to know what the sandbox will answer."""

    family_groupid: str
    name: str
    members: list[Member]
    apps: dict[AppId, AppInfo]
    library: dict[AppId, LibraryApp]
    wishlists: dict[SteamID64, dict[AppId, WishItem]]
    prices: dict[AppId, Price]
    history_low_cents: dict[AppId, int]
    itad_ids: dict[AppId, str | None]
    playtimes: dict[tuple[SteamID64, AppId], Playtime] = field(default_factory=dict)
    private_owned: set[SteamID64] = field(default_factory=set)
    private_wishlist: set[SteamID64] = field(default_factory=set)
    #: appid -> the lowest price ever at another shop (GOG) in USD cents; absent: none lower
    other_shop_low_cents: dict[AppId, int] = field(default_factory=dict)

    def member(self, steamid: int) -> Member | None:
        """The member with that SteamID64, or None."""
        return next((m for m in self.members if m.steamid == steamid), None)

    def owned_appids(self, steamid: int) -> list[AppId]:
        """Appids of library apps this member owns (any exclude_reason), sorted."""
        return sorted(a.appid for a in self.library.values() if steamid in a.owners)

    @property
    def owned(self) -> dict[SteamID64, list[AppId]]:
        """SteamID64 -> sorted appids that member owns (what GetOwnedGames lists, plus
        non-games and free games, which it filters)."""
        return {m.steamid: self.owned_appids(m.steamid) for m in self.members}

    def itad_id_of(self, appid: int) -> str | None:
        """The ITAD game uuid of an appid, or None when ITAD does not know it."""
        return self.itad_ids.get(AppId(appid))


# (appid, fixture file, store_type, app_type, USD price cents or None if free, placement)
FIXTURE_APPS: Final = (
    (892970, "appdetails_892970_valheim_paid.json", 1049, "library"),
    (413150, "appdetails_413150_stardew_valley_excerpt.json", 1499, "library"),
    (322330, "appdetails_322330_dont_starve_together_twd_paid.json", 1499, "library"),
    (1604030, "appdetails_1604030_v_rising_paid.json", 1649, "library"),
    (440, "appdetails_440_team_fortress_2_free_raw.json", None, "library"),
    (730, "appdetails_730_counter_strike_2_free_eur.json", None, "library"),
    (570, "appdetails_570_dota_2_free_cz_raw.json", None, "library"),
    (1222670, "appdetails_1222670_the_sims4_free_to_play_81dlc.json", None, "library"),
    (523510, "appdetails_523510_dlc_filtered_basic_brl_raw.json", 299, "library"),
    (1245620, "appdetails_1245620_elden_ring_paid_usd.json", 3999, "wishlist"),
    (1233070, "appdetails_1233070_isles_of_sea_and_sky_discount10_eur.json", 1950, "wishlist"),
    (1121640, "appdetails_1121640_wandering_village_early_access_eur.json", 2499, "wishlist"),
    (669270, "appdetails_669270_momentum_mod_coming_soon_free.json", None, "wishlist"),
)
LIBRARY_SIZE: Final = 2000
WISHLIST_GAMES: Final = 300
#: Environment variable scaling the family down (0 < x <= 1): `python -m bench --smoke`
#: sets it so the test suite's bench run works on a few hundred apps. Unset: full size.
ENV_SCALE: Final = "FAMILYBOT_SANDBOX_SCALE"


def _scale() -> float:
    raw = os.environ.get(ENV_SCALE, "")
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        raise ValueError(f"{ENV_SCALE}={raw!r}: give a number in (0, 1], e.g. 0.2") from None
    if not 0 < value <= 1:
        raise ValueError(f"{ENV_SCALE}={raw!r}: give a number in (0, 1], e.g. 0.2")
    return value
BASE_TIME_S: Final = 1_700_000_000  # 2023-11-14, the "long ago" for acquisition dates


def _itad_uuid(rng: random.Random) -> str:
    """A uuid7-looking ITAD game id (ITAD ids are uuid v7: '018d937f-07fc-72ed-...')."""
    h = f"{rng.getrandbits(96):024x}"
    return f"018d{h[0:4]}-{h[4:8]}-7{h[8:11]}-{'89ab'[int(h[11], 16) % 4]}{h[12:15]}-{h[15:24]}fff"


def _fixture_info(appid: int, fname: str, body: dict[str, object]) -> AppInfo:
    data = body[str(appid)]["data"]  # type: ignore[index]
    store_type = data.get("type", "game")
    return AppInfo(
        appid=AppId(appid), name=data["name"], store_type=store_type,
        app_type=APP_TYPE_DLC if store_type == "dlc" else APP_TYPE_GAME,
        categories=tuple(c["id"] for c in data.get("categories", [])),
        genres=tuple((g["id"], g["description"]) for g in data.get("genres", [])),
        developer=(data.get("developers") or ["Unknown"])[0],
        publisher=(data.get("publishers") or ["Unknown"])[0],
        release_date=data.get("release_date", {}).get("date", ""),
        coming_soon=bool(data.get("release_date", {}).get("coming_soon")), fixture=fname,
        parent_appid=int(data["fullgame"]["appid"]) if data.get("fullgame") else None,
    )


def _random_categories(rng: random.Random) -> tuple[int, ...]:
    cats = [2] if rng.random() < 0.9 else []
    if rng.random() < 0.35:
        cats.append(1)
        cats += [c for c, p in ((9, .6), (38, .5), (39, .2), (24, .15), (49, .3), (36, .25))
                 if rng.random() < p]
    cats += [c for c, p in ((22, .7), (23, .6), (28, .4), (29, .3)) if rng.random() < p]
    if rng.random() < 0.9:
        cats.append(62)
    return tuple(cats or [2])


#: (seed, scale) -> (the fixture bodies it was built from, the family generated at now_s=0).
_GENERATED: dict[tuple[int, float], tuple[object, SandboxFamily]] = {}
_GENERATED_LOCK = threading.Lock()


def build_family(seed: int, now_s: int, fixture_bodies: dict[int, dict[str, object]]) -> SandboxFamily:
    """The sample family for a seed at `now_s`: a fresh copy of a once-generated family.

    Generating takes ~70 ms of CPU (thousands of records); each sandbox of a process (every
    test and demo world) gets its own copy of the maps instead, so knobs that replace records
    in one sandbox never show in another. Records are frozen and shared. Thread-safe; CPU
    (and one package-data read the first time): run in a thread.
    Args: seed: any int, same seed -> same family; now_s: Unix seconds used as "now" (the
        wishlists' date_added counts back from it); fixture_bodies: appid -> recorded
        appdetails envelope (from `_data.load_static`).
    Returns: a SandboxFamily equal to `generate_family(seed, now_s, fixture_bodies)`.
    """
    key = (seed, _scale())
    with _GENERATED_LOCK:
        bodies, base = _GENERATED.get(key, (None, None))
        if base is None or bodies is not fixture_bodies:
            base = generate_family(seed, 0, fixture_bodies)
            _GENERATED[key] = (fixture_bodies, base)
    return _copy_at(base, now_s)


def _copy_at(base: SandboxFamily, now_s: int) -> SandboxFamily:
    """A copy of `base` (generated at now_s=0) whose maps are its own, dated at `now_s`."""
    return SandboxFamily(
        family_groupid=base.family_groupid, name=base.name, members=list(base.members),
        apps=dict(base.apps), library=dict(base.library),
        wishlists={sid: {a: replace(w, date_added=w.date_added + now_s) for a, w in wl.items()}
                   for sid, wl in base.wishlists.items()},
        prices=dict(base.prices), history_low_cents=dict(base.history_low_cents),
        itad_ids=dict(base.itad_ids), playtimes=dict(base.playtimes),
        private_owned=set(base.private_owned), private_wishlist=set(base.private_wishlist),
        other_shop_low_cents=dict(base.other_shop_low_cents))


def generate_family(seed: int, now_s: int,
                    fixture_bodies: dict[int, dict[str, object]]) -> SandboxFamily:
    """Generate the sample family from scratch (CPU plus one package-data read: in a thread).

    Args: as `build_family` (which caches this). The random draws do not depend on `now_s`:
        it only shifts the wishlists' date_added.
    Returns: a new SandboxFamily with 5 members, ~2,000 library apps, ~300 wished games.
    """
    rng = random.Random(seed)
    scale = _scale()
    library_size, wishlist_games = int(LIBRARY_SIZE * scale), int(WISHLIST_GAMES * scale)
    names_file = resources.files(__package__).joinpath(
        "data/steam_webapi/app_names_from_store_service_get_app_list_v1.json")
    pool: list[list] = json.loads(names_file.read_text(encoding="utf-8"))
    rng.shuffle(pool)
    members = [Member(sid, PERSONAS[i], PERSONAS[i].lower().replace("test", "test_"),
                      1 if i < 3 else 2, BASE_TIME_S - 86400 * (40 - i))
               for i, sid in enumerate(MEMBER_STEAMIDS)]
    fam = SandboxFamily(family_groupid=str(4_000_000 + rng.randrange(1_000_000)),
                        name="The Sandbox Family", members=members, apps={}, library={},
                        wishlists={m.steamid: {} for m in members}, prices={},
                        history_low_cents={}, itad_ids={})
    library_ids: list[AppId] = []
    wish_ids: list[AppId] = []
    for appid, fname, price, place in FIXTURE_APPS:
        info = _fixture_info(appid, fname, fixture_bodies[appid])
        fam.apps[info.appid] = info
        fam.prices[info.appid] = Price(price or 0, 0, price is None)
        (library_ids if place == "library" else wish_ids).append(info.appid)
    fam.prices[AppId(1233070)] = Price(1950, 10)  # the recorded body is on sale 10%
    for appid, name in pool[: library_size + wishlist_games + 200 - len(FIXTURE_APPS)]:
        roll = rng.random()
        store_type, app_type = "game", APP_TYPE_GAME
        if roll < 0.03:
            store_type, app_type, name = "music", APP_TYPE_MUSIC, f"{name} Soundtrack"
        elif roll < 0.05:
            store_type, app_type, name = "game", APP_TYPE_TOOL, f"{name} Dedicated Server"
        elif roll < 0.06:
            store_type, app_type, name = "game", APP_TYPE_APPLICATION, f"{name} Level Editor"
        year = rng.randrange(2012, 2026)
        info = AppInfo(AppId(appid), name, store_type, app_type, _random_categories(rng),
                       tuple(rng.sample(GENRES, rng.randrange(1, 3))), rng.choice(STUDIOS),
                       rng.choice(STUDIOS), f"{rng.choice(('Jan', 'Mar', 'May', 'Aug', 'Oct'))} "
                       f"{rng.randrange(1, 29)}, {year}")
        fam.apps[info.appid] = info
        free = app_type == APP_TYPE_TOOL or rng.random() < 0.06
        initial = 0 if free else rng.choice(BASE_PRICES_CENTS)
        disc = rng.choice(DISCOUNTS_PCT) if not free and rng.random() < 0.18 else 0
        fam.prices[info.appid] = Price(initial, disc, free)
        if len(library_ids) < library_size:
            library_ids.append(info.appid)
        elif len(wish_ids) < wishlist_games and app_type == APP_TYPE_GAME:
            wish_ids.append(info.appid)
    _fill_library(fam, rng, library_ids)
    _fill_wishlists(fam, rng, wish_ids, library_ids, now_s)
    _fill_itad(fam, rng)
    return fam


def _fill_library(fam: SandboxFamily, rng: random.Random, library_ids: list[AppId]) -> None:
    sids = [m.steamid for m in fam.members]
    for i, appid in enumerate(library_ids):
        info, price = fam.apps[appid], fam.prices[appid]
        n_owners = 1 if rng.random() < 0.85 else rng.randrange(2, 4)
        owners = tuple(rng.sample(sids, n_owners))
        if info.app_type != APP_TYPE_GAME:
            reason = EXCLUDE_WRONG_APP_TYPE
        elif price.is_free:
            reason, owners = EXCLUDE_FREE_GAME, owners[:1]
        elif rng.random() < 0.02:
            reason = EXCLUDE_BY_PARTNER
        else:
            reason = EXCLUDE_NONE
        acquired = BASE_TIME_S - 86400 * 3000 + i * 86400 * 3000 // len(library_ids)
        fam.library[appid] = LibraryApp(appid, owners, reason, acquired)
        for sid in owners:
            played = rng.random() < 0.7
            forever = rng.randrange(1, 20_000) if played else 0
            fam.playtimes[(sid, appid)] = Playtime(
                forever, rng.choice((0, 0, 0, rng.randrange(1, 600))) if played else 0,
                acquired + rng.randrange(0, 86400 * 365) if played else 0)


def _fill_wishlists(fam: SandboxFamily, rng: random.Random, wish_ids: list[AppId],
                    library_ids: list[AppId], now_s: int) -> None:
    sids = [m.steamid for m in fam.members]
    for n, appid in enumerate(wish_ids):
        # about 1 in 7 wished games is shared by 2-4 members: the "common wishlist".
        k = rng.randrange(2, 5) if (n < 4 or rng.random() < 0.14) else 1
        for sid in rng.sample(sids, k):
            wl = fam.wishlists[sid]
            wl[appid] = WishItem(appid, len(wl) + 1, now_s - rng.randrange(86400, 86400 * 900))
    for sid in sids:  # a couple of wished games the family already has through someone else
        for appid in rng.sample(library_ids[:50], 2):
            if sid not in fam.library[appid].owners:
                wl = fam.wishlists[sid]
                wl[appid] = WishItem(appid, len(wl) + 1, now_s - 86400 * 30)


def _fill_itad(fam: SandboxFamily, rng: random.Random) -> None:
    for appid, info in fam.apps.items():
        price = fam.prices[appid]
        known = info.app_type == APP_TYPE_GAME and rng.random() < 0.97
        fam.itad_ids[appid] = _itad_uuid(rng) if known else None
        if price.is_free or not known:
            continue
        if price.discount_pct and rng.random() < 0.35:
            fam.history_low_cents[appid] = price.final_cents  # on sale at its historical low
        else:
            deeper = min(95, max(price.discount_pct, 10) + rng.choice((5, 10, 20, 30)))
            fam.history_low_cents[appid] = price.initial_cents * (100 - deeper) // 100
