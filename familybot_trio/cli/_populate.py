"""`familybot-trio populate`: warm the store so the first scheduled runs find everything cached.

Three phases, each resumable through a progress marker in `store.state`:

1. library   the family's shared library (one atomic snapshot: the library is diffed as a
             whole, so it cannot be split; needs the access token, skipped without one)
2. members   owned games and wishlist of each member (one member = one item)
3. catalog   app details and prices of every library and wishlisted app, in batches of at
             most BATCH_SIZE: fetch a batch (GetItems + ITAD, cached by the catalog), write
             it, then record the batch's appids as done. A first Ctrl-C (`stop`) ends the
             run after the batch in flight is stored; a second one cancels it, losing at
             most that batch (served from the catalog cache on the next run if it arrived).

A bad item (a record that does not convert, or a row the database refuses) is recorded as
a fetch anomaly and skipped; the rest of its batch is still written. Upstream rate limits
are kept by the clients' own buckets and limiters: nothing here sends faster than they let.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import threading
from contextlib import ExitStack
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import trio

from familybot_trio.cli import _clients
from familybot_trio.cli._clients import Clients
from familybot_trio.config import Config
from familybot_trio.errors import FamilybotError, StoreError, UpstreamError
from familybot_trio.features.new_games import to_entry  # the job's own conversion
from familybot_trio.store import AppDetails, AppId, OwnedGame, Price, Store, WishlistItem
from familybot_trio.upstream.models import GameDetails, GamePrice

log = logging.getLogger("familybot_trio.cli.populate")

#: Items written per transaction (the issue's "at most 100": Ctrl-C loses at most this many).
BATCH_SIZE: Final = 100
EXIT_FAILED: Final = 1
EXIT_INTERRUPTED: Final = 130
KEY_LIBRARY: Final = "populate.library_at"
KEY_MEMBERS: Final = "populate.members_done"
KEY_CATALOG: Final = "populate.catalog_done"

#: (phase, done, total) after each item or batch; the CLI draws progress bars with it.
ProgressFn = Callable[[str, int, int], None]
#: Awaited after each catalog batch is committed (tests use it to interrupt).
BatchHook = Callable[[int], Awaitable[None]]


@dataclass(slots=True)
class PopulateReport:
    """What one run did. Counts are items written in this run; skipped: items not written."""

    library_apps: int = 0
    members: int = 0
    details: int = 0
    prices: int = 0
    batches: int = 0
    skipped: list[str] = field(default_factory=list)
    stopped: bool = False   # `stop` was set: the run ended early after a finished item/batch


async def populate(config: Config, store: Store, clients: Clients, now: Callable[[], dt.datetime],
                   *, progress: ProgressFn | None = None, after_batch: BatchHook | None = None,
                   stop: trio.Event | None = None, restart: bool = False) -> PopulateReport:
    """Warm library, owned games, wishlists, app details and prices; resume where it stopped.

    Args: config; store (open); clients (catalog must be set); now: aware-UTC clock;
        progress: called as (phase, done, total); after_batch: awaited with the batch
        number after each committed catalog batch; stop: when set, the run ends after the
        member or batch in flight is stored (a graceful Ctrl-C: nothing is fetched twice);
        restart: forget the progress markers.
    Returns: PopulateReport. Raises: StoreError; UpstreamError when the catalog upstream
        fails (the batches before it stay written and are not fetched again).
    Cancellation: a write in progress finishes; at most one catalog batch is lost.
    Upstream: GetSharedLibraryApps, GetOwnedGames, GetWishlist, GetItems, ITAD lookup/prices.
    """
    report = PopulateReport()
    stop = stop if stop is not None else trio.Event()
    tick = progress or (lambda phase, done, total: None)
    if restart:
        for key in (KEY_LIBRARY, KEY_MEMBERS, KEY_CATALOG):
            await store.state.set(key, None, now())
    await _library(config, store, clients, now, report, tick)
    await _members(config, store, clients, now, report, tick, stop)
    await _catalog(config, store, clients, now, report, tick, after_batch, stop)
    return report


async def _library(config: Config, store: Store, c: Clients, now: Callable[[], dt.datetime],
                   report: PopulateReport, tick: ProgressFn) -> None:
    if await store.state.get(KEY_LIBRARY):
        tick("library", 1, 1)
        return
    try:
        await c.tokens.load()
        # The same question the new_games job asks (excluded apps too), so a populate on a
        # database the bot already filled changes nothing the job would not change.
        apps = await c.steam.get_shared_library_apps(config.family_group_id, include_own=True,
                                                     include_excluded=True)
    except UpstreamError as exc:
        report.skipped.append(f"library: {exc}")
        log.warning("library not fetched, continuing [cause:%s]", exc)
        tick("library", 0, 1)
        return
    entries = [to_entry(a) for a in apps]  # app types as words ("game"), as the job stores
    result = await store.library.apply_snapshot(entries, now())
    report.library_apps = len(entries) if result.applied else 0
    if result.applied:
        await store.state.set(KEY_LIBRARY, now().isoformat(), now())
    else:
        report.skipped.append(f"library: snapshot refused ({result.anomaly})")
    tick("library", 1, 1)


async def _members(config: Config, store: Store, c: Clients, now: Callable[[], dt.datetime],
                   report: PopulateReport, tick: ProgressFn, stop: trio.Event) -> None:
    done = set(await store.state.get(KEY_MEMBERS) or [])
    total = len(config.members)
    tick("members", len(done), total)
    for m in config.members:
        if m.steamid in done:
            continue
        if stop.is_set():
            report.stopped = True
            return
        try:
            owned = await c.steam.get_owned_games(m.steamid)
            wished = await c.steam.get_wishlist(m.steamid)
        except UpstreamError as exc:
            report.skipped.append(f"member {m.name} ({m.steamid}): {exc}")
            await store.state.record_fetch_failure("populate", str(m.steamid), str(exc), now())
            continue
        if owned.is_visible:
            await store.owned.replace(m.steamid, [OwnedGame(g.appid, g.playtime_forever_min)
                                                  for g in owned.games], now())
        if wished.is_visible:
            await store.wishlist.replace(m.steamid, [WishlistItem(i.appid, i.priority, i.date_added)
                                                     for i in wished.items], now())
        done.add(m.steamid)
        await store.state.set(KEY_MEMBERS, sorted(done), now())
        report.members += 1
        tick("members", len(done), total)


async def wanted_appids(config: Config, store: Store) -> list[AppId]:
    """Every library app plus every app a member wishes for, sorted (the catalog's work)."""
    ids = {a.appid for a in await store.library.apps()}
    for m in config.members:
        ids.update(i.appid for i in await store.wishlist.items(m.steamid))
    return sorted(ids)


async def _catalog(config: Config, store: Store, c: Clients, now: Callable[[], dt.datetime],
                   report: PopulateReport, tick: ProgressFn, after_batch: BatchHook | None,
                   stop: trio.Event) -> None:
    assert c.catalog is not None, "populate needs a catalog (open_clients with a store)"
    done = set(await store.state.get(KEY_CATALOG) or [])
    wanted = await wanted_appids(config, store)
    todo = [a for a in wanted if a not in done]
    total = len(wanted)
    tick("catalog", total - len(todo), total)
    for start in range(0, len(todo), BATCH_SIZE):
        if stop.is_set():
            report.stopped = True
            return
        batch: Sequence[AppId] = todo[start:start + BATCH_SIZE]
        details, prices = await c.catalog.details_and_prices(batch, country=config.country)
        fetched_at = now()
        rows_d, rows_p = [], []
        for appid in batch:
            try:
                if (d := details.get(appid)) is not None:
                    rows_d.append(to_app_details(d, fetched_at))
                if (p := prices.get(appid)) is not None:
                    rows_p.append(to_price(p, fetched_at))
            except (TypeError, ValueError, AttributeError) as exc:
                await _skip(store, report, appid, f"unusable record: {exc}", now)
        report.details += await _write_each(store, report, rows_d, store.catalog.put_details, now)
        report.prices += await _write_each(store, report, rows_p, store.catalog.put_prices, now)
        done.update(int(a) for a in batch)
        await store.state.set(KEY_CATALOG, sorted(done), now())
        report.batches += 1
        log.info("catalog batch stored [batch:%d done:%d total:%d]",
                 report.batches, total - len(todo) + start + len(batch), total)
        tick("catalog", total - len(todo) + start + len(batch), total)
        if after_batch is not None:
            await after_batch(report.batches)


async def _write_each(store: Store, report: PopulateReport, rows: list, put: Callable,
                      now: Callable[[], dt.datetime]) -> int:
    """Write rows in one transaction; if the database refuses, retry one by one so a bad
    row never takes the good ones of its batch with it."""
    if not rows:
        return 0
    try:
        await put(rows)
        return len(rows)
    except StoreError as exc:
        log.warning("batch write refused, writing items one by one [count:%d cause:%s]",
                    len(rows), exc)
    written = 0
    for row in rows:
        try:
            await put([row])
            written += 1
        except StoreError as exc:
            await _skip(store, report, row.appid, str(exc), now)
    return written


async def _skip(store: Store, report: PopulateReport, appid: int, reason: str,
                now: Callable[[], dt.datetime]) -> None:
    report.skipped.append(f"app {appid}: {reason}")
    try:
        await store.state.record_fetch_failure("populate", str(appid), reason, now())
    except FamilybotError as exc:  # the anomaly log is best effort; the skip list has it
        log.warning("could not record a skipped app [appid:%d cause:%s]", appid, exc)


def to_app_details(d: GameDetails, fetched_at: dt.datetime) -> AppDetails:
    """Upstream GameDetails -> the store's AppDetails (categories as their numeric ids)."""
    if not isinstance(d.name, str) or not d.name:
        raise ValueError(f"app {d.appid} has no name")
    return AppDetails(appid=AppId(int(d.appid)), name=d.name, app_type=str(d.type),
                      is_free=bool(d.is_free), fetched_at=fetched_at,
                      categories=tuple(str(i) for i in sorted(d.category_ids)),
                      capsule_url=d.header_image or None,
                      is_family_shared=d.is_family_shareable)


def to_price(p: GamePrice, fetched_at: dt.datetime) -> Price:
    """Upstream GamePrice -> the store's Price (Steam's price plus ITAD's low)."""
    s = p.store
    return Price(appid=AppId(int(p.appid)), country=p.country, fetched_at=fetched_at,
                 price_cents=s.final_cents if s else None,
                 initial_cents=s.initial_cents if s else None,
                 currency=(s.currency if s else None) or p.currency,
                 discount_pct=s.discount_pct if s else 0,
                 itad_id=p.itad_id, history_low_cents=p.history_low_cents)


def _out(text: str) -> None:
    print(text, flush=True)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def populate_cmd(config: Config, *, restart: bool = False) -> int:
    """`populate` with rich progress bars on stderr.

    A first SIGINT/SIGTERM ends the run after the batch in flight is stored; a second one
    cancels at once (at most that batch is lost).

    Returns: 0 done, 1 an upstream failed (progress kept), 130 interrupted (progress kept).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bars = Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                    console=Console(stderr=True), auto_refresh=False, transient=False,
                    redirect_stdout=False, redirect_stderr=False)  # no refresh thread
    ids: dict[str, object] = {}

    def tick(phase: str, done: int, total: int) -> None:
        if phase not in ids:
            ids[phase] = bars.add_task(phase, total=max(total, 1))
        bars.update(ids[phase], completed=done, total=max(total, 1))
        bars.refresh()

    report: PopulateReport | None = None
    async with Store.open_ctx(config.db_path) as store, \
            _clients.open_clients(config, store) as clients:
        with ExitStack() as stack, trio.CancelScope() as scope:
            # Signals can be received only in the main thread (tests call main() in a worker).
            signals = stack.enter_context(trio.open_signal_receiver(
                signal.SIGINT, signal.SIGTERM)) if _main_thread() else None

            stop = trio.Event()

            async def stop_on_signal() -> None:
                async for _ in signals:
                    if not stop.is_set():
                        _err("stopping after the batch in flight; Ctrl-C again to stop now")
                        stop.set()
                    else:
                        scope.cancel()   # a write in flight still commits (store policy)
                        return

            async with trio.open_nursery() as nursery:
                if signals is not None:
                    nursery.start_soon(stop_on_signal)
                bars.start()
                try:
                    report = await populate(
                        config, store, clients, _clients.now_utc, progress=tick,
                        stop=stop, restart=restart)
                except FamilybotError as exc:
                    _err(f"error: {exc}\nprogress is saved; run `familybot-trio populate` "
                         "again to continue")
                    return EXIT_FAILED
                finally:
                    bars.stop()
                nursery.cancel_scope.cancel()
    if report is None or report.stopped:
        _err("interrupted; progress is saved, run `familybot-trio populate` again to continue")
        return EXIT_INTERRUPTED
    _out(f"populated: {report.library_apps} library apps, {report.members} members, "
         f"{report.details} app details, {report.prices} prices in {report.batches} batches")
    for line in report.skipped:
        _err(f"skipped: {line}")
    return 0
