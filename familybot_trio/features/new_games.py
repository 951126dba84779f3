"""New games in the family's shared library: the hourly poll, its announcements, /new_games.

The `new_games` job reads IFamilyGroupsService/GetSharedLibraryApps and hands the full
snapshot to `store.library.apply_snapshot`, whose planner (below) turns the diff into outbox
rows inside the same write transaction. So a game is recorded as seen if and only if its
announcement is queued; the app's outbox sender posts it with a nonce (enforce_nonce) and
marks it sent, so neither a crash nor a retry can lose or double a post.

Rules (issue 4):
- First snapshot ever: a baseline, nothing is announced, unless
  `[new_games] announce_since` is set: then games acquired on or after that date
  (`rt_time_acquired`) are announced.
- Only shareable games: exclude_reason 0, app type "game" (from GetSharedLibraryApps, and
  from the store's app details when known).
- A game back within store.RETURN_WINDOW (30 days) is "returned", not announced again.
- More than `[new_games] bundle_threshold` new games in one run -> one grouped post naming
  every game, over as many messages as Discord's limits need.
- An app stored with a non-zero exclude_reason (a pre-order before release day, a purchase
  still pending) whose exclude_reason becomes 0 is announced once, like a new game
  (`LibraryDelta.shareable`; the same `new_game:<appid>` key, so never twice).
- Every owner is named (member names from the store; the SteamID64 when unknown).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from familybot_trio.errors import Unauthorized, UpstreamError
from familybot_trio.features import _common
from familybot_trio.features._new_games_render import (
    COLOR,
    Facts,
    bundle_embeds,
    game_embed,
)
from familybot_trio.store import (
    AppId,
    LibraryApp,
    LibraryChange,
    LibraryDelta,
    LibraryEntry,
    OutboxDraft,
    SteamID64,
)
from familybot_trio.upstream.models import FamilyGroupId, GameDetails, GamePrice, SharedApp
from gateway import _options as opt
from gateway.commands import CommandContext
from gateway.messages import Embed, pack_embeds, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.new_games")

JOB: Final = "new_games"
KIND: Final = "new_game"
BUNDLE_KIND: Final = "new_games_bundle"
#: EProtoAppType (GetSharedLibraryApps `app_type`) -> the store's word for it.
APP_TYPES: Final = {1: "game", 2: "application", 4: "tool", 8: "demo", 32: "dlc", 64: "guide",
                    128: "driver", 256: "config", 2048: "video", 4096: "plugin", 8192: "music",
                    16384: "series", 32768: "comic", 65536: "beta"}
GAME: Final = "game"
DEFAULT_COUNT: Final = 10
MAX_COUNT: Final = 25
#: Apps per catalog call (an ITAD batch; keeps each loop step of the cache short).
CATALOG_CHUNK: Final = 200  # under the 4096 of an embed description, room for the tail
TOKEN_HINT: Final = ("The Steam access token has expired or is missing, so I cannot read the "
                     "family library any more. An admin must renew it with "
                     "`familybot-trio token set`.")


class _Status:
    """Per-App memory of this feature: the last token refusal and one-time warnings.

    Attributes: refused_token (the AccessToken object Steam last refused, None after a
    success; a newly set token is a new object, so /new_games stops warning at once);
    token_refused (True while the last poll failed for the token); warned_no_channel.
    """

    def __init__(self) -> None:
        self.token_refused = False
        self.refused_token: object | None = None
        self.warned_no_channel = False

    def token_still_refused(self, app: App) -> bool:
        """True when the last poll failed for the token and nobody set a new one since."""
        return self.token_refused and app.tokens.peek() is self.refused_token


# ---- pure helpers (safe in the writer thread) -----------------------------------------


def to_entry(app: SharedApp) -> LibraryEntry:
    """An upstream SharedApp as the store's LibraryEntry (app_type as a word, e.g. "game")."""
    return LibraryEntry(appid=AppId(int(app.appid)),
                        owner_steamids=tuple(SteamID64(int(s)) for s in app.owner_steamids),
                        app_type=APP_TYPES.get(app.app_type, f"type{app.app_type}"),
                        exclude_reason=app.exclude_reason, rt_time_acquired=app.rt_time_acquired)


def is_announceable(entry: LibraryEntry, details: GameDetails | None) -> bool:
    """True for a shareable game: exclude_reason 0, app type "game" (and store type if known)."""
    if entry.exclude_reason != 0 or entry.app_type != GAME:
        return False
    return details is None or details.type == GAME


def plan(app: App, delta: LibraryDelta, facts: Facts) -> list[OutboxDraft]:
    """The outbox drafts for one snapshot's diff (runs inside the write transaction).

    Args: delta: from apply_snapshot; facts: prefetched names, details, prices, settings.
    Returns: one draft per new game, or one grouped draft when more than bundle_threshold;
        [] for the baseline (unless `since`), for returned games and without a channel.
    """
    changes: Sequence[LibraryChange] = (*delta.new, *delta.shareable)
    if delta.is_initial:
        if facts.since is None:
            return []
        changes = [c for c in changes if c.entry.rt_time_acquired is not None
                   and c.entry.rt_time_acquired >= facts.since]
    entries = [c.entry for c in changes
               if is_announceable(c.entry, facts.details.get(c.entry.appid))]
    if not entries or facts.channel_id is None:
        return []
    keys = {c.entry.appid: _dedupe_key(c) for c in changes}
    if len(entries) <= facts.bundle_threshold:
        return [OutboxDraft(KIND, keys[e.appid], facts.channel_id,
                            {"embeds": [game_embed(app, e, facts).to_dict()]})
                for e in sorted(entries, key=lambda e: e.appid)]
    digest = hashlib.sha256(",".join(sorted(keys[e.appid] for e in entries)).encode()).hexdigest()
    key = f"{BUNDLE_KIND}:{digest[:24]}"
    return [OutboxDraft(BUNDLE_KIND, key if part == 0 else f"{key}:{part}", facts.channel_id,
                        {"embeds": group})
            for part, group in enumerate(pack_embeds(bundle_embeds(app, entries, facts)))]


def _dedupe_key(change: LibraryChange) -> str:
    """`new_game:<appid>`; a game back after the return window gets its own key."""
    appid = int(change.entry.appid)
    if change.removed_at is None:
        return f"{KIND}:{appid}"
    return f"{KIND}:{appid}:{int(change.removed_at.timestamp())}"


# ---- the job ----------------------------------------------------------------------------


async def poll(app: App, status: _Status) -> int:
    """One run of the `new_games` job: fetch the library, record it, queue announcements.

    Returns: outbox rows queued (0 for the baseline, a suspicious snapshot or no news).
    Raises: TokenExpired (the access token expired: renew with `familybot-trio token set`),
        Unauthorized (none set), UpstreamError, StoreError. Catalog failures do not raise:
        the games are announced without prices.
    Cancellation: safe at any await; apply_snapshot commits or rolls back as a whole.
    Upstream: IFamilyGroupsService/GetSharedLibraryApps/v1 (access token);
        IStoreBrowseService/GetItems and ITAD prices for the new games (app.catalog).
    """
    cfg = app.config
    try:
        shared = await app.steam.get_shared_library_apps(
            FamilyGroupId(cfg.family_group_id), include_own=True, include_excluded=True)
    except Unauthorized:
        status.token_refused, status.refused_token = True, app.tokens.peek()
        raise
    status.token_refused, status.refused_token = False, None
    entries = [to_entry(a) for a in shared]
    since = None
    if cfg.thresholds.new_games_announce_since is not None:
        since = dt.datetime.combine(cfg.thresholds.new_games_announce_since, dt.time(),
                                    tzinfo=dt.UTC)
    stored = await app.store.library.apps(include_removed=True)  # one read, in a thread
    initial = not stored
    active = {a.appid for a in stored if a.removed_at is None}
    was_excluded = {a.appid for a in stored if a.removed_at is None and a.exclude_reason != 0}
    unknown = {e.appid for e in entries if e.appid not in active  # new or coming back
               or (e.appid in was_excluded and e.exclude_reason == 0)}  # shareable now
    candidates = [e.appid for e in entries if e.appid in unknown and is_announceable(e, None)
                  and (not initial or (since is not None and e.rt_time_acquired is not None
                                       and e.rt_time_acquired >= since))]
    details: dict[AppId, GameDetails] = {}
    prices: dict[AppId, GamePrice] = {}
    try:
        # In chunks: the catalog cache encodes records on the loop, ~0.1 ms each.
        for i in range(0, len(candidates), CATALOG_CHUNK):
            d, p = await app.catalog.details_and_prices(candidates[i:i + CATALOG_CHUNK],
                                                        country=cfg.country)
            details.update(d)
            prices.update(p)
    except UpstreamError as exc:
        log.warning("no details or prices for new games, announcing without them "
                    "[count:%d cause:%s]", len(candidates), exc)
    channel = cfg.channels.new_games
    if channel is None and candidates and not status.warned_no_channel:
        status.warned_no_channel = True
        log.warning("no [channels] new_games configured: new games are recorded, not announced")
    facts = Facts(channel_id=channel, since=since,
                   bundle_threshold=cfg.thresholds.bundle_threshold,
                   names=await _common.member_names(app), details=details, prices=prices,
                   app_names={AppId(int(a.appid)): a.name for a in shared if a.appid in unknown})
    result = await app.store.library.apply_snapshot(
        entries, app.now(), plan=lambda delta: plan(app, delta, facts))
    if not result.applied:
        log.warning("library snapshot kept aside [reason:%s apps:%d]", result.anomaly, len(entries))
        return 0
    delta = result.delta
    log.info("library polled [apps:%d new:%d returned:%d removed:%d queued:%d initial:%s]",
             len(entries), len(delta.new), len(delta.returned), len(delta.removed),
             len(result.outbox_ids), delta.is_initial)
    if result.outbox_ids:
        app.wake_outbox()
    return len(result.outbox_ids)


# ---- /new_games -------------------------------------------------------------------------


async def _titles(app: App, appids: Sequence[AppId]) -> dict[AppId, str]:
    """Names of `appids`: the store's (catalog), else the family library's own.

    GetSharedLibraryApps names every app, also those the store no longer describes (or
    answers nothing for); it is asked only when the catalog left some unnamed.
    """
    titles: dict[AppId, str] = {}
    try:
        details = await app.catalog.details(list(appids), country=app.config.country)
        titles = {a: d.name for a, d in details.items() if d.name}
    except UpstreamError as exc:
        log.warning("no store names for /new_games, asking the library [cause:%s]", exc)
    if all(a in titles for a in appids):
        return titles
    try:
        shared = await app.steam.get_shared_library_apps(
            FamilyGroupId(app.config.family_group_id), include_own=True, include_excluded=True)
    except UpstreamError as exc:
        log.warning("no library names for /new_games [cause:%s]", exc)
        return titles
    from_library = {AppId(int(s.appid)): s.name for s in shared if s.name}
    return {a: titles.get(a) or from_library.get(a, "") for a in appids}


async def recent_embed(app: App, count: int) -> Embed | None:
    """The `count` most recently acquired library games with owners, and the library size.

    Args: count: how many games to list (1..MAX_COUNT).
    Returns: an Embed, or None when the library was never read. Raises: StoreError.
        Names come from the store, else from the library (`_titles`); "App <appid>" only
        when both fail.
    Cancellation: safe; it only reads.
    Upstream: the stored library (last GetSharedLibraryApps); names from
        IStoreBrowseService/GetItems through the catalog cache.
    """
    apps = await app.store.library.apps()
    if not apps:
        return None
    games = [a for a in apps if a.exclude_reason == 0 and a.app_type == GAME]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)

    def newest(a: LibraryApp) -> tuple[dt.datetime, dt.datetime]:
        return a.rt_time_acquired or epoch, a.first_seen_at

    latest = sorted(games, key=newest, reverse=True)[:count]
    titles = await _titles(app, [a.appid for a in latest])
    names = await _common.member_names(app)
    lines = []
    for a in latest:
        owners = [names.get(int(s), str(int(s))) for s in a.owner_steamids]
        when = f"{a.rt_time_acquired:%Y-%m-%d}" if a.rt_time_acquired else "date unknown"
        title = titles.get(a.appid) or f"App {a.appid}"
        lines.append(f"• {_common.game_link(title, a.appid)} · "
                     f"{_common.join_names(owners) or 'unknown owner'} · {when}")
    noun = "game" if len(latest) == 1 else "games"
    return Embed(title=f"Latest {len(latest)} {noun} in the family library",
                 description=split_lines(lines, limit=4000)[0] if lines else "No games yet.",
                 color=COLOR,
                 footer=f"The family library has {len(games)} shareable games "
                        f"({len(apps)} apps counting excluded ones).")


def setup(app: App) -> None:
    """Register the `new_games` job and the /new_games command.

    Job: `new_games`, every `[schedules] new_games_min` (default 60) minutes, jittered 10 %.
    Command: `/new_games [count]` (1..25, default 10), everyone, DMs allowed.
    """
    status = _Status()
    app.scheduler.add(JOB, run=lambda a: poll(a, status),
                      interval_s=app.config.schedules.new_games_s, jitter=0.1,
                      timeout_s=600.0, backoff_base_s=60.0)

    @app.registry.command(
        "new_games", "Show the games most recently added to the family library",
        options=[opt.integer("count", f"How many games (1-{MAX_COUNT}, default {DEFAULT_COUNT})",
                             required=False, min_value=1, max_value=MAX_COUNT)])
    async def new_games_command(ctx: CommandContext) -> None:
        count = int(ctx.args.get("count") or DEFAULT_COUNT)
        warning = TOKEN_HINT if status.token_still_refused(app) else None
        try:
            app.tokens.current(app.now())
        except Unauthorized:  # TokenExpired, or none set
            warning = TOKEN_HINT
        signin = getattr(app, "signin", None)  # set by the steam_login feature
        if warning and signin is not None and signin.state is not None \
                and signin.state.needs_signin:
            warning = ("The Steam sign-in must be renewed, so I cannot read the family library "
                       "any more. An admin must run `/admin_steam_login` in a DM with me (or "
                       "`familybot-trio steam login`).")
        embed = await recent_embed(app, count)
        if embed is None and warning is None:
            outcome = await app.scheduler.run_now(JOB)  # first use: read the library now
            if not outcome.ok and status.token_still_refused(app):
                warning = TOKEN_HINT
            embed = await recent_embed(app, count)
        if embed is None:
            await ctx.reply(warning or "I could not read the family library yet (Steam did not "
                            "answer); the next poll retries on its own.")
            return
        await ctx.reply(warning, embeds=[embed])


__all__ = ["JOB", "is_announceable", "plan",
           "poll", "recent_embed", "setup", "to_entry"]
