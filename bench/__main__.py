"""`python -m bench [--quick] [--out DIR] [--latency-ms MS] [--reps N] [--only S1,S5]`.

Runs S1-S9 (see bench/README.md), prints a table with the machine's cores and memory, and
writes DIR/latest.json (default: bench/results/). Every figure key comes with `<key>_goal`
(a string such as "<= 5", or null when the issue sets no goal) and `<key>_ok` (true/false,
or null without a goal). Goals live in GOALS below, as the issue states them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import trio

from bench import scenarios as S
from bench._world import BotStepDetector
from bench.gateway_bench import s5_gateway
from bench.autocomplete import s7_autocomplete
from bench.dashboard_bench import s8_dashboard
from bench.memory import s6_memory
from bench import sigterm

RESULTS_DIR: Final = Path(__file__).parent / "results"
#: --smoke: the sandbox family at this fraction of its size (FAMILYBOT_SANDBOX_SCALE).
SMOKE_SCALE: Final = 0.2
SANDBOX_SCALE_ENV: Final = "FAMILYBOT_SANDBOX_SCALE"

#: key -> goal as the issue states it (None: reported, no goal). Never loosen one here.
GOALS: Final[dict[str, str | None]] = {
    "s1_max_step_ms": "<= 5", "s1_heartbeat_late_p99_ms": "<= 10",
    "s1_baseline_max_step_ms": None, "s1_baseline_heartbeat_late_p99_ms": None,
    "s2_cold_requests": "<= 4", "s2_cold_wall_s": "<= 0.5", "s2_ratio_vs_baseline": None,
    "s2_warm_wall_ms": "<= 50", "s2_warm_requests": "== 0",
    "s3_cold_wall_s": "<= 0.8", "s3_cold_requests": "<= 12", "s3_ratio_vs_baseline": None,
    "s4_p50_us": None, "s4_p99_us": "<= 1000",
    "s5_events_per_s": None, "s5_ratio_vs_decode_limit": ">= 0.5", "s5_resume_s": None,
    "s5_ratio_vs_orjson_decode_limit": None,
    "s6_rss_mb": "<= 60", "s6_rss_after_jobs_mb": None,
    "s7_autocomplete_p99_ms": "<= 20", "s7_baseline_p99_ms": None, "s7_ratio_vs_baseline": None,
    "s8_page_p99_ms": "<= 50", "s8_page_p50_ms": None, "s8_max_step_ms": None,
    "s9_sigterm_exit_s": "<= 1",  # issue 10: SIGTERM to exit, nothing in flight
}
SCENARIOS: Final = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9")
_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<=": lambda v, g: v <= g, ">=": lambda v, g: v >= g, "==": lambda v, g: v == g}


def judge(value: float | None, goal: str | None) -> bool | None:
    """True/False against a goal like "<= 5"; None without a goal or without a value."""
    if goal is None or value is None:
        return None
    op, _, num = goal.partition(" ")
    return _OPS[op](value, float(num))


def machine() -> dict[str, Any]:
    """Cores, memory, load average, versions: what the figures were measured on."""
    mem_kb = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        pass
    return {"cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "memory_mb": round(mem_kb / 1024), "loadavg_1_5_15": list(os.getloadavg()),
            "python": platform.python_version(), "trio": trio.__version__,
            "platform": platform.platform()}


def _r(x: float, nd: int = 3) -> float:
    return round(float(x), nd)


def figures(raw: dict[str, Any]) -> dict[str, Any]:
    """Raw per-scenario results -> the issue's keys (medians, p99, ratios) plus extras."""
    med, out = S.median, {}
    if "S1" in raw:
        r = raw["S1"]
        out.update(s1_max_step_ms=_r(med(r["ours_max_step_ms"])),
                   s1_heartbeat_late_p99_ms=_r(S.p99(r["ours_late_ms"])),
                   s1_baseline_max_step_ms=_r(med(r["base_max_step_ms"])),
                   s1_baseline_heartbeat_late_p99_ms=_r(S.p99(r["base_late_ms"])),
                   s1_refresh_wall_s=_r(med(r["ours_wall_s"])),
                   s1_baseline_refresh_wall_s=_r(med(r["base_wall_s"])),
                   s1_heartbeat_samples=len(r["ours_late_ms"]),
                   s1_heartbeat_late_max_ms=_r(max(r["ours_late_ms"], default=0.0)),
                   s1_repetitions=len(r["ours_max_step_ms"]),
                   s1_heartbeat_late_ms_all=[_r(x, 2) for x in r["ours_late_ms"]],
                   s1_baseline_heartbeat_late_p50_ms=_r(med(r["base_late_ms"])),
                   s1_baseline_heartbeat_samples=len(r["base_late_ms"]),
                   s1_worst_steps=r.get("ours_worst_steps"),
                   s1_baseline_worst_steps=r.get("base_worst_steps"),
                   s1_non_bot_max_step_ms=_r(med(r["all_tasks_max_step_ms"])),
                   s1_heartbeat_interval_ms=r["heartbeat_interval_ms"],
                   s1_gateway_reconnects=r["gateway_reconnects"])
    if "S2" in raw:
        r = raw["S2"]
        out.update(s2_cold_requests=med(r["cold_requests"]),
                   s2_cold_wall_s=_r(med(r["cold_wall_s"])),
                   s2_ratio_vs_baseline=_r(med(r["cold_wall_s"]) / med(r["base_wall_s"]), 4),
                   s2_warm_wall_ms=_r(med(r["warm_wall_ms"])),
                   s2_warm_requests=med(r["warm_requests"]),
                   s2_baseline_wall_s=_r(med(r["base_wall_s"])),
                   s2_baseline_requests=med(r["base_requests"]),
                   s2_baseline_games_measured=r["base_games_measured"],
                   s2_games=r["games"], s2_deals_found=r["deals_found"])
    if "S3" in raw:
        r = raw["S3"]
        out.update(s3_cold_wall_s=_r(med(r["cold_wall_s"])),
                   s3_cold_requests=med(r["cold_requests"]),
                   s3_ratio_vs_baseline=_r(med(r["cold_wall_s"]) / med(r["base_wall_s"]), 4),
                   s3_baseline_wall_s=_r(med(r["base_wall_s"])),
                   s3_baseline_requests=med(r["base_requests"]),
                   s3_members=r["members"], s3_wished_games=r["wished_games"])
    if "S4" in raw:
        r = raw["S4"]
        pct = lambda reps, q: med([sorted(x)[int(q * (len(x) - 1))] if q < 0.99 else S.p99(x)
                                   for x in reps])  # noqa: E731
        out.update(s4_p50_us=_r(pct(r["us"], 0.5), 1), s4_p99_us=_r(pct(r["us"], 0.99), 1),
                   s4_baseline_p50_us=_r(pct(r["base_us"], 0.5), 1),
                   s4_baseline_p99_us=_r(pct(r["base_us"], 0.99), 1),
                   s4_lookups_per_rep=r["samples"], s4_warm_requests=r["warm_requests"])
    if "S5" in raw:
        r = raw["S5"]
        eps, limit = med(r["events_per_s"]), med(r["decode_limit"])
        paired = lambda lims: med([e / x for e, x in zip(r["events_per_s"], lims)])  # noqa: E731
        out.update(s5_events_per_s=round(eps),
                   s5_ratio_vs_decode_limit=_r(paired(r["decode_limit"]), 4),
                   s5_ratio_vs_decode_limit_all=[_r(e / x, 3) for e, x in
                                                 zip(r["events_per_s"], r["decode_limit"])],
                   s5_resume_s=_r(med(r["resume_s"])),
                   s5_decode_limit_events_per_s=round(limit),
                   s5_orjson_decode_limit_events_per_s=round(med(r["orjson_decode_limit"])),
                   s5_ratio_vs_orjson_decode_limit=_r(paired(r["orjson_decode_limit"]), 4),
                   s5_fakediscord_events_per_s=round(med(r["fakediscord_events_per_s"])),
                   s5_cpu_share=_r(med(r["cpu_share"])), s5_events_per_burst=r["events"],
                   s5_frame_json_bytes=r["frame_bytes"])
    if "S6" in raw:
        r = raw["S6"]
        out.update(s6_rss_mb=_r(med(r["rss_mb"]), 1), s6_peak_rss_mb=_r(med(r["hwm_mb"]), 1),
                   s6_rss_after_jobs_mb=_r(med(r["after_jobs_mb"]), 1),
                   s6_idle_s=r["idle_s"], s6_populate_s=_r(r["populate_s"]),
                   s6_populate_requests=r["populate_requests"])
    if "S7" in raw:
        out.update({k: v for k, v in raw["S7"].items() if k.startswith("s7_")})
    if "S8" in raw:
        out.update({k: v for k, v in raw["S8"].items() if k.startswith("s8_")})
    if "S9" in raw:
        out.update(sigterm.figures(raw["S9"]))
    return out


async def run_all(opts: S.Options, only: set[str]) -> dict[str, Any]:
    """Run the selected scenarios in order; returns raw results by scenario name."""
    raw: dict[str, Any] = {}
    detector = BotStepDetector()
    trio.lowlevel.add_instrument(detector)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("S1", lambda: S.s1_loop_health(opts, detector)),
        ("S2", lambda: S.s2_deal_check(opts)),
        ("S3", lambda: S.s3_wishlist_refresh(opts)),
        ("S4", lambda: S.s4_cached_lookup(opts)),
        ("S5", lambda: s5_gateway(events=300 if opts.smoke else 2000 if opts.quick else 20000,
                                  reps=opts.reps,
                                  resume_reps=opts.reps)),
        ("S6", lambda: s6_memory(latency_ms=0 if opts.quick else opts.latency_ms,
                                 idle_s=0.2 if opts.smoke else 1.0 if opts.quick else 5.0,
                                 reps=1 if opts.quick else opts.reps)),
        ("S7", lambda: s7_autocomplete(quick=opts.quick)),
        ("S8", lambda: s8_dashboard(quick=opts.quick)),
        ("S9", lambda: sigterm.s9_sigterm(latency_ms=0 if opts.quick else opts.latency_ms,
                                          idle_s=0.2 if opts.smoke else 1.0 if opts.quick
                                          else 3.0, reps=1 if opts.smoke else opts.reps)),
    ]
    for name, step in steps:
        if name in only:
            t0 = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            raw[name] = await step()
            raw[name]["_duration_s"] = time.perf_counter() - t0
    return raw


def table(result: dict[str, Any]) -> str:
    """The printed summary: machine line, then key | value | goal | ok."""
    m = result["machine"]
    lines = [f"machine: {m['cores']} cores ({m['usable_cores']} usable), {m['memory_mb']} MB "
             f"memory, load {m['loadavg_1_5_15'][0]:.2f}; python {m['python']}, "
             f"trio {m['trio']}; latency {result['meta']['latency_ms']} ms; reps "
             f"{result['meta']['reps']}{' (quick)' if result['meta']['quick'] else ''}",
             f"{'figure':36} {'value':>12} {'goal':>10} {'ok':>5}", "-" * 66]
    for key in GOALS:
        if key not in result:
            continue
        ok = result[f"{key}_ok"]
        lines.append(f"{key:36} {result[key]!s:>12} {result[f'{key}_goal'] or '-':>10} "
                     f"{'-' if ok is None else ('yes' if ok else 'NO'):>5}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table, write latest.json. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 repetitions (baseline 1), smaller sizes")
    parser.add_argument("--smoke", action="store_true",
                        help="the test suite's run: --quick with 1 repetition and a sandbox "
                        "family a fifth the size; checks that every figure is written, the "
                        "figures themselves mean nothing")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR,
                        help="directory for latest.json (default: bench/results)")
    parser.add_argument("--latency-ms", type=float, default=100.0,
                        help="latency injected per upstream request (default: 100)")
    parser.add_argument("--reps", type=int, default=None,
                        help="repetitions per scenario (default 5; quick 2)")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help="comma-separated scenarios, e.g. S2,S3 (default: all)")
    args = parser.parse_args(argv)
    if args.smoke:  # no injected latency: the keys, not the figures, matter
        args.quick, args.reps, args.latency_ms = True, args.reps or 1, 0.0
        os.environ[SANDBOX_SCALE_ENV] = str(SMOKE_SCALE)
    only = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    reps = args.reps or (2 if args.quick else 5)
    opts = S.Options(latency_ms=args.latency_ms, reps=reps,
                     base_reps=1 if args.quick else max(5, reps), quick=args.quick,
                     min_beats=0 if args.quick else 100, smoke=args.smoke)
    logging.basicConfig(level=logging.ERROR)  # the bot's and hypercorn's INFO lines: off
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.ERROR)
    started = dt.datetime.now(dt.UTC)
    load_before = list(os.getloadavg())
    t0 = time.perf_counter()
    raw = trio.run(run_all, opts, only)
    result: dict[str, Any] = {
        "meta": {"started_at": started.isoformat(timespec="seconds"),
                 "duration_s": _r(time.perf_counter() - t0, 1), "quick": args.quick,
                 "smoke": args.smoke,
                 "reps": opts.reps, "baseline_reps": opts.base_reps,
                 "latency_ms": opts.latency_ms, "scenarios": sorted(only),
                 "loadavg_before": load_before,
                 "notes": ["medians over repetitions; heartbeat lateness is the p99 of all "
                           "beats of all repetitions pooled (S1 repeats our refresh until "
                           f"{opts.min_beats} beats were seen)",
                           "quick mode: fewer repetitions, baseline on "
                           f"{opts.base_apps} apps, S6 at 0 ms latency; figures not comparable"
                           if args.quick else "full run",
                           "sandbox rate limits are off (see bench/README.md)"]},
        "machine": machine(),
    }
    figs = figures(raw)
    for key, value in figs.items():
        result[key] = value
        if key in GOALS:
            result[f"{key}_goal"] = GOALS[key]
            result[f"{key}_ok"] = judge(value, GOALS[key])
    result["scenario_durations_s"] = {k: _r(v["_duration_s"], 1) for k, v in raw.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "latest.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
