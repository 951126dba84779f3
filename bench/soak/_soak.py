"""The soak orchestrator: the real App, the sandbox, FakeDiscord, a plan, and the invariants.

    clock = ThreadAwareClock()
    results = trio.run(run_soak, SoakOptions(days=2, seed=1), tmp_dir, clock, clock=clock)

Time: the MockClock runs at real pace (rate 1, no autojump) while an App starts, since its
start-up has its own timeouts; once READY it switches to autojump (rate 0): whenever every
task waits, the clock jumps to the next deadline. The App's wall clock and the sandbox's
are tied to the MockClock, so hourly jobs, backoff, Retry-After and token expiry all follow
simulated time. The gateway heartbeat interval is raised (`heartbeat_ms`) only to make
days cheaper; gateway faults still happen.

Ground truth: the sandbox's own change log (bench/soak/_truth.py): each new game, each
sale of a wished game, and the final wishlist as the sandbox has it. Posted: the appids
named (by store URL) in each channel's messages. Lost = expected, never posted; duplicated
= posted more than expected (a returned game posted again counts too). The fault and
change events themselves are applied by bench/soak/_faults.py.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import logging
import time
import tracemalloc
from pathlib import Path
from typing import Any

import trio
import trio.testing

from bench.soak import _aimed, _free, _garbage, _memory, _suspicious, _truth
from bench.soak._clock import ThreadAwareClock, counting_threads
from bench.soak._faults import World, apply
from bench.soak._plan import DAY_S, FIRST_WISH_APPID, WISH_POOL, make_plan
from familybot_trio import blocking
from familybot_trio.app import App
from familybot_trio.config import load_config
from familybot_trio.sandbox import Sandbox
from familybot_trio.sandbox.world import BOT_TOKEN, CHANNELS, write_config
from gateway.testing import FakeDiscord

log = logging.getLogger("bench.soak")

#: The simulated start: today's midnight UTC (the token store checks expiry against the real
#: clock, so simulated time starts at the real day; the schedule depends only on the seed).
T0_UNIX = int(time.time() // 86_400 * 86_400)
FEATURES = ["new_games", "admin", "wishlist", "deals", "free_games"]
#: Members whose Discord account is linked (world.write_config's link_members): the bot
#: reads only their wishlists, so only they change theirs.
LINKED = 4
#: Real seconds every task must have waited before the clock jumps. Each jump costs this much
#: real time (a day has ~3,000 idle points: the outbox poll, heartbeats, jobs); above 0 so a
#: loopback round trip or a short store call finishes before time moves on.
AUTOJUMP_S = 0.0005
#: Plan events that are family life, not faults (counted apart in the results).
CHANGES = frozenset({"add_game", "add_bundle", "add_owner", "remove_game", "return_game",
                     "renew_token", "wish_add",
                     "wish_remove", "sale_start", "sale_end", "real_wish_clear"}) | _free.KINDS
#: What the soak saw of a fault it watched (not faults themselves).
OUTCOMES = frozenset({"zombie_detected", "zombie_undetected"}) | _aimed.OUTCOMES


@dataclasses.dataclass(frozen=True, slots=True)
class SoakOptions:
    """days (simulated), seed, trace_memory (tracemalloc: slower), and two knobs that only
    make simulated days cheaper: heartbeat_ms (the gateway's interval; Discord's is 41,250)
    and outbox_poll_s (the sender's unprompted pass; the bot's is 30 s, and every post it
    is asked for still wakes it at once)."""

    days: float = 30.0
    seed: int = 1
    trace_memory: bool = True
    heartbeat_ms: int = 600_000
    outbox_poll_s: float = 300.0
    #: `[schedules] new_games_min` (the bot's default is 60; each run reads the whole library).
    new_games_min: int = 60
    #: `[schedules] free_games_min` (the bot's default is 30; each run reads both feeds).
    free_games_min: int = 30
    #: Scales the sqlite_busy fault's 1-7 s hold (real seconds; the suite's run uses less).
    busy_hold_scale: float = 1.0


class _Errors(logging.Handler):
    """Counts log records at ERROR or above that carry a traceback (a crash somewhere), and
    warnings that name a locked database (the sqlite_busy fault reaching the bot)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.crashes: list[str] = []
        self.busy = 0  # warnings naming SQLite's "database is locked" (the busy fault met)

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "database is locked" in text or "holds the database lock" in text:
            self.busy += 1
        if record.exc_info and record.levelno >= logging.ERROR:
            exc = record.exc_info[1]
            self.crashes.append(f"{record.name}: {text[:200]} ({type(exc).__name__}: "
                                f"{str(exc)[:200]})")


class _Bot:
    """The App under test: started, hard-killed and restarted on one data directory."""

    def __init__(self, config: Any, sandbox: Sandbox, clock: trio.testing.MockClock,
                 nursery: trio.Nursery) -> None:
        self.config, self.sandbox, self.clock, self.nursery = config, sandbox, clock, nursery
        self.app: App | None = None
        self._scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self.unhandled: list[str] = []
        self.restarts = 0
        self.outbox_poll_s = 30.0

    @property
    def stopped(self) -> bool:
        """True once the current App's run has ended (killed or stopped), until start()."""
        return self._done.is_set()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(T0_UNIX + self.clock.current_time(), dt.UTC)

    async def start(self) -> App:
        self.clock.rate, self.clock.autojump_threshold = 1.0, float("inf")
        try:
            self.app = App(self.config, now=self.now, features=FEATURES)
            self.app.outbox_sender.poll_s = self.outbox_poll_s
            with trio.fail_after(120):
                await self.nursery.start(self._run, self.app)
                await self.app.tokens.set(self.sandbox.access_token)
        finally:
            self.clock.rate, self.clock.autojump_threshold = 0.0, AUTOJUMP_S
        return self.app

    async def _run(self, app: App, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        self._done = done = trio.Event()
        try:
            with trio.CancelScope() as self._scope:
                await app.run(task_status=task_status)
        except Exception as exc:  # recorded, then the soak restarts the bot
            self.unhandled.append(f"App.run raised {exc!r}"[:300])
        finally:
            done.set()

    async def kill(self) -> None:
        """Cancel the whole App wherever it is (mid-job, mid-post, mid-transaction)."""
        if self._scope is not None:
            self._scope.cancel()
        await self._done.wait()

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop()
        await self._done.wait()


async def run_soak(opts: SoakOptions, tmp: Path, clock: trio.testing.MockClock) -> dict:
    """Run one soak on `clock` (the trio.run's clock); returns the results dict (see
    bench/README.md, "Soak"). Raises: whatever the orchestration itself hits (a bot failure
    is a result, not an exception)."""
    with counting_threads(clock), _aimed.trapping_store():
        return await _run_soak(opts, tmp, clock)


async def _run_soak(opts: SoakOptions, tmp: Path, clock: trio.testing.MockClock) -> dict:
    wall0 = time.perf_counter()
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    if opts.trace_memory:
        tracemalloc.start(_memory.FRAMES)
    try:
        async with trio.open_nursery() as nursery:
            results = await _soak(opts, tmp, clock, nursery)
            nursery.cancel_scope.cancel()
    finally:
        logging.getLogger().removeHandler(errors)
        if opts.trace_memory:
            tracemalloc.stop()
    results["unhandled_exceptions"] += len(errors.crashes)
    results["unhandled_samples"] += errors.crashes[:5]
    results["fault_outcomes"]["sqlite_busy_warnings"] = errors.busy
    results["wall_s"] = round(time.perf_counter() - wall0, 1)
    return results


async def _soak(opts: SoakOptions, tmp: Path, clock: trio.testing.MockClock,
                nursery: trio.Nursery) -> dict:
    sandbox = Sandbox()
    sandbox.now_s = lambda: T0_UNIX + clock.current_time()  # type: ignore[method-assign]
    await nursery.start(sandbox.serve)
    discord = await nursery.start(FakeDiscord(token=BOT_TOKEN,
                                              heartbeat_interval_ms=opts.heartbeat_ms).serve)
    cfg_path = await blocking.run_sync("files", functools.partial(
        write_config, tmp / "config.toml", sandbox, discord, tmp / "data",
        extra=f"[schedules]\nnew_games_min = {opts.new_games_min}\n"
        f"free_games_min = {opts.free_games_min}\n"))
    env = {"FAMILYBOT_DISCORD_TOKEN": BOT_TOKEN, "FAMILYBOT_STEAM_API_KEY": sandbox.api_key,
           "FAMILYBOT_ITAD_API_KEY": sandbox.itad_key}
    config = await blocking.run_sync("files", lambda: load_config(cfg_path, env))
    members = [m.steamid for m in sandbox.family.members]
    for i in range(WISH_POOL):  # the wish pool: catalog games member 0 wishes for, never owned
        sandbox.add_catalog_app(FIRST_WISH_APPID + i, f"Soak Wish {i:02d}", price_cents=2999)
        sandbox.add_to_wishlist(members[0], FIRST_WISH_APPID + i)
    plan = make_plan(opts.days, opts.seed, members=len(members), wishers=LINKED)
    plan.events = sorted(plan.events + _suspicious.plan_events(
        opts.days, opts.seed, plan.faults_end_s, LINKED), key=lambda e: e.at_s)
    bot = _Bot(config, sandbox, clock, nursery)
    bot.outbox_poll_s = opts.outbox_poll_s
    # bot.app, not a local: this frame lives to the end, and a killed App must be let go.
    outcome = await (await bot.start()).scheduler.run_now("new_games")  # the baseline
    assert outcome.ok, outcome.error
    baseline_s = sandbox.now_s()
    faults: collections.Counter[str] = collections.Counter()
    world = World(bot, sandbox, discord, members, config.db_path, opts.heartbeat_ms / 1000,
                  nursery, faults, busy_hold_scale=opts.busy_hold_scale)
    world.suspicious = _suspicious.Tracker()
    memory = _memory.MemoryLog(opts.trace_memory)
    t_start = trio.current_time()
    for event in plan.events:
        await trio.sleep_until(t_start + event.at_s)
        memory.at(event.at_s)
        await apply(event, world)
    await trio.sleep_until(t_start + opts.days * DAY_S)
    for holder in world.lock_holders:
        await trio.to_thread.run_sync(holder.join)
    memory.end(opts.days)
    if bot.app is not None:
        await bot.app.flush_outbox()
    unsent = await bot.app.store.outbox.rows("unsent") if bot.app else []
    accepted = await _suspicious.finish(world)
    await bot.stop()
    results = _invariants(opts, sandbox, discord, bot, faults, memory, unsent, baseline_s,
                          config.thresholds.wishlist_min_members,
                          config.thresholds.bundle_threshold)
    return results | _suspicious.results(world, accepted) | _garbage.results(world)


def _invariants(opts: SoakOptions, sandbox: Sandbox, discord: FakeDiscord, bot: _Bot,
                faults: collections.Counter[str], memory: _memory.MemoryLog, unsent: list,
                baseline_s: float, min_members: int, bundle_threshold: int) -> dict:
    by_kind = _truth.announcements(sandbox, discord, baseline_s)
    by_kind["free_game"] = _free.truth(sandbox, discord, _truth.compare)
    wishlist = _truth.wishlist_final(sandbox, discord, min_members)
    bundles = _truth.bundles(sandbox, discord, baseline_s, bundle_threshold)
    return {
        "seed": opts.seed, "simulated_days": opts.days,
        "announcements_expected": sum(k["expected"] for k in by_kind.values()),
        "announcements_posted": sum(k["posted"] for k in by_kind.values()),
        "lost": sum(k["lost"] for k in by_kind.values()),
        "duplicated": sum(k["duplicated"] for k in by_kind.values()),
        "unexpected_posts": sum(k["unexpected"] for k in by_kind.values()),
        "by_kind": by_kind,
        "new_game_bundles": bundles,
        "bundle_posts_mismatch": abs(bundles["expected"] - bundles["posted"])
        + bundles["single_posts"],
        "wishlist_final": wishlist,
        "wishlist_final_mismatch": 0 if wishlist["matches"] else 1,
        "unhandled_exceptions": len(bot.unhandled), "unhandled_samples": bot.unhandled[:5],
        "outbox_rows_left_after_faults_ended": len(unsent),
        "faults_injected": {k: n for k, n in sorted(faults.items())
                            if k not in CHANGES and k not in OUTCOMES},
        "fault_outcomes": {k: n for k, n in sorted(faults.items()) if k in OUTCOMES},
        "zombie_undetected": faults.get("zombie_undetected", 0),
        "family_changes": {k: n for k, n in sorted(faults.items()) if k in CHANGES},
        "restarts": bot.restarts,
        **memory.results(),  # bench/soak/_memory.py: total, bot, fakes, other
        "discord_requests": len(discord.rest.requests),
    }


def failed(results: dict) -> list[str]:
    """The invariants a results dict breaks (empty when all hold)."""
    return [k for k in ("lost", "duplicated", "unhandled_exceptions",
                        "outbox_rows_left_after_faults_ended", "unexpected_posts",
                        "wishlist_final_mismatch", "bundle_posts_mismatch", "zombie_undetected",
                        "kept_aside_reports_lost", "kept_aside_reports_duplicated",
                        "failed_fetch_reports_duplicated",
                        "kept_rows_changed", "accepted_change_mismatch",
                        "steam_timeout_unretried")
            if results.get(k)] + _memory.failed(results)
