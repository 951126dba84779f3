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

Samples: the first time the plan passes day 1 and day 10, and at the end (before the bot
stops). The invariant `memory_bot_not_flat` (see `failed`) holds the bot's growth from
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
SAMPLE_DAYS: Final = (1, 10)
OWNERS: Final = ("bot", "fakes", "other")
#: The bot's allowed growth from day 10 to the end, KiB per simulated day (bench/README.md,
#: "Soak", argues the number from the measured runs: the bot grew 35 KiB a day from day 3 to
#: day 5 of seed 1): 2.5 MiB over the 20 days of a 30-day run.
BOT_GROWTH_LIMIT_KB_PER_DAY: Final = 128.0


def owner(traceback: tracemalloc.Traceback) -> str:
    """"bot", "fakes" or "other" for one allocation's traceback (see the module docstring)."""
    for frame in reversed(traceback):  # the most recent frame is the last one
        name = frame.filename
        if name.startswith(ROOT):
            return "fakes" if name[len(ROOT):].startswith(FAKE_DIRS) else "bot"
    return "other"


def sample() -> dict[str, float]:
    """Live traced memory now, in KiB: total and by owner. Runs a full gc.collect() first
    (garbage waiting for the collector is nobody's growth). Requires tracemalloc to be
    tracing (`start`); costs about a second of real time per 10 MiB traced."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    sizes: collections.Counter[str] = collections.Counter()
    for trace in snapshot.traces:
        sizes[owner(trace.traceback)] += trace.size
    del snapshot
    return {"total": tracemalloc.get_traced_memory()[0] / 1024,
            **{k: sizes[k] / 1024 for k in OWNERS}}


class MemoryLog:
    """The samples of one soak. enabled=False (no tracemalloc) makes every call a no-op.

    Use (tracemalloc started with FRAMES by the caller): `at(at_s)` before each plan event
    (simulated seconds), `end(days)` once the plan is done and the bot still runs;
    `results()` for the results dict.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.samples: dict[str, dict[str, float]] = {}
        self.days = 0.0

    def at(self, at_s: float) -> None:
        """Sample the first time the plan passes each of SAMPLE_DAYS."""
        if not self.enabled:
            return
        for day in SAMPLE_DAYS:
            if f"day_{day}_kb" not in self.samples and at_s >= day * DAY_S:
                self.samples[f"day_{day}_kb"] = sample()

    def end(self, days: float) -> None:
        """The last sample, `days` simulated days after the start."""
        self.days = days
        if self.enabled:
            self.samples["end_kb"] = sample()

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
