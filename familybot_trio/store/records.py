"""Rows the store hands out and takes in: frozen, slotted dataclasses with typed ids.

The store defines its own records so it stays independent of `upstream/`: a feature converts
an upstream answer into these before storing it. Times are timezone-aware UTC datetimes
here and integer Unix seconds in the database (`to_ts` / `from_ts`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NewType

from familybot_trio.ids import AppId, SteamID64

Snowflake = NewType("Snowflake", int)
OutboxId = NewType("OutboxId", int)


def to_ts(when: dt.datetime | None) -> int | None:
    """UTC datetime -> Unix seconds (None stays None). Naive datetimes are taken as UTC."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp())


def from_ts(ts: int | None) -> dt.datetime | None:
    """Unix seconds -> aware UTC datetime (None stays None)."""
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A family member as stored: SteamID64, display name, optional Discord user id."""

    steamid: SteamID64
    name: str
    discord_id: Snowflake | None = None


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One app of the family library as upstream reports it (input of apply_snapshot).

    Attributes: owner_steamids (members who own a copy); app_type (Steam's word, e.g. "game");
    exclude_reason (Steam's number, 0 = shareable); rt_time_acquired (when first acquired).
    Upstream: IFamilyGroupsService/GetSharedLibraryApps/v1 `apps[]`.
    """

    appid: AppId
    owner_steamids: tuple[SteamID64, ...]
    app_type: str | None = None
    exclude_reason: int = 0
    rt_time_acquired: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class LibraryApp:
    """One app of the family library as stored (removed apps are kept with removed_at)."""

    appid: AppId
    owner_steamids: tuple[SteamID64, ...]
    app_type: str | None
    exclude_reason: int
    rt_time_acquired: dt.datetime | None
    first_seen_at: dt.datetime
    removed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class LibraryChange:
    """An app that appeared in a snapshot.

    Attributes: entry (as in the snapshot); removed_at (None if never seen before, else when
    it left the library: a game back within the return window is in `LibraryDelta.returned`).
    """

    entry: LibraryEntry
    removed_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class LibraryDelta:
    """What a library snapshot changed, handed to the outbox planner inside the transaction.

    Attributes: new (never seen, or gone longer than the return window); returned (back
    within it, usually not re-announced); removed (appids gone from the library);
    is_initial (the first snapshot ever: everything is "new", announce with care);
    shareable (already in the library, stored with a non-zero exclude_reason that is 0 now:
    shareable for the first time, announce like a new game);
    copies_added ((appid, owners who newly own it) for apps the family already had);
    excluded ((appid, new exclude_reason) for apps that were shareable and no longer are).
    """

    new: tuple[LibraryChange, ...]
    returned: tuple[LibraryChange, ...]
    removed: tuple[AppId, ...]
    is_initial: bool
    shareable: tuple[LibraryChange, ...] = ()
    copies_added: tuple[tuple[AppId, tuple[SteamID64, ...]], ...] = ()
    excluded: tuple[tuple[AppId, int], ...] = ()


@dataclass(frozen=True, slots=True)
class LibraryEvent:
    """One recorded change of the family library, waiting for the daily digest.

    Attributes: id; kind: "removed", "copy_added" or "excluded"; appid; at (UTC);
        owners (copy_added: the members who newly own it); exclude_reason (excluded).
    """

    id: int
    kind: str
    appid: AppId
    at: dt.datetime
    owners: tuple[SteamID64, ...] = ()
    exclude_reason: int = 0


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """Outcome of apply_snapshot.

    Attributes: applied (False when the guard kept the old library); anomaly (why not, else
    None); delta (empty when not applied); outbox_ids (rows the planner inserted).
    """

    applied: bool
    delta: LibraryDelta
    outbox_ids: tuple[OutboxId, ...] = ()
    anomaly: str | None = None

    @property
    def new_appids(self) -> list[AppId]:
        """Appids announced as new by this snapshot."""
        return [c.entry.appid for c in self.delta.new]


@dataclass(frozen=True, slots=True)
class ReplaceResult:
    """Outcome of a guarded replace_* call (wishlist, owned games).

    Attributes: applied (False = the old rows were kept); previous_count, new_count (rows
    before, rows offered); anomaly (reason when not applied); added, removed (appids).
    """

    applied: bool
    previous_count: int
    new_count: int
    anomaly: str | None = None
    added: tuple[AppId, ...] = ()
    removed: tuple[AppId, ...] = ()


@dataclass(frozen=True, slots=True)
class AppDetails:
    """Cached store facts about one app.

    Attributes: app_type ("game", "dlc", ...); categories (store category names);
    capsule_url (header image); is_family_shared (None = unknown); fetched_at (UTC).
    Upstream: store.steampowered.com/api/appdetails `data`.
    """

    appid: AppId
    name: str
    app_type: str
    is_free: bool
    fetched_at: dt.datetime
    categories: tuple[str, ...] = ()
    capsule_url: str | None = None
    is_family_shared: bool | None = None


@dataclass(frozen=True, slots=True)
class Price:
    """The price of one app in one country.

    Attributes: price_cents / initial_cents (final and before discount, in the currency's
    minor unit; None = no price, e.g. unreleased); currency (ISO 4217); discount_pct (0-100);
    itad_id; history_low_cents (ITAD's historical low, same currency); sale_started_at (first
    time this sale was seen, None when not on sale: the deals feature's dedupe marker).
    Upstream: storefront appdetails price_overview; ITAD /games/prices/v3.
    """

    appid: AppId
    country: str
    fetched_at: dt.datetime
    price_cents: int | None = None
    initial_cents: int | None = None
    currency: str | None = None
    discount_pct: int = 0
    itad_id: str | None = None
    history_low_cents: int | None = None
    sale_started_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class WishlistItem:
    """One wishlist entry. Upstream: IWishlistService/GetWishlist/v1 `items[]`."""

    appid: AppId
    priority: int | None = None
    date_added: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OwnedGame:
    """One game a member owns. Upstream: IPlayerService/GetOwnedGames/v1 `games[]`."""

    appid: AppId
    playtime_min: int = 0


@dataclass(frozen=True, slots=True)
class OutboxDraft:
    """An announcement to send later.

    Attributes: kind ("new_game", "deal", ...); dedupe_key (unique forever: a second draft
    with the same key is ignored); channel_id; payload (JSON-able message body).
    """

    kind: str
    dedupe_key: str
    channel_id: Snowflake
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored announcement. nonce goes to Discord with enforce_nonce so a retry posts once.

    Delivery state: claimed_at (a post was sent, maybe in flight), next_attempt_at (no retry
    before), failed_at (refused for good, last_error says why), dropped_at (an admin dropped it).
    """

    id: OutboxId
    kind: str
    dedupe_key: str
    channel_id: Snowflake
    payload: Mapping[str, Any]
    nonce: str
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    message_id: Snowflake | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None
    claimed_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    dropped_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        """"sent", "dropped", "failed" or "pending"."""
        if self.sent_at is not None:
            return "sent"
        if self.dropped_at is not None:
            return "dropped"
        return "failed" if self.failed_at is not None else "pending"


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    """Last results of one schedule job (durations in seconds)."""

    job: str
    runs: int
    failures: int
    last_ok_at: dt.datetime | None
    last_error: str | None
    last_error_at: dt.datetime | None
    last_duration_s: float | None


@dataclass(frozen=True, slots=True)
class FetchAnomaly:
    """A fetch that failed or looked wrong; the cached data was kept.

    Attributes: kind ("wishlist", "library", "owned_games", ...); subject (e.g. a SteamID64 as
    text); previous_count / new_count (rows kept / rows offered, None for failures); reason;
    starts_streak (the first of its streak, decided when it was recorded: the one reported).
    """

    id: int
    kind: str
    subject: str
    reason: str
    at: dt.datetime
    previous_count: int | None = None
    new_count: int | None = None
    starts_streak: bool = False
