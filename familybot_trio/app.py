"""The root of the running bot: one nursery holding the gateway, handlers, schedules, outbox.

    app = App(config)
    async with trio.open_nursery() as nursery:
        await nursery.start(app.run)      # returns once READY arrived and commands synced
        ...                               # app.store, app.rest, app.scheduler are live
        await app.stop()                  # gateway closes with 1000, schedules cancelled

Task tree (what `tasks()` in the console shows):

    App.run
    ├── shard.run             reader, heartbeat, sender (gateway/shard.py)
    ├── handlers              one task per gateway dispatch (commands); never the reader's
    ├── scheduler.run         one loop per job (schedule.py)
    └── outbox sender         posts announcements written by features, marks them sent

Features (familybot_trio/features/*) get this App and register their commands on
`app.registry` and their jobs on `app.scheduler` in `setup(app)`; they never import each
other. Announcements go through the outbox (`app.announce`), so a crash between "state
written" and "message posted" can never lose or double a post: the outbox row is written in
the same transaction as the state, and the post carries the row's nonce with enforce_nonce.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final

import httpx
import requests
import trio

from familybot_trio import _gc_freeze, blocking, heap
from familybot_trio.config import Config
from familybot_trio.errors import FamilybotError
from familybot_trio.loopblock import LoopBlockDetector
from familybot_trio.schedule import Scheduler
from familybot_trio._startup import wait_for_gateway_bot
from familybot_trio.admin_delivery import Delivery, deliver
from familybot_trio.kept_aside import report_kept_aside
from familybot_trio.outbox_sender import OutboxSender
from familybot_trio.store import OutboxDraft, OutboxRow, Store
from familybot_trio.upstream import codec
from familybot_trio.upstream.catalog import Catalog
from familybot_trio.upstream.freegames import Epic, FreeGameFindings
from familybot_trio.upstream.itad import Itad
from familybot_trio.upstream.steam_webapi import SteamWebAPI
from familybot_trio.upstream.storefront import Storefront
from familybot_trio.upstream.tokens import AccessTokenStore
from gateway import CommandRegistry, GatewayError, HTTPError, Intents, Ready, Rest, Shard
from gateway.rest import open_client
from gateway.tls import tls_context

#: A feature's say on a post Discord refused for good (see App.outbox_refusal_hooks).
RefusalHook = Callable[["App", OutboxRow, Exception], Awaitable[bool]]

log = logging.getLogger("familybot_trio.app")

#: Upper bound for the shutdown of the gateway and the store (s).
STOP_TIMEOUT_S: Final = 10.0
#: Cache records are (de)serialised on the loop up to this size, in a worker thread above it:
#: a thread hop costs ~0.1-0.2 ms, decoding one record ~0.02 ms (bench S4).
INLINE_CODEC_CHARS: Final = 32 * 1024
INLINE_CODEC_ITEMS: Final = 20
#: Key under which the registered command set's hash is kept (register only on change).
COMMANDS_HASH_KEY: Final = "discord.commands_hash"


def utcnow() -> dt.datetime:
    """Aware UTC now (the default clock; tests and the demo inject their own)."""
    return dt.datetime.now(dt.UTC)


class StoreCatalogCache:
    """`upstream.catalog.CatalogCache` backed by the store's expiring cache table.

    Values are upstream records, serialised with `upstream.codec` (JSON).
    """

    def __init__(self, store: Store, now: Callable[[], dt.datetime]) -> None:
        self._store, self._now = store, now

    async def get_many(self, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        """Unexpired records among `keys`; misses are absent. Raises: StoreError."""
        raw = await self._store.cache.get_many(namespace, keys, self._now())
        if sum(map(len, raw.values())) <= INLINE_CODEC_CHARS:  # a few records: cheaper here
            return {k: codec.loads(v) for k, v in raw.items()}
        # Decoding hundreds of records is CPU work: off the loop.
        return await blocking.run_sync("cpu", lambda: {k: codec.loads(v) for k, v in raw.items()})

    async def put_many(self, namespace: str, items: dict[str, Any], *, ttl_s: float) -> None:
        """Store records for `ttl_s` seconds. Raises: StoreError."""
        if items:
            if len(items) <= INLINE_CODEC_ITEMS:
                encoded = {k: codec.dumps(v) for k, v in items.items()}
            else:
                encoded = await blocking.run_sync(
                    "cpu", lambda: {k: codec.dumps(v) for k, v in items.items()})
            await self._store.cache.put_many(namespace, encoded, ttl_s=ttl_s, now=self._now())


class App:
    """The bot: configuration, store, upstream clients, Discord client, schedules.

    Args: config: a validated Config (secrets may be empty only against the sandbox);
        now: aware-UTC clock (features read time through `app.now()`);
        features: names of modules in familybot_trio.features to set up (default: all);
        detector: a LoopBlockDetector whose stats `lag()` shows (optional);
        register_commands: False leaves Discord's slash command list as it is (`run
        --features`: a subset must not replace the family's commands).
    Attributes (live inside `run`): store, steam, storefront, itad, epic, fgf, catalog,
        tokens, rest, registry, shard, scheduler, ready (Ready), nursery.
    """

    def __init__(self, config: Config, *, now: Callable[[], dt.datetime] = utcnow,
                 features: Sequence[str] | None = None,
                 detector: LoopBlockDetector | None = None,
                 register_commands: bool = True) -> None:
        self.config = config
        self.register_commands = register_commands
        self.now = now
        self.feature_names = features
        self.detector = detector
        self.registry: CommandRegistry | None = None
        self.scheduler = Scheduler(self, on_failure=self._job_failed,
                                   on_recovery=self._job_recovered, record=self._record_run)
        self.ready: Ready | None = None
        self.outbox_sender = OutboxSender(self)
        self.dashboard: Any = None  # familybot_trio.web.Dashboard when [dashboard] enabled
        #: Gateway dispatches seen by name (READY, RESUMED, ...), for /metrics and the console.
        self.gateway_events: collections.Counter[str] = collections.Counter()
        #: row kind -> async hook(app, row, exc) -> True when it handled a refused post
        #: itself (e.g. personal alerts to closed DMs); set by features in setup().
        self.outbox_refusal_hooks: dict[str, RefusalHook] = {}
        #: gateway event name -> async listeners(data), called after the command registry;
        #: set by features in setup() (e.g. /owned's answers to posted store links).
        self.listeners: dict[str, list[Callable[[dict], Awaitable[None]]]] = {}
        #: Job runs followed by `heap.trim` (glibc malloc_trim; bench S6), and how many of
        #: those gave memory back to the OS.
        self.heap_trims = 0
        self.heap_trims_released = 0
        self._stop = trio.Event()
        self._cleanup: list[Callable[[], Awaitable[None]]] = []

    # ---- lifetime ----------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[App] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the bot until `stop()` (or cancellation, or a fatal gateway close).

        Starts the store, clients, gateway, handlers, schedules and outbox sender, then
        calls `task_status.started(self)` once READY arrived and commands are synced.
        Raises: FatalCloseError (e.g. 4004 bad token, 4014 disallowed intents), StoreError,
            ConfigError; each names the fix.
        Cancellation: closes the gateway (1000), cancels schedules, closes the store.
        """
        cfg = self.config
        blocking.configure(cfg.limits)
        self.store = await Store.open(cfg.db_path)
        frozen = 0
        try:
            await self._open_clients()
            await self.store.members.sync(list(cfg.members), self.now())
            await self._setup_features()
            from familybot_trio.features import _common

            await blocking.run_sync("files", _common.warm_up, cfg.language, cfg.country)
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                handlers = await nursery.start(_serve_nursery, "handlers")
                self.ready = await nursery.start(self.shard.run, self._dispatch, handlers)
                if self.register_commands:
                    await self._register_commands()
                await nursery.start(self.scheduler.run)
                nursery.start_soon(self.outbox_sender.run, name="outbox sender")
                if cfg.dashboard.enabled:
                    # First import reads and compiles many files (starlette, jinja2, ...).
                    web = await blocking.run_sync("files", importlib.import_module,
                                                  "familybot_trio.web")
                    self.dashboard = await nursery.start(web.Dashboard(self).serve)
                frozen = _gc_freeze.freeze()  # full GCs skip the start-up heap (_gc_freeze)
                log.debug("start-up heap frozen [objects:%d]", frozen)
                task_status.started(self)
                await self._stop.wait()
                with trio.move_on_after(STOP_TIMEOUT_S) as scope:
                    scope.shield = True
                    await self.shard.close()
                nursery.cancel_scope.cancel()
        finally:
            if frozen:
                _gc_freeze.thaw()
            with trio.move_on_after(STOP_TIMEOUT_S) as scope:
                scope.shield = True
                for close in reversed(self._cleanup):
                    try:
                        await close()
                    except Exception:  # closing one client must not skip the others
                        log.exception("error while closing a client")
                await self.store.aclose()

    async def _register_commands(self) -> None:
        """Sync slash commands; a refusal keeps the bot running with what Discord has.

        A 400 (e.g. 50035 naming `3.options.0.description`) or a daily-limit error is
        logged with Discord's field paths and told to the admins once per start; the hash
        is not stored, so the next start tries again. Exiting instead would turn the
        systemd unit into a restart loop that spends an identify each time.
        """
        stored = await self.store.state.get(COMMANDS_HASH_KEY)
        try:
            new_hash = await self.registry.sync(self.ready.application_id, stored_hash=stored)
        except HTTPError as exc:
            log.error("Discord refused the slash commands; running with the ones it had "
                      "[cause:%s]", exc)
            fields = ", ".join(exc.field_paths[:10]) or "none named"
            await self.report_admin(
                f"Discord refused the slash commands (HTTP {exc.status}, code {exc.code}: "
                f"{exc.message}; fields: {fields}). The bot keeps running with the commands "
                f"registered before, and `!` commands work. The details are in the log.")
            return
        if new_hash != stored:
            await self.store.state.set(COMMANDS_HASH_KEY, new_hash, self.now())

    async def stop(self) -> None:
        """Ask `run` to shut down cleanly: gateway close 1000, schedules cancelled."""
        self._stop.set()

    async def _open_clients(self) -> None:
        cfg, up = self.config, self.config.upstreams
        http = await blocking.run_sync("files", lambda: httpx.AsyncClient(timeout=30.0, verify=tls_context()))
        self._cleanup.append(http.aclose)
        session = requests.Session()
        self._cleanup.append(lambda: blocking.run_sync("steam_webapi", session.close))
        scheme, _, host = up["steam_webapi"].partition("://")
        self.tokens = AccessTokenStore(cfg.data_dir)
        await self.tokens.load()
        self.steam = SteamWebAPI(session, api_key=cfg.secrets.steam_api_key, tokens=self.tokens,
                                 apihost=host.rstrip("/"), https=scheme == "https")
        self.storefront = Storefront(http, up["storefront"])
        self.itad = Itad(http, cfg.secrets.itad_api_key, up["itad"]) \
            if cfg.secrets.itad_api_key else None
        self.epic = Epic(http, up["epic"])
        self.fgf = FreeGameFindings(http, up["reddit"])
        self.catalog = Catalog(self.steam, self.itad, StoreCatalogCache(self.store, self.now))
        discord_http = await open_client(
            run_sync=functools.partial(blocking.run_sync, "files"))
        self._cleanup.append(discord_http.aclose)
        self.rest = Rest(token=cfg.secrets.discord_token, client=discord_http,
                         base_url=up["discord_rest"])
        from familybot_trio.gatekeeper import FamilyGate

        self.registry = CommandRegistry(
            self.rest, prefix="!" if cfg.prefix_commands else None, admin_ids=cfg.admin_ids,
            gate=FamilyGate(self))
        self.shard = Shard(token=cfg.secrets.discord_token,
                           intents=Intents.for_bot(prefix_commands=cfg.prefix_commands
                                           or cfg.thresholds.owned_answer_store_links),
                           get_gateway_bot=lambda: wait_for_gateway_bot(self.rest, now=self.now),
                           run_sync=functools.partial(blocking.run_sync, "gateway_decode"),
                           task_for=self._needs_task)

    def _needs_task(self, event_name: str, data: Any) -> bool:
        """Shard `task_for`: interactions, prefix commands and events with listeners get a
        handler task each; the rest are dispatched in batches (gateway/shard.py)."""
        if event_name == "INTERACTION_CREATE" or event_name in self.listeners:
            return True
        prefix = self.registry.prefix
        return (event_name == "MESSAGE_CREATE" and prefix is not None
                and str((data or {}).get("content") or "").startswith(prefix))

    async def _setup_features(self) -> None:
        from familybot_trio import features

        # First imports read and compile files: do them off the loop, then register.
        await blocking.run_sync("files", features.import_all, self.feature_names)
        features.setup(self, self.feature_names)

    async def _dispatch(self, event_name: str, data: dict) -> None:
        """Gateway dispatch -> command registry; a failing handler never reaches the nursery."""
        self.gateway_events[event_name] += 1
        try:
            await self.registry.handle(event_name, data)
            for listener in self.listeners.get(event_name, ()):
                await listener(data)
        except (GatewayError, FamilybotError) as exc:
            log.warning("event handling failed [event:%s cause:%s]", event_name, exc)
        except Exception:
            log.exception("event handling crashed [event:%s]", event_name)

    # ---- announcements (outbox) ----------------------------------------------------------

    def wake_outbox(self) -> None:
        """Tell the outbox sender that rows are waiting (non-blocking)."""
        self.outbox_sender.wake()

    async def announce(self, drafts: Sequence[OutboxDraft]) -> None:
        """Queue announcements (deduplicated forever by dedupe_key) and wake the sender.

        For announcements tied to a state change, write the drafts inside the same
        `store.run_write` transaction with `store.insert_drafts` and call `wake_outbox()`.
        Raises: StoreError.
        """
        if drafts:
            await self.store.outbox.enqueue(drafts, self.now())
            self.wake_outbox()

    async def flush_outbox(self) -> int:
        """Post every due outbox row now, oldest first (one pass). Returns: rows posted.

        Waits for a pass of the background sender already running, so a row is never posted
        twice. See familybot_trio.outbox_sender for retries, failures and the admin notices.
        Raises: StoreError.
        """
        return await self.outbox_sender.flush()

    # ---- admin reports -------------------------------------------------------------------

    async def report_admin(self, text: str) -> bool:
        """Tell the admins: the admin_reports channel if configured, else a DM to each admin.

        Returns: True if delivered: every destination got it or refused it for good (DMs
        closed, no access; see admin_delivery). Never raises for Discord errors or a text
        over Discord's limits (they are logged): a report must not fail a job.
        """
        return (await self.report_admin_to(text)).done

    async def report_admin_to(self, text: str, skip: Iterable[int] = ()) -> Delivery:
        """report_admin, skipping destinations settled before; returns admin_delivery.Delivery
        (settled and pending channel / admin user ids). Never raises for Discord errors."""
        return await deliver(self.rest, text, channel_id=self.config.channels.admin_reports,
                             admin_ids=self.config.admin_ids, skip=skip,
                             paused_for_s=self.rest.limiter.banned_for_s)

    async def _job_failed(self, job: str, exc: BaseException, streak: int) -> None:
        await self.report_admin(f"Schedule `{job}` failed: {exc}. I will keep retrying with "
                                "backoff and tell you when it works again.")

    async def _job_recovered(self, job: str, streak: int) -> None:
        await self.report_admin(f"Schedule `{job}` works again after {streak} failed runs.")

    async def _record_run(self, job: Any, outcome: Any) -> None:
        try:  # a busy or full database loses one run's record, not a traceback in the log
            await self.store.state.record_run(job.name, ok=outcome.ok,
                                              duration_s=outcome.duration_s, now=self.now(),
                                              error=outcome.error)
        except FamilybotError as exc:
            log.warning("could not record the run of job %s; the next run records again "
                        "[cause:%s]", job.name, exc)
        try:  # a job may have kept a fetch aside: tell the admins (once per streak)
            await report_kept_aside(self)
        except FamilybotError as exc:
            log.warning("could not report kept-aside fetches [cause:%s]", exc)
        # The job's parsed answers are freed; give their pages back (glibc keeps them).
        self.heap_trims_released += await blocking.run_sync("cpu", heap.trim)
        self.heap_trims += 1


async def _serve_nursery(name: str, *, task_status: trio.TaskStatus[trio.Nursery]
                         = trio.TASK_STATUS_IGNORED) -> None:
    """A nursery that lives until cancelled, handed to the caller (for handler tasks)."""
    async with trio.open_nursery() as nursery:
        task_status.started(nursery)
        await trio.sleep_forever()


def monotonic_ms() -> float:
    """Milliseconds from a monotonic clock (for durations in logs)."""
    return time.monotonic() * 1000.0
