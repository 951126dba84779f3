"""A trio Instrument that counts loop step durations into histogram buckets (for /metrics).

Separate from the loop-block detector (which judges steps and fails tests): this one only
counts, cheaply, while the dashboard runs. It is added with `trio.lowlevel.add_instrument`
when the dashboard starts and removed when it stops.
"""

from __future__ import annotations

import bisect
import time
from typing import Final

import trio

#: Upper bounds (ms) of the step histogram; a step above the last bound counts in "+Inf".
STEP_BUCKETS_MS: Final = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)
_WORST_KEPT: Final = 10


class StepHistogram(trio.abc.Instrument):
    """Loop step durations (real time, `time.perf_counter`).

    Attributes: counts (per STEP_BUCKETS_MS bucket, last = above the largest), total_s,
        steps, worst (the longest steps seen as (ms, task name), longest first).
    """

    def __init__(self) -> None:
        self.counts = [0] * (len(STEP_BUCKETS_MS) + 1)
        self.total_s = 0.0
        self.steps = 0
        self._worst: list[tuple[float, str]] = []
        self._t0: dict[int, float] = {}

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._t0[id(task)] = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        t0 = self._t0.pop(id(task), None)
        if t0 is None:
            return
        s = time.perf_counter() - t0
        ms = s * 1000.0
        self.steps += 1
        self.total_s += s
        self.counts[bisect.bisect_left(STEP_BUCKETS_MS, ms)] += 1
        if len(self._worst) < _WORST_KEPT or ms > self._worst[-1][0]:
            self._worst.append((ms, task.name))
            self._worst.sort(reverse=True)
            del self._worst[_WORST_KEPT:]

    @property
    def worst(self) -> list[tuple[float, str]]:
        """(duration ms, task name) of the longest steps, longest first."""
        return list(self._worst)
