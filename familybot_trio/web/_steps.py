"""A trio Instrument that counts loop step durations into histogram buckets (for /metrics).

Separate from the loop-block detector (which judges steps and fails tests): this one only
counts, cheaply, while the dashboard runs. It is added with `trio.lowlevel.add_instrument`
when the dashboard starts (and `attach()`es its `gc.callbacks` hook) and removed when it
stops.

Garbage collection: like the detector (familybot_trio.loopblock), a step is counted by its
time *without* the GC pauses that fell inside it: a full collection pauses every thread
whatever the step does, so it says nothing about that step's code. The pauses are counted
on their own (`gc_pauses`, `gc_seconds` per generation; /metrics familybot_gc_*). Only a
collection on the trio thread (the one that called `attach`) is taken out of a step: one in
a worker thread (sqlite, the steam package) is not that step's pause; it still counts in
`gc_pauses` / `gc_seconds`.
"""

from __future__ import annotations

import bisect
import gc
import threading
import time
from typing import Final

import trio

#: Upper bounds (ms) of the step histogram; a step above the last bound counts in "+Inf".
STEP_BUCKETS_MS: Final = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0)
_WORST_KEPT: Final = 10


class StepHistogram(trio.abc.Instrument):
    """Loop step durations (real time, `time.perf_counter`, GC pauses left out).

    Attributes: counts (per STEP_BUCKETS_MS bucket, last = above the largest), total_s,
        steps, worst (the longest steps seen as (ms, task name), longest first);
        gc_pauses, gc_seconds (collections and their pause time per generation 0-2, any
        thread, while attached); only the trio thread's are left out of the steps.
    """

    def __init__(self) -> None:
        self.counts = [0] * (len(STEP_BUCKETS_MS) + 1)
        self.total_s = 0.0
        self.steps = 0
        self.gc_pauses = [0, 0, 0]
        self.gc_seconds = [0.0, 0.0, 0.0]
        self._worst: list[tuple[float, str]] = []
        self._t0: dict[int, float] = {}
        self._gc_t0: float | None = None
        self._gc_in_step = 0.0  # trio-thread GC pause time (s) since the current step began
        self._gc_thread: int | None = None  # the thread whose collection is in progress
        self._loop_thread = threading.get_ident()  # set again by attach (the trio thread)

    def attach(self) -> None:
        """Start timing GC pauses (gc.callbacks); call with add_instrument, on the trio
        thread (its collections are the ones left out of the steps)."""
        self._loop_thread = threading.get_ident()
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def detach(self) -> None:
        """Stop timing GC pauses; call with remove_instrument."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_t0 = time.perf_counter()
            self._gc_thread = threading.get_ident()
        elif self._gc_t0 is not None:
            s = time.perf_counter() - self._gc_t0
            self._gc_t0 = None
            gen = min(2, max(0, int(info.get("generation", 0))))
            self.gc_pauses[gen] += 1
            self.gc_seconds[gen] += s
            if self._gc_thread == self._loop_thread:
                self._gc_in_step += s

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._gc_in_step = 0.0
        self._t0[id(task)] = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        t0 = self._t0.pop(id(task), None)
        if t0 is None:
            return
        s = max(0.0, time.perf_counter() - t0 - self._gc_in_step)
        self._gc_in_step = 0.0
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
