"""`GET /healthz`: is the bot really working? 200 or 503 with the reason, nothing private.

Healthy means both:
- the gateway session is live: the shard is ACTIVE (READY or RESUMED received), and
- no schedule is overdue by more than OVERDUE_INTERVALS of its own interval. A job is due at
  its next planned run; while it waits that lies in the future. A job whose loop is stuck
  (a run hanging far past its interval, or the scheduler gone) falls behind its due time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from familybot_trio.app import App
    from familybot_trio.schedule import Job, JobStatus

#: A job this many of its intervals past its due time makes the bot unhealthy.
OVERDUE_INTERVALS: Final = 3


@dataclass(frozen=True, slots=True)
class Health:
    """The verdict. Attributes: ok; reasons (empty when ok); body (the JSON served)."""

    ok: bool
    reasons: tuple[str, ...]
    body: dict[str, Any]


def overdue_jobs(jobs: Iterable[tuple[Job, JobStatus]], now: float, started_at: float
                 ) -> list[tuple[str, float]]:
    """Jobs past their due time by more than OVERDUE_INTERVALS intervals.

    Args: jobs: (definition, status) pairs; now, started_at: trio time (s); started_at is
        when health checks began (the due time of a job that never ran to the end).
    Returns: (job name, seconds overdue), in the order given.
    """
    late = []
    for job, st in jobs:
        if st.next_run_at is not None:
            due = st.next_run_at
        elif st.last is not None:  # running now: it was due one interval after the last run
            due = st.last.ended_at + job.interval_s
        else:
            due = started_at + (job.first_delay_s or 0.0) + job.interval_s
        behind = now - due
        if behind > OVERDUE_INTERVALS * job.interval_s:
            late.append((job.name, behind))
    return late


def check(app: App, now: float, started_at: float) -> Health:
    """Judge the running app (no I/O: reads the shard and the scheduler in memory)."""
    from gateway import ShardState

    reasons = []
    state = app.shard.state
    if state is not ShardState.ACTIVE:
        reasons.append(f"gateway is {state.value}, not connected (READY/RESUMED)")
    pairs = [(job, app.scheduler.status(job.name)) for job in app.scheduler.jobs]
    for name, behind in overdue_jobs(pairs, now, started_at):
        reasons.append(f"job {name} is overdue by {behind:.0f} s")
    body = {"status": "ok" if not reasons else "unhealthy", "gateway": state.value,
            "jobs": len(pairs), "reasons": reasons}
    return Health(not reasons, tuple(reasons), body)
