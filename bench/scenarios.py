"""Scenarios S1-S4: refreshes and lookups of the real bot, side by side with the baseline.

Each scenario gets a fresh world (sandbox + FakeDiscord + App, see _world.py) in a temporary
directory, runs ours and the baseline `reps` times, and returns raw per-repetition figures;
__main__ takes medians and ratios. Upstream requests are counted by the sandbox
(`Sandbox.total_requests`), walls are `time.perf_counter` around the awaited work.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import trio

from bench._world import BenchWorld, BotStepDetector, start_world, stop_world
from bench.baseline import NaiveBot, Upstreams
from familybot_trio.upstream.models import AppId


#: S1 repeats our refresh at most this often to collect `min_beats` heartbeats.
MAX_S1_REPS: Final = 60


@dataclass
class Options:
    """Run options: latency_ms injected per upstream request; reps; quick (smaller sizes)."""

    latency_ms: float = 100.0
    reps: int = 5
    base_reps: int = 5
    quick: bool = False
    heartbeat_interval_ms: int = 600
    base_apps: int = 10  # quick mode: apps the baseline fetches (scaled up in S2)
    min_beats: int = 100  # S1: heartbeats to collect for ours (quick: fewer)
    smoke: bool = False  # the test suite's run: smallest sizes, figures meaningless
    notes: list[str] = field(default_factory=list)


def _upstreams(w: BenchWorld) -> Upstreams:
    fam = w.sandbox.family
    return Upstreams(apihost=w.sandbox.apihost, storefront=w.sandbox.urls["storefront"],
                     api_key=w.sandbox.api_key, access_token=w.sandbox.access_token,
                     family_groupid=fam.family_groupid,
                     steamids=tuple(int(m.steamid) for m in fam.members),
                     country=w.config.country)


def _wished_not_owned(w: BenchWorld) -> list[AppId]:
    fam = w.sandbox.family
    wished = {a for wl in fam.wishlists.values() for a in wl}
    return sorted(AppId(int(a)) for a in wished if a not in fam.library)


async def _cold(w: BenchWorld) -> None:
    """Drop every cached record (catalog, ITAD ids, library): the next call is cold."""
    await w.app.store.cache.purge(dt.datetime.now(dt.UTC), namespace_prefix="")


async def _in_world(opts: Options, body: Any, *, heartbeat_interval_ms: int = 41250) -> Any:
    """Run `body(world)` in a fresh world; stop the world afterwards; return body's result."""
    with tempfile.TemporaryDirectory(prefix="familybot-bench-") as tmp:
        async with trio.open_nursery() as nursery:
            world = await nursery.start(lambda task_status: start_world(
                Path(tmp), latency_ms=opts.latency_ms,
                heartbeat_interval_ms=heartbeat_interval_ms, task_status=task_status))
            try:
                return await body(world)
            finally:
                with trio.CancelScope(shield=True):
                    await stop_world(world, nursery)


async def _run_job(w: BenchWorld, name: str) -> None:
    outcome = await w.app.scheduler.run_now(name)
    if not outcome.ok:
        raise RuntimeError(f"job {name!r} failed during the bench: {outcome.error}")


def p99(values: list[float]) -> float:
    """99th percentile (nearest rank; the max below 100 samples). 0.0 for no samples."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(0.99 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


# ---------------------------------------------------------------------- S1


async def s1_loop_health(opts: Options, detector: BotStepDetector) -> dict[str, Any]:
    """Full refresh (library, wishlists, prices, deals) with the gateway connected.

    Ours: jobs new_games, wishlist, deals via `scheduler.run_now`, caches dropped before each
    repetition. Baseline: NaiveBot.full_refresh in a task of the same loop. Worst bot step
    per repetition from the detector; heartbeat lateness pooled over repetitions (p99).
    """
    async def body(w: BenchWorld) -> dict[str, Any]:
        out: dict[str, Any] = {"ours_max_step_ms": [], "ours_late_ms": [],
                               "base_max_step_ms": [], "base_late_ms": [], "ours_wall_s": [],
                               "base_wall_s": [], "all_tasks_max_step_ms": []}
        assert w.app_task is not None
        detector.roots = {w.app_task}
        await trio.sleep(2 * w.heartbeat_interval_s)  # a few beats before the first refresh
        rep = 0
        # At least `reps` repetitions, and on until MIN_BEATS heartbeats were seen (a p99
        # of fewer samples is just the max), at most MAX_S1_REPS.
        while rep < opts.reps or (len(out["ours_late_ms"]) < opts.min_beats
                                  and rep < MAX_S1_REPS):
            rep += 1
            await _cold(w)
            detector.reset()
            mark = w.heartbeats_seen()
            t0 = time.perf_counter()
            for job in ("new_games", "wishlist", "deals"):
                await _run_job(w, job)
            out["ours_wall_s"].append(time.perf_counter() - t0)
            await trio.sleep(w.heartbeat_interval_s * 1.5)  # the beat due during the run lands
            out["ours_max_step_ms"].append(detector.max_step_ms)
            if detector.max_step_ms >= max(out["ours_max_step_ms"]):
                out["ours_worst_steps"] = [(x.task_name, round(x.duration_ms, 2))
                                           for x in detector.worst[:3]]
            out["all_tasks_max_step_ms"].append(detector.all_max_step_ms)
            out["ours_late_ms"] += w.heartbeat_late_ms(mark)
        naive = NaiveBot(_upstreams(w), w.tmp / "naive.sqlite")
        try:
            for _ in range(opts.base_reps):
                done = trio.Event()
                detector.reset()
                mark = w.heartbeats_seen()

                async def refresh() -> None:
                    detector.roots.add(trio.lowlevel.current_task())
                    t0 = time.perf_counter()
                    if opts.quick:  # smaller: library, wishlists, 20 apps' details
                        await naive.refresh_library()
                        wanted = await naive.refresh_wishlists()
                        await naive.deal_check(sorted(wanted)[:opts.base_apps])
                    else:
                        await naive.full_refresh()
                    out["base_wall_s"].append(time.perf_counter() - t0)
                    done.set()

                async with trio.open_nursery() as n:
                    n.start_soon(refresh)
                await done.wait()
                await trio.sleep(w.heartbeat_interval_s * 1.5)
                out["base_max_step_ms"].append(detector.max_step_ms)
                out["base_worst_steps"] = [(x.task_name, round(x.duration_ms, 2))
                                           for x in detector.worst[:3]]
                out["base_late_ms"] += w.heartbeat_late_ms(mark)
        finally:
            naive.close()
        out["heartbeat_interval_ms"] = w.discord.gateway.heartbeat_interval_ms
        out["gateway_reconnects"] = w.app.shard.reconnects
        return out

    return await _in_world(opts, body, heartbeat_interval_ms=opts.heartbeat_interval_ms)


# ---------------------------------------------------------------------- S2


async def s2_deal_check(opts: Options) -> dict[str, Any]:
    """Deal check of 100 wishlist games: catalog (details + prices + lows) then the deal rule.

    Cold: caches dropped first; warm: the same call again. Baseline: NaiveBot.deal_check on
    the same 100 appids (quick: 20, and the baseline wall is scaled to 100 in the JSON).
    """
    from familybot_trio.features import deals

    async def body(w: BenchWorld) -> dict[str, Any]:
        ids = _wished_not_owned(w)[:100]
        wanted = {a: (w.sandbox.family.members[0].steamid,) for a in ids}
        out: dict[str, Any] = {"games": len(ids), "cold_wall_s": [], "cold_requests": [],
                               "warm_wall_ms": [], "warm_requests": [], "base_wall_s": [],
                               "base_requests": [], "deals_found": 0}

        async def check() -> int:
            d, p = await w.app.catalog.details_and_prices(ids, country=w.config.country)
            return len(deals.find_deals(w.app, wanted, d, p))

        for _ in range(opts.reps):
            await _cold(w)
            await w.reset_counts()
            t0 = time.perf_counter()
            out["deals_found"] = await check()
            out["cold_wall_s"].append(time.perf_counter() - t0)
            out["cold_requests"].append(await w.total_requests())
            await w.reset_counts()
            t0 = time.perf_counter()
            await check()
            out["warm_wall_ms"].append((time.perf_counter() - t0) * 1000)
            out["warm_requests"].append(await w.total_requests())
        base_ids = ids[:opts.base_apps] if opts.quick else ids
        naive = NaiveBot(_upstreams(w), w.tmp / "naive.sqlite")
        try:
            for _ in range(opts.base_reps):
                await w.reset_counts()
                t0 = time.perf_counter()
                await naive.deal_check(base_ids)
                wall = time.perf_counter() - t0
                out["base_wall_s"].append(wall * len(ids) / len(base_ids))
                out["base_requests"].append(await w.total_requests())
        finally:
            naive.close()
        out["base_games_measured"] = len(base_ids)
        return out

    return await _in_world(opts, body)


# ---------------------------------------------------------------------- S3


async def s3_wishlist_refresh(opts: Options) -> dict[str, Any]:
    """Wishlist refresh, 5 members, ~300 wished games: the `wishlist` job, cold caches.

    Baseline: NaiveBot.wishlist_refresh (library first, as the guide's bot has it stored).
    """
    async def body(w: BenchWorld) -> dict[str, Any]:
        fam = w.sandbox.family
        out: dict[str, Any] = {"members": len(fam.members),
                               "wished_games": len({a for wl in fam.wishlists.values()
                                                    for a in wl}),
                               "cold_wall_s": [], "cold_requests": [], "base_wall_s": [],
                               "base_requests": []}
        for _ in range(opts.reps):
            await _cold(w)
            await w.reset_counts()
            t0 = time.perf_counter()
            await _run_job(w, "wishlist")
            out["cold_wall_s"].append(time.perf_counter() - t0)
            out["cold_requests"].append(await w.total_requests())
        naive = NaiveBot(_upstreams(w), w.tmp / "naive.sqlite")
        try:
            await naive.refresh_library()
            for _ in range(opts.base_reps):
                await w.reset_counts()
                t0 = time.perf_counter()
                await naive.wishlist_refresh(limit=opts.base_apps if opts.quick else None)
                out["base_wall_s"].append(time.perf_counter() - t0)
                out["base_requests"].append(await w.total_requests())
        finally:
            naive.close()
        return out

    return await _in_world(opts, body)


# ---------------------------------------------------------------------- S4


async def s4_cached_lookup(opts: Options) -> dict[str, Any]:
    """One cached app-details lookup through the catalog and the store (thread hops
    included), timed one by one; baseline: a sqlite3 SELECT on the loop.

    Returns per-repetition lists of lookup times in µs ("us", "base_us").
    """
    n = 100 if opts.quick else 1000  # lookups per repetition

    async def body(w: BenchWorld) -> dict[str, Any]:
        ids = _wished_not_owned(w)[:100]
        await w.app.catalog.details(ids, country=w.config.country)  # warm
        samples_us: list[list[float]] = []
        for _ in range(opts.reps):
            rep: list[float] = []
            for i in range(n):
                appid = ids[i % len(ids)]
                t0 = time.perf_counter()
                got = await w.app.catalog.details([appid], country=w.config.country)
                rep.append((time.perf_counter() - t0) * 1e6)
                if appid not in got:
                    raise RuntimeError(f"appid {appid} missing from a warm catalog")
            samples_us.append(rep)
        await w.reset_counts()
        await w.app.catalog.details(ids, country=w.config.country)
        warm_requests = await w.total_requests()
        naive = NaiveBot(_upstreams(w), w.tmp / "naive.sqlite")
        try:
            await naive.details(ids[:10])
            base_us: list[list[float]] = []
            for _ in range(opts.base_reps):
                rep = []
                for i in range(n):
                    t0 = time.perf_counter()
                    naive.lookup_details(ids[i % 10])
                    rep.append((time.perf_counter() - t0) * 1e6)
                base_us.append(rep)
        finally:
            naive.close()
        return {"samples": n, "us": samples_us, "base_us": base_us,
                "warm_requests": warm_requests}

    return await _in_world(opts, body)


def median(values: list[float]) -> float:
    """statistics.median, 0.0 for no values."""
    return statistics.median(values) if values else 0.0
