"""The loop-block detector: a trio Instrument that times every task step.

A trio task runs on the event loop from one `await` to the next (a "step"). A step that
takes long means nothing else ran meanwhile: no heartbeat, no reader, no command. This
instrument measures each step with `time.perf_counter` (real time) and keeps:

- the worst steps (task name, duration) for `lag()` in the console and the bot's log, and
- every step over `threshold_ms` as a violation; the test suite fails a test that has any.

The threshold comes from FAMILYBOT_LOOP_BLOCK_MS (default 50 ms).
"""

from __future__ import annotations

import heapq
import logging
import os
import time
from dataclasses import dataclass
from typing import Final

import trio

log = logging.getLogger("familybot_trio.loopblock")

DEFAULT_THRESHOLD_MS: Final = 50.0
ENV_THRESHOLD: Final = "FAMILYBOT_LOOP_BLOCK_MS"


def threshold_from_env() -> float:
    """Threshold in ms from FAMILYBOT_LOOP_BLOCK_MS, else 50.

    Raises: ValueError naming the variable when it is not a positive number.
    """
    raw = os.environ.get(ENV_THRESHOLD)
    if raw is None or raw == "":
        return DEFAULT_THRESHOLD_MS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV_THRESHOLD}={raw!r} is not a number of milliseconds") from None
    if value <= 0:
        raise ValueError(f"{ENV_THRESHOLD}={raw!r} must be > 0 milliseconds")
    return value


@dataclass(frozen=True, slots=True, order=True)
class SlowStep:
    """One task step that held the loop: duration_ms first so steps sort by it."""

    duration_ms: float
    task_name: str


class LoopBlockDetector(trio.abc.Instrument):
    """Times every task step; records the worst ones and those over the threshold.

    Args: threshold_ms: a step longer than this is a violation; keep: how many worst
        steps to remember; log_violations: log each violation at WARNING (the bot does,
        tests collect them instead).
    """

    def __init__(
        self, threshold_ms: float | None = None, *, keep: int = 10, log_violations: bool = False
    ) -> None:
        self.threshold_ms = threshold_ms if threshold_ms is not None else threshold_from_env()
        self.keep = keep
        self.log_violations = log_violations
        self.steps = 0
        self.violations: list[SlowStep] = []
        self._worst: list[SlowStep] = []  # min-heap of the `keep` worst steps
        self._started: dict[int, float] = {}

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._started[id(task)] = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        t0 = self._started.pop(id(task), None)
        if t0 is None:
            return
        ms = (time.perf_counter() - t0) * 1000.0
        self.steps += 1
        step = SlowStep(ms, task.name)
        if len(self._worst) < self.keep:
            heapq.heappush(self._worst, step)
        elif ms > self._worst[0].duration_ms:
            heapq.heapreplace(self._worst, step)
        if ms > self.threshold_ms:
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
        lines = [
            f"{self.steps} task steps, worst {self.max_step_ms:.1f} ms "
            f"(threshold {self.threshold_ms:.0f} ms)"
        ]
        for v in self.violations:
            lines.append(f"  {v.duration_ms:8.1f} ms  {v.task_name}")
        return "\n".join(lines)
