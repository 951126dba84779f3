"""Per-upstream request counters for the dashboard and /metrics (no Prometheus here).

`call_with_retry` records every attempt: its upstream name, its outcome ("ok", "error" or
"rate_limited" for a 429) and its duration. Counters live per trio run (a `RunVar`, like
blocking's limiters), so tests that each call `trio.run` start from zero.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Final

import trio

#: Upper bounds (s) of the latency histogram buckets (Prometheus style, cumulative on export).
LATENCY_BUCKETS_S: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(slots=True)
class UpstreamCounters:
    """One upstream's totals since the run started.

    Attributes: requests (attempts), errors (failed attempts, 429s included), rate_limited
        (429 answers), latency_sum_s, latency_buckets (count per LATENCY_BUCKETS_S bucket,
        last one = above the largest bound), last_error (secret-free text or None).
    """

    requests: int = 0
    errors: int = 0
    rate_limited: int = 0
    latency_sum_s: float = 0.0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    last_error: str | None = None


_run_stats: trio.lowlevel.RunVar[dict[str, UpstreamCounters]] = trio.lowlevel.RunVar(
    "familybot_upstream_stats")


def stats() -> dict[str, UpstreamCounters]:
    """upstream name -> its counters in the current trio run (live objects; read only)."""
    try:
        return _run_stats.get()
    except LookupError:
        table: dict[str, UpstreamCounters] = {}
        _run_stats.set(table)
        return table


def record(upstream: str, outcome: str, duration_s: float, error: str | None = None) -> None:
    """Count one attempt. Args: outcome: "ok", "error" or "rate_limited"; duration_s >= 0."""
    c = stats().setdefault(upstream, UpstreamCounters())
    c.requests += 1
    if outcome != "ok":
        c.errors += 1
        c.last_error = error
    if outcome == "rate_limited":
        c.rate_limited += 1
    c.latency_sum_s += duration_s
    c.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS_S, duration_s)] += 1
