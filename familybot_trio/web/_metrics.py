"""`GET /metrics`: the bot's state in Prometheus text format (prometheus_client).

The numbers already live in the running bot (scheduler, shard, outbox table, upstream
counters, the step histogram, command counters). A scrape reads them into a `Snapshot`
(async, store reads through the store's own thread policy), then a one-off
`CollectorRegistry` renders that snapshot with prometheus_client's metric families, so the
exposition format is the library's, never hand-written.

Metric names (all prefixed `familybot_`):
    loop_step_seconds (histogram; GC pauses left out, as the loop-block detector does),
    gc_collections_total / gc_pause_seconds_total {generation}, job_runs_total / job_failures_total {job},
    job_running {job}, outbox_pending (unsent: pending + failed), outbox_failed, outbox_oldest_age_seconds,
    upstream_requests_total / upstream_errors_total / upstream_rate_limited_total
    {upstream, host}, upstream_request_seconds (histogram) {upstream, host},
    gateway_connected, gateway_latency_seconds, gateway_reconnects_total,
    gateway_resumes_total, commands_total {command, outcome}, dashboard_sessions.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from familybot_trio.outbox import list_outbox
from familybot_trio.upstream import _stats
from familybot_trio.web._steps import STEP_BUCKETS_MS, StepHistogram

if TYPE_CHECKING:
    from familybot_trio.app import App
    from gateway import CommandRegistry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class CommandCounter:
    """Counts finished commands by (name, outcome) - outcome "ok" or "error"."""

    def __init__(self) -> None:
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._changed: trio.Event | None = None

    async def wait_for(self, name: str, outcome: str, count: int = 1) -> None:
        """Wait until `count` runs of command `name` ended with `outcome` (for tests)."""
        while self.counts[(name, outcome)] < count:
            if self._changed is None:
                self._changed = trio.Event()
            await self._changed.wait()

    def _count(self, name: str, outcome: str) -> None:
        self.counts[(name, outcome)] += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def instrument(self, registry: CommandRegistry) -> None:
        """Wrap every registered command's handler so each run is counted.

        The registry has no hook for this, so the Command records (frozen) are replaced by
        copies whose handler counts and then re-raises: the registry's own error handling
        (the "Sorry, ... failed" reply) is unchanged. Call once, after features set up.
        """
        table = registry._commands  # noqa: SLF001  (the registry keeps no public setter)
        for name, command in list(table.items()):
            if getattr(command.handler, "_familybot_counted", False):
                continue
            table[name] = dataclasses.replace(command, handler=self._wrap(name, command.handler))

    def _wrap(self, name: str, handler: Any) -> Any:
        @functools.wraps(handler)
        async def counted(ctx: Any) -> None:
            try:
                await handler(ctx)
            except Exception:
                self._count(name, "error")
                raise
            self._count(name, "ok")
        counted._familybot_counted = True  # type: ignore[attr-defined]
        return counted


@dataclass(slots=True)
class Snapshot:
    """What one scrape reports (see the module docstring for the metric names)."""

    steps: StepHistogram | None
    jobs: list[tuple[str, int, int, bool]] = field(default_factory=list)
    outbox_pending: int = 0
    outbox_failed: int = 0
    outbox_oldest_age_s: float = 0.0
    upstreams: dict[str, tuple[str, _stats.UpstreamCounters]] = field(default_factory=dict)
    gateway_connected: bool = False
    gateway_latency_s: float | None = None
    reconnects: int = 0
    resumes: int = 0
    commands: dict[tuple[str, str], int] = field(default_factory=dict)
    sessions: int = 0


async def take_snapshot(app: App, steps: StepHistogram | None, commands: CommandCounter
                        ) -> Snapshot:
    """Read the bot's numbers. Raises: StoreError (outbox, runs and sessions are read)."""
    from gateway import ShardState

    snap = Snapshot(steps)
    runs = {r.job: r for r in await app.store.state.runs()}
    for st in app.scheduler.statuses():
        r = runs.get(st.name)
        snap.jobs.append((st.name, r.runs if r else st.runs, r.failures if r else 0, st.running))
    unsent = await list_outbox(app.store, status="unsent", limit=10_000)  # oldest first
    now = app.now()
    snap.outbox_pending = len(unsent)
    snap.outbox_failed = sum(1 for e in unsent if e.status == "failed")
    if unsent:
        snap.outbox_oldest_age_s = max(0.0, (now - unsent[0].created_at).total_seconds())
    hosts = {name: urlsplit(url).netloc for name, url in app.config.upstreams.items()}
    snap.upstreams = {name: (hosts.get(name, name), c) for name, c in _stats.stats().items()}
    shard = app.shard
    snap.gateway_connected = shard.state is ShardState.ACTIVE
    snap.gateway_latency_s = None if shard.latency_ms is None else shard.latency_ms / 1000
    snap.reconnects = shard.reconnects
    snap.resumes = app.gateway_events["RESUMED"]
    snap.commands = dict(commands.counts)
    snap.sessions = await app.store.sessions.count(now)
    return snap


def _histogram(name: str, doc: str, labels: list[str], values: list[str],
               bounds: tuple[float, ...], counts: list[int], total: float) -> Iterator[Metric]:
    fam = HistogramMetricFamily(name, doc, labels=labels)
    cumulative, buckets = 0, []
    for bound, n in zip((*bounds, float("inf")), counts):
        cumulative += n
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
    fam.add_metric(values, buckets, total)
    yield fam


class _SnapshotCollector:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        s = self.snap
        if s.steps is not None:
            yield from _histogram(
                "familybot_loop_step_seconds", "trio task step durations (time a task held "
                "the event loop), excluding garbage-collection pauses inside the step, as "
                "the loop-block detector judges steps; the pauses are "
                "familybot_gc_pause_seconds_total", [], [],
                tuple(b / 1000 for b in STEP_BUCKETS_MS), s.steps.counts, s.steps.total_s)
            n = CounterMetricFamily("familybot_gc_collections", "Python garbage collections "
                                    "by generation (any thread)", labels=["generation"])
            t = CounterMetricFamily("familybot_gc_pause_seconds", "time Python garbage "
                                    "collections paused the process (every thread, the event "
                                    "loop included) by generation", labels=["generation"])
            for gen in range(3):
                n.add_metric([str(gen)], s.steps.gc_pauses[gen])
                t.add_metric([str(gen)], s.steps.gc_seconds[gen])
            yield from (n, t)
        runs = CounterMetricFamily("familybot_job_runs", "schedule runs", labels=["job"])
        fails = CounterMetricFamily("familybot_job_failures", "failed schedule runs",
                                    labels=["job"])
        running = GaugeMetricFamily("familybot_job_running", "1 while a run is in progress",
                                    labels=["job"])
        for name, n, f, is_running in s.jobs:
            runs.add_metric([name], n)
            fails.add_metric([name], f)
            running.add_metric([name], int(is_running))
        yield from (runs, fails, running)
        yield GaugeMetricFamily("familybot_outbox_pending", "unsent announcements (failed "
                                "ones included)",
                                value=s.outbox_pending)
        yield GaugeMetricFamily("familybot_outbox_failed", "unsent announcements that failed "
                                "at least once", value=s.outbox_failed)
        yield GaugeMetricFamily("familybot_outbox_oldest_age_seconds", "age of the oldest "
                                "unsent announcement (0 when none)", value=s.outbox_oldest_age_s)
        labels = ["upstream", "host"]
        req = CounterMetricFamily("familybot_upstream_requests", "upstream attempts",
                                  labels=labels)
        err = CounterMetricFamily("familybot_upstream_errors", "failed upstream attempts",
                                  labels=labels)
        rl = CounterMetricFamily("familybot_upstream_rate_limited", "429 answers",
                                 labels=labels)
        for name, (host, c) in sorted(s.upstreams.items()):
            req.add_metric([name, host], c.requests)
            err.add_metric([name, host], c.errors)
            rl.add_metric([name, host], c.rate_limited)
        yield from (req, err, rl)
        for name, (host, c) in sorted(s.upstreams.items()):
            yield from _histogram("familybot_upstream_request_seconds", "upstream attempt "
                                  "latency", labels, [name, host], _stats.LATENCY_BUCKETS_S,
                                  c.latency_buckets, c.latency_sum_s)
        yield GaugeMetricFamily("familybot_gateway_connected", "1 when READY or RESUMED",
                                value=int(s.gateway_connected))
        if s.gateway_latency_s is not None:
            yield GaugeMetricFamily("familybot_gateway_latency_seconds", "heartbeat ACK "
                                    "latency", value=s.gateway_latency_s)
        yield CounterMetricFamily("familybot_gateway_reconnects", "gateway connections that "
                                  "ended", value=s.reconnects)
        yield CounterMetricFamily("familybot_gateway_resumes", "sessions resumed",
                                  value=s.resumes)
        cmds = CounterMetricFamily("familybot_commands", "finished commands",
                                   labels=["command", "outcome"])
        for (name, outcome), n in sorted(s.commands.items()):
            cmds.add_metric([name, outcome], n)
        yield cmds
        yield GaugeMetricFamily("familybot_dashboard_sessions", "signed-in dashboard sessions",
                                value=s.sessions)


def render(snap: Snapshot) -> bytes:
    """The snapshot in Prometheus text exposition format (a few KB; cheap on the loop)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snap))  # type: ignore[arg-type]
    return generate_latest(registry)
