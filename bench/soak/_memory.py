"""The soak's memory figures: traced memory split into the bot's, the fakes' and the rest.

The bot, the sandbox and FakeDiscord share one process, and the fakes keep deliberate
records that only grow (FakeDiscord's `rest.requests`, every gateway frame received and
message posted; the sandbox's `change_log` and its growing family). A total traced figure
therefore grows with the fakes' bookkeeping, not only with the bot's. Each sample is a
tracemalloc snapshot (tracebacks FRAMES deep, after a full collection); every live
allocation is attributed by the most recent frame of its traceback that lies in this
repository:
- "fakes": that frame is under gateway/testing/, familybot_trio/sandbox/ or bench/;
- "bot": any other project frame (familybot_trio/, gateway/): the bot made it, even when
  a fake or the soak called into the bot (the soak setting the access token);
- "other": no project frame within FRAMES (interpreter and library internals: linecache,
  trio's run loop, hypercorn serving the fakes, import machinery).

Samples: the first time the plan passes each of SAMPLE_DAYS (1, 5, 10, 15, 20, 25), and at
the end (before the bot stops); at day 10 and the end also the bot's bytes per attributing
frame, whose top growers go in the results (memory_bot_top_growth_sites_kb). The invariant `memory_bot_not_flat` (see `failed`) holds the bot's growth from
day 10 to the end, per simulated day, under BOT_GROWTH_LIMIT_KB_PER_DAY.
"""

from __future__ import annotations

import collections
import gc
import tracemalloc
from pathlib import Path
from typing import Final

from bench.soak._plan import DAY_S

#: Traceback depth: deep enough that a JSON body decoded inside httpx or requests, or a
#: starlette request inside the fake, still shows the project frame that asked for it.
#: Re-read at other depths, one day-4.8 snapshot (seed 1) split bot / fakes / other as
#: 5,610 / 6,360 / 441 KiB at 25 frames, 5,591 / 6,360 / 460 at 16, 4,435 / 6,344 / 1,632
#: at 8: 16 keeps the split and records fewer frames per allocation.
FRAMES: Final = 16
ROOT: Final = str(Path(__file__).resolve().parents[2]) + "/"
FAKE_DIRS: Final = ("gateway/testing/", "familybot_trio/sandbox/", "bench/")
SAMPLE_DAYS: Final = (1, 5, 10, 15, 20, 25)
#: Bot allocation sites (the attributing frame) kept in the results: the top growers
#: from day 10 to the end.
TOP_SITES: Final = 12
OWNERS: Final = ("bot", "fakes", "other")
#: The bot's allowed growth from day 10 to the end, KiB per simulated day (bench/README.md,
#: "Soak", argues the number from the measured runs: the bot grew 35 KiB a day from day 3 to
#: day 5 of seed 1): 2.5 MiB over the 20 days of a 30-day run.
BOT_GROWTH_LIMIT_KB_PER_DAY: Final = 128.0


def owner(traceback: tracemalloc.Traceback) -> str:
    """"bot", "fakes" or "other" for one allocation's traceback (see the module docstring)."""
    return _attributed(traceback)[0]


def _attributed(traceback: tracemalloc.Traceback) -> tuple[str, str]:
    """(owner, "path:line" of the attributing frame, "" for "other")."""
    for frame in reversed(traceback):  # the most recent frame is the last one
        name = frame.filename
        if name.startswith(ROOT):
            rel = name[len(ROOT):]
            return ("fakes" if rel.startswith(FAKE_DIRS) else "bot"), f"{rel}:{frame.lineno}"
    return "other", ""


def sample() -> dict[str, float]:
    """Live traced memory now, in KiB: total and by owner. Runs a full gc.collect() first
    (garbage waiting for the collector is nobody's growth). Requires tracemalloc to be
    tracing (`start`); costs about a second of real time per 10 MiB traced."""
    return _sample()[0]


def _sample() -> tuple[dict[str, float], collections.Counter[str]]:
    """sample(), and the bot's live bytes per attributing frame ("path:line")."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    sizes: collections.Counter[str] = collections.Counter()
    sites: collections.Counter[str] = collections.Counter()
    for trace in snapshot.traces:
        who, site = _attributed(trace.traceback)
        sizes[who] += trace.size
        if who == "bot":
            sites[site] += trace.size
    del snapshot
    return ({"total": tracemalloc.get_traced_memory()[0] / 1024,
             **{k: sizes[k] / 1024 for k in OWNERS}}, sites)


class MemoryLog:
    """The samples of one soak. enabled=False (no tracemalloc) makes every call a no-op.

    Use (tracemalloc started with FRAMES by the caller): `at(at_s)` before each plan event
    (simulated seconds), `end(days)` once the plan is done and the bot still runs;
    `results()` for the results dict.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.samples: dict[str, dict[str, float]] = {}
        self.sites: dict[str, collections.Counter[str]] = {}  # day_10_kb / end_kb -> bytes
        self.days = 0.0

    def _take(self, point: str) -> None:
        self.samples[point], sites = _sample()
        if point in ("day_10_kb", "end_kb"):
            self.sites[point] = sites

    def at(self, at_s: float) -> None:
        """Sample the first time the plan passes each of SAMPLE_DAYS."""
        if not self.enabled:
            return
        for day in SAMPLE_DAYS:
            if f"day_{day}_kb" not in self.samples and at_s >= day * DAY_S:
                self._take(f"day_{day}_kb")

    def end(self, days: float) -> None:
        """The last sample, `days` simulated days after the start."""
        self.days = days
        if self.enabled:
            self._take("end_kb")

    def results(self) -> dict:
        """memory_kb (total traced, as before), memory_bot_kb, memory_fakes_kb and
        memory_other_kb ({"day_1_kb", "day_10_kb", "end_kb"}, those reached), the growth
        from day 10 to the end of the total and of the bot (KiB, None when the run did not
        reach day 10), and the bot's growth per simulated day over that span."""
        figures = {f"memory{'' if who == 'total' else '_' + who}_kb":
                   {point: round(s[who]) for point, s in self.samples.items()}
                   for who in ("total", *OWNERS)}
        out: dict = dict(figures)
        for who, key in (("total", "memory_kb"), ("bot", "memory_bot_kb")):
            kb = out[key]
            growth = (None if "day_10_kb" not in kb or "end_kb" not in kb
                      else kb["end_kb"] - kb["day_10_kb"])
            label = "" if who == "total" else "bot_"
            out[f"memory_{label}growth_day_10_to_end_kb"] = growth
        if len(self.sites) == 2:  # where the bot grew: the attributing frames, top first
            before, after = self.sites["day_10_kb"], self.sites["end_kb"]
            grown = {site: (after[site] - before[site]) / 1024 for site in after}
            out["memory_bot_top_growth_sites_kb"] = {
                site: round(kb, 1) for site, kb in sorted(grown.items(), key=lambda i: -i[1])
                [:TOP_SITES] if kb > 0}
        growth = out["memory_bot_growth_day_10_to_end_kb"]
        out["memory_bot_growth_kb_per_day"] = (
            None if growth is None or self.days <= 10 else round(growth / (self.days - 10), 1))
        return out


def failed(results: dict) -> list[str]:
    """["memory_bot_not_flat"] when the bot's memory grew faster than
    BOT_GROWTH_LIMIT_KB_PER_DAY from day 10 to the end; [] otherwise or when not measured."""
    rate = results.get("memory_bot_growth_kb_per_day")
    return ["memory_bot_not_flat"] if rate is not None and rate > BOT_GROWTH_LIMIT_KB_PER_DAY \
        else []
