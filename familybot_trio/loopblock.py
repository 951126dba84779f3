"""The loop-block detector: a trio Instrument that times every task step.

A trio task runs on the event loop from one `await` to the next (a "step"). A step that
takes long means nothing else ran meanwhile: no heartbeat, no reader, no command. This
instrument measures each step with `time.perf_counter` (real time) and keeps:

- the worst steps (task name, duration) for `lag()` in the console and the bot's log, and
- every step over `threshold_ms` as a violation; the test suite fails a test that has any.

The threshold comes from FAMILYBOT_LOOP_BLOCK_MS (default 50 ms).

Wall time or CPU time: a step's wall time also counts the time the OS gave the core to
another process, so on a loaded machine a 5 ms step can read as 80 ms. With
`cpu_threshold_ms` set, each step's CPU time on the loop thread (`time.thread_time`) is
measured too and judged against it: that is the loop's own work (a big parse, a long loop),
whatever the load. The test suite judges CPU time tightly and wall time loosely; blocking
calls (sqlite, Steam, files) are caught by construction instead (familybot_trio.offloop).

Garbage collection: a full collection of a big heap can pause the interpreter for tens of
milliseconds inside any step, whatever that step does. The detector times GC pauses with
`gc.callbacks` and judges a step by its time *without* them (`duration_ms`), while keeping
the pause (`gc_ms`) in the record: a blocking call is a bug in our code, a GC pause is a
property of the heap, and `lag()` shows both. Only collections that run on the trio thread
(the one that called `before_run`) count: a collection in a worker thread (sqlite, the steam
package) is not part of the loop's current step, and subtracting it would hide that
step's own time.
"""

from __future__ import annotations

import gc
import heapq
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Final

import trio

log = logging.getLogger("familybot_trio.loopblock")

DEFAULT_THRESHOLD_MS: Final = 50.0
ENV_THRESHOLD: Final = "FAMILYBOT_LOOP_BLOCK_MS"


def threshold_from_env(var: str = ENV_THRESHOLD, default: float = DEFAULT_THRESHOLD_MS
                       ) -> float:
    """Threshold in ms from the environment variable `var` (FAMILYBOT_LOOP_BLOCK_MS), else
    `default` (50).

    Raises: ValueError naming the variable when it is not a positive number.
    """
    raw = os.environ.get(var)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{var}={raw!r} is not a number of milliseconds") from None
    if value <= 0:
        raise ValueError(f"{var}={raw!r} must be > 0 milliseconds")
    return value


@dataclass(frozen=True, slots=True, order=True)
class SlowStep:
    """One task step that held the loop: duration_ms first so steps sort by it."""

    duration_ms: float
    task_name: str
    gc_ms: float = 0.0
    cpu_ms: float | None = None  # CPU time on the loop thread (when measured)


class LoopBlockDetector(trio.abc.Instrument):
    """Times every task step; records the worst ones and those over the threshold.

    Args: threshold_ms: a step longer than this (wall time) is a violation; cpu_threshold_ms:
        when set, a step that used more CPU time than this on the loop thread is one too;
        keep: how many worst steps to remember; log_violations: log each violation at
        WARNING (the bot does, tests collect them instead).
    """

    def __init__(
        self, threshold_ms: float | None = None, *, cpu_threshold_ms: float | None = None,
        keep: int = 10, log_violations: bool = False
    ) -> None:
        self.threshold_ms = threshold_ms if threshold_ms is not None else threshold_from_env()
        self.cpu_threshold_ms = cpu_threshold_ms
        self._cpu_started: dict[int, float] = {}
        self.keep = keep
        self.log_violations = log_violations
        self.steps = 0
        self.violations: list[SlowStep] = []
        self._worst: list[SlowStep] = []  # min-heap of the `keep` worst steps
        self._started: dict[int, float] = {}
        self._gc_ms = 0.0  # GC pause time inside the current step
        self._gc_t0: float | None = None
        self.gc_total_ms = 0.0
        self.max_cpu_ms = 0.0  # the most CPU time one step used (when measured)
        self._loop_thread = threading.get_ident()  # set again by before_run (the trio thread)

    def reset(self) -> None:
        """Forget every step seen (keeps the threshold)."""
        self.steps = 0
        self.violations.clear()
        self._worst.clear()
        self._started.clear()
        self._cpu_started.clear()
        self.gc_total_ms = 0.0
        self.max_cpu_ms = 0.0

    def _on_gc(self, phase: str, info: dict) -> None:
        if threading.get_ident() != self._loop_thread:
            return  # a worker thread's collection: not the loop's step
        if phase == "start":
            self._gc_t0 = time.perf_counter()
        elif self._gc_t0 is not None:
            ms = (time.perf_counter() - self._gc_t0) * 1000.0
            self._gc_ms += ms
            self.gc_total_ms += ms
            self._gc_t0 = None

    def before_run(self) -> None:
        self._loop_thread = threading.get_ident()
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def after_run(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._gc_ms = 0.0
        if self.cpu_threshold_ms is not None:
            self._cpu_started[id(task)] = time.thread_time()
        self._started[id(task)] = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        t0 = self._started.pop(id(task), None)
        if t0 is None:
            return
        ms = (time.perf_counter() - t0) * 1000.0
        gc_ms, self._gc_ms = self._gc_ms, 0.0
        ms -= gc_ms
        cpu_ms: float | None = None
        c0 = self._cpu_started.pop(id(task), None)
        if c0 is not None:
            cpu_ms = max(0.0, (time.thread_time() - c0) * 1000.0 - gc_ms)
        self.steps += 1
        step = SlowStep(ms, task.name, gc_ms, cpu_ms)
        if len(self._worst) < self.keep:
            heapq.heappush(self._worst, step)
        elif ms > self._worst[0].duration_ms:
            heapq.heapreplace(self._worst, step)
        if cpu_ms is not None:
            self.max_cpu_ms = max(self.max_cpu_ms, cpu_ms)
        if ms > self.threshold_ms or (cpu_ms is not None and self.cpu_threshold_ms is not None
                                      and cpu_ms > self.cpu_threshold_ms):
            self.violations.append(step)
            if self.log_violations:
                log.warning(
                    "task step held the loop [task:%s ms:%.1f threshold_ms:%.0f]",
                    task.name, ms, self.threshold_ms,
                )

    @property
    def worst(self) -> list[SlowStep]:
        """The worst steps seen, longest first."""
        return sorted(self._worst, reverse=True)

    @property
    def max_step_ms(self) -> float:
        """The longest step seen, in ms (0.0 before any step)."""
        return max((s.duration_ms for s in self._worst), default=0.0)

    def report(self) -> str:
        """A short human-readable summary: step count, max, and each violation."""
        cpu = (f"; CPU worst {self.max_cpu_ms:.1f} ms (threshold {self.cpu_threshold_ms:.0f} ms)"
               if self.cpu_threshold_ms is not None else "")
        lines = [
            f"{self.steps} task steps, worst {self.max_step_ms:.1f} ms "
            f"(threshold {self.threshold_ms:.0f} ms){cpu}"
        ]
        for v in self.violations:
            gc_note = f" (+{v.gc_ms:.1f} ms GC)" if v.gc_ms else ""
            cpu_note = f" ({v.cpu_ms:.1f} ms CPU)" if v.cpu_ms is not None else ""
            lines.append(f"  {v.duration_ms:8.1f} ms{cpu_note}{gc_note}  {v.task_name}")
        return "\n".join(lines)
