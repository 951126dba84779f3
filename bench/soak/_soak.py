"""The soak orchestrator: the real App, the sandbox, FakeDiscord, a plan, and the invariants.

    clock = ThreadAwareClock()
    results = trio.run(run_soak, SoakOptions(days=2, seed=1), tmp_dir, clock, clock=clock)

Time: the MockClock runs at real pace (rate 1, no autojump) while an App starts, since its
start-up has its own timeouts; once READY it switches to autojump (rate 0): whenever every
task waits, the clock jumps to the next deadline. The App's wall clock and the sandbox's
are tied to the MockClock, so hourly jobs, backoff, Retry-After and token expiry all follow
simulated time. The gateway heartbeat interval is raised (`heartbeat_ms`) only to make
days cheaper; gateway faults still happen.

Ground truth: the plan's list of new games. Posted: the games named in the new-games
channel's messages (their store URLs). Lost = expected, never posted; duplicated = posted
more than once (a returned game posted again counts too).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import logging
import re
import time
import tracemalloc
from pathlib import Path
from typing import Any

import trio
import trio.testing

from bench.soak._clock import ThreadAwareClock, counting_threads
from bench.soak._plan import DAY_S, Event, make_plan
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
NEW_GAMES = CHANNELS["new_games"]
FEATURES = ["new_games", "admin"]
#: Real seconds every task must have waited before the clock jumps. Each jump costs this much
#: real time (a day has ~3,000 idle points: the outbox poll, heartbeats, jobs); above 0 so a
#: loopback round trip or a short store call finishes before time moves on.
AUTOJUMP_S = 0.0005
#: Plan events that are family life, not faults (counted apart in the results).
CHANGES = frozenset({"add_game", "remove_game", "return_game", "renew_token"})
_APP_URL = re.compile(r"/app/(\d+)/")


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


class _Errors(logging.Handler):
    """Counts log records at ERROR or above that carry a traceback (a crash somewhere)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.crashes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.crashes.append(f"{record.name}: {record.getMessage()[:200]}")


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
    with counting_threads(clock):
        return await _run_soak(opts, tmp, clock)


async def _run_soak(opts: SoakOptions, tmp: Path, clock: trio.testing.MockClock) -> dict:
    wall0 = time.perf_counter()
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    if opts.trace_memory:
        tracemalloc.start()
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
        extra=f"[schedules]\nnew_games_min = {opts.new_games_min}\n"))
    env = {"FAMILYBOT_DISCORD_TOKEN": BOT_TOKEN, "FAMILYBOT_STEAM_API_KEY": sandbox.api_key,
           "FAMILYBOT_ITAD_API_KEY": sandbox.itad_key}
    config = await blocking.run_sync("files", lambda: load_config(cfg_path, env))
    members = [m.steamid for m in sandbox.family.members]
    plan = make_plan(opts.days, opts.seed, members=len(members))
    bot = _Bot(config, sandbox, clock, nursery)
    bot.outbox_poll_s = opts.outbox_poll_s
    app = await bot.start()
    outcome = await app.scheduler.run_now("new_games")  # the baseline, before any change
    assert outcome.ok, outcome.error
    faults: collections.Counter[str] = collections.Counter()
    memory: dict[str, float] = {}
    t_start = trio.current_time()
    for event in plan.events:
        await trio.sleep_until(t_start + event.at_s)
        if not memory and opts.trace_memory and event.at_s >= DAY_S:
            memory["after_day_1_kb"] = tracemalloc.get_traced_memory()[0] / 1024
        await _apply(event, bot, sandbox, discord, members, faults)
    await trio.sleep_until(t_start + opts.days * DAY_S)
    if opts.trace_memory:
        memory["end_kb"] = tracemalloc.get_traced_memory()[0] / 1024
    if bot.app is not None:
        await bot.app.flush_outbox()
    unsent = await bot.app.store.outbox.rows("unsent") if bot.app else []
    await bot.stop()
    return _invariants(opts, plan, discord, bot, faults, memory, unsent)


async def _apply(event: Event, bot: _Bot, sandbox: Sandbox, discord: FakeDiscord,
                 members: list[int], faults: collections.Counter[str]) -> None:
    """Apply one planned event to the world (or to the bot)."""
    kind, args = event.kind, event.args
    rest = discord.rest
    messages = "/messages"
    if kind == "add_game":
        appid, owner, name = args
        sandbox.add_library_app(appid, members[owner], name=name)
    elif kind == "remove_game":
        sandbox.remove_library_app(args[0])
    elif kind == "return_game":
        sandbox.add_library_app(args[0], members[args[1]])
    elif kind == "renew_token":
        token = sandbox.issue_access_token()
        if bot.app is not None:
            await bot.app.tokens.set(token)
    elif kind == "restart":
        faults["restart"] += 1
        bot.restarts += 1
        await bot.kill()
        await trio.sleep(args[0])
        await bot.start()
        return
    elif kind == "rest_outage":
        rest.fail_next("POST", messages, 503, times=10**9)
    elif kind == "channel_403":
        rest.fail_next("POST", f"/channels/{NEW_GAMES}/messages", 403, times=10**9,
                       body={"code": 50013, "message": "Missing Permissions"})
    elif kind == "rest_recover":
        rest.clear_faults()
        return
    elif kind == "cloudflare_429":
        rest.cloudflare_next("POST", messages)
    elif kind in ("route_429", "global_429"):
        rest.rate_limit_next("POST", messages, scope="user" if kind == "route_429" else "global",
                             retry_after=args[1], times=2)
    elif kind.startswith("gateway_"):
        try:
            if kind == "gateway_close_4000":
                await discord.gateway.close_connection(4000, "soak: resumable close")
            elif kind == "gateway_op7":
                await discord.gateway.send_op(7)
            else:
                await discord.gateway.send_op(9, False)
        except (RuntimeError, AssertionError, trio.BrokenResourceError,
                trio.ClosedResourceError):
            return  # no live connection at that moment: nothing injected
    elif kind == "steam_503":
        sandbox.fail_next("steam_webapi", "503", n=args[0])
    elif kind == "steam_429":
        sandbox.fail_next("steam_webapi", "429_retry_after", n=args[0], retry_after_s=30)
    elif kind == "steam_malformed":
        sandbox.fail_next("steam_webapi", "malformed_json", n=1)
    faults[kind] += 1  # family changes and renewals are counted too, and split off at the end


def _invariants(opts: SoakOptions, plan: Any, discord: FakeDiscord, bot: _Bot,
                faults: collections.Counter[str], memory: dict[str, float],
                unsent: list) -> dict:
    posted: collections.Counter[int] = collections.Counter()
    for msg in discord.messages(NEW_GAMES):
        text = repr(msg.embeds) + (msg.content or "")
        for appid in {int(a) for a in _APP_URL.findall(text)}:
            posted[appid] += 1
    expected = set(plan.new_appids)
    lost = sorted(expected - set(posted))
    duplicated = {a: n for a, n in posted.items() if n > 1}
    unexpected = sorted(set(posted) - expected)
    stale = [r for r in unsent]  # every fault ended a day before the end: none may be left
    end_kb, day1_kb = memory.get("end_kb"), memory.get("after_day_1_kb")
    return {
        "seed": opts.seed, "simulated_days": opts.days,
        "announcements_expected": len(expected), "announcements_posted": sum(posted.values()),
        "lost": len(lost), "duplicated": sum(n - 1 for n in duplicated.values()),
        "lost_appids": lost[:20], "duplicated_appids": sorted(duplicated)[:20],
        "unexpected_posts": len(unexpected),
        "unhandled_exceptions": len(bot.unhandled), "unhandled_samples": bot.unhandled[:5],
        "outbox_rows_left_after_faults_ended": len(stale),
        "faults_injected": {k: n for k, n in sorted(faults.items()) if k not in CHANGES},
        "family_changes": {k: n for k, n in sorted(faults.items()) if k in CHANGES},
        "restarts": bot.restarts,
        "memory_after_day_1_kb": None if day1_kb is None else round(day1_kb),
        "memory_end_kb": None if end_kb is None else round(end_kb),
        "memory_growth_kb": None if end_kb is None or day1_kb is None
        else round(end_kb - day1_kb),
        "discord_requests": len(discord.rest.requests),
    }


def failed(results: dict) -> list[str]:
    """The invariants a results dict breaks (empty when all hold)."""
    return [k for k in ("lost", "duplicated", "unhandled_exceptions",
                        "outbox_rows_left_after_faults_ended", "unexpected_posts")
            if results.get(k)]
