"""Nursery-supervised periodic jobs: jitter, per-run timeout, backoff, "run now", status.

Each job is an async callable `run(ctx)` registered under a name. `Scheduler.run` starts one
loop task per job in its own nursery and never returns unless cancelled. A job loop:

    wait until next_run (or a "run now" wake-up) -> run once under `move_on_after(timeout_s)`
    -> record the outcome -> pick the next delay -> repeat

- One job failing (any `Exception`, or its timeout) never stops another job or the bot: the
  failure is caught inside that job's loop, logged with its duration, and reported through
  `on_failure(job_name, exc, streak)` once per failure streak (the first failure). The next
  success resets the streak and calls `on_recovery(job_name, streak)`.
- Delays: after a success, `interval_s`; after the n-th failure in a row,
  `min(backoff_base_s * 2**(n-1), backoff_max_s)`. Every delay is then spread by
  `jitter` (a fraction): uniform in [d * (1 - jitter), d * (1 + jitter)], so jobs started
  together drift apart and a family of bots never hits Steam in the same second.
- Never two runs of one job at once: only the job's loop runs it. `run_now(name)` wakes the
  loop (or, if a run is in progress, waits for that run) and returns that run's outcome.
- `Cancelled` always propagates; callbacks are bounded by CALLBACK_TIMEOUT_S so a stuck
  admin DM cannot stall a job.

Times: trio time (`trio.current_time()`, seconds) for scheduling and durations, so tests run
on the autojump clock; wall time (`time.time()` by default, injectable) only for display.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import trio

from familybot_trio import logs

log = logging.getLogger("familybot_trio.schedule")

#: A run slower than this logs at WARNING instead of INFO.
SLOW_RUN_S: Final = 1.0
#: Upper bound for on_failure / on_recovery / record callbacks (an admin DM, a store write).
CALLBACK_TIMEOUT_S: Final = 30.0
#: last_error strings are cut to this many characters (they end up in admin DMs and the store).
MAX_ERROR_CHARS: Final = 300

JobFn = Callable[[Any], Awaitable[object]]
OnFailure = Callable[[str, BaseException, int], Awaitable[object]]
OnRecovery = Callable[[str, int], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Job:
    """One periodic job's definition (see `Scheduler.add` for the meaning of each field)."""

    name: str
    run: JobFn = field(repr=False)
    interval_s: float
    jitter: float
    timeout_s: float
    backoff_base_s: float
    backoff_max_s: float
    first_delay_s: float | None


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one run of a job did.

    Attributes: job (name); ok; error ("ExcType: message", redacted, <= 300 chars, or None);
    timed_out; started_at / ended_at (trio time, s); started_wall (Unix time, s);
    duration_s; streak (failure streak after this run: 0 when ok); trigger ("schedule" or
    "run_now").
    """

    job: str
    ok: bool
    error: str | None
    timed_out: bool
    started_at: float
    ended_at: float
    started_wall: float
    duration_s: float
    streak: int
    trigger: str


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A snapshot of one job for the admin status command and the console.

    Attributes: name; running; runs (count); failure_streak; last (the last RunOutcome or
    None: start/end, ok, error, duration); next_run_at (trio time, s, or None while running or
    before the scheduler started); next_run_wall (Unix time, s, or None).
    """

    name: str
    running: bool
    runs: int
    failure_streak: int
    last: RunOutcome | None
    next_run_at: float | None
    next_run_wall: float | None


class _Ticket:
    """One (future or current) run that `run_now` callers can wait for."""

    __slots__ = ("done", "outcome")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.outcome: RunOutcome | None = None


class _State:
    """Mutable per-job state, owned by that job's loop task."""

    __slots__ = ("job", "running", "runs", "streak", "last", "next_run_at", "wake",
                 "current", "upcoming", "trigger")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.running = False
        self.runs = 0
        self.streak = 0
        self.last: RunOutcome | None = None
        self.next_run_at: float | None = None
        self.wake = trio.Event()
        self.current: _Ticket | None = None
        self.upcoming = _Ticket()
        self.trigger = "schedule"


class Scheduler:
    """Runs registered jobs periodically inside its own nursery.

    Args: ctx: passed to every job as `run(ctx)` (the app context). on_failure: async
        `(job_name, exc, streak)` called once per failure streak (on its first failure;
        a timeout passes a `TimeoutError`). on_recovery: async `(job_name, streak)` called
        when a job succeeds after a streak of `streak` failures. record: async
        `(job, outcome)` called after every run (the app persists runs to the store).
        rng: a `random.Random` for jitter (tests seed it). wall_clock: `() -> Unix seconds`.
    """

    def __init__(
        self,
        ctx: object = None,
        *,
        on_failure: OnFailure | None = None,
        on_recovery: OnRecovery | None = None,
        record: Callable[[Job, RunOutcome], Awaitable[object]] | None = None,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.ctx = ctx
        self._on_failure = on_failure
        self._on_recovery = on_recovery
        self._record = record
        self._rng = rng or random.Random()
        self._wall = wall_clock
        self._states: dict[str, _State] = {}
        self._nursery: trio.Nursery | None = None

    def add(
        self,
        name: str,
        run: JobFn,
        *,
        interval_s: float,
        jitter: float = 0.1,
        timeout_s: float = 300.0,
        backoff_base_s: float = 30.0,
        backoff_max_s: float | None = None,
        first_delay_s: float | None = None,
    ) -> Job:
        """Register a job; if the scheduler is already running, start it at once.

        Args: name: unique, used in logs and `run_now`. run: async `run(ctx)`. interval_s:
            delay after a success (s, > 0). jitter: fraction in [0, 1) spreading every delay.
            timeout_s: a run longer than this is cancelled and counts as a failure.
            backoff_base_s: delay after the first failure, doubling per failure in a row.
            backoff_max_s: cap for that delay (default: max(interval_s, backoff_base_s)).
            first_delay_s: delay before the first run (not jittered); None = one jittered
            interval.
        Returns: the Job. Raises: ValueError for a duplicate name or an out-of-range number.
        """
        if name in self._states:
            raise ValueError(f"a job named {name!r} is already registered; pick another name")
        checks = {"interval_s": interval_s, "timeout_s": timeout_s,
                  "backoff_base_s": backoff_base_s}
        for key, value in checks.items():
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"job {name!r}: {key} must be a positive number, got {value!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"job {name!r}: jitter is a fraction in [0, 1), got {jitter!r}")
        if first_delay_s is not None and first_delay_s < 0:
            raise ValueError(f"job {name!r}: first_delay_s must be >= 0, got {first_delay_s!r}")
        cap = backoff_max_s if backoff_max_s is not None else max(interval_s, backoff_base_s)
        if cap < backoff_base_s:
            raise ValueError(f"job {name!r}: backoff_max_s ({cap}) < backoff_base_s "
                             f"({backoff_base_s}); raise the cap or lower the base")
        job = Job(name, run, float(interval_s), float(jitter), float(timeout_s),
                  float(backoff_base_s), float(cap), first_delay_s)
        self._states[name] = _State(job)
        if self._nursery is not None:
            self._nursery.start_soon(self._job_loop, self._states[name], name=f"job:{name}")
        return job

    @property
    def jobs(self) -> list[Job]:
        """The registered jobs, in registration order."""
        return [st.job for st in self._states.values()]

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> NoReturn:
        """Run every job (and jobs added later) until cancelled.

        Returns: never. Raises: nothing of the jobs' (they are caught per job).
        Cancellation: cancels every job loop and any run in progress; waiters in `run_now`
            get a RuntimeError.
        """
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for st in self._states.values():
                    nursery.start_soon(self._job_loop, st, name=f"job:{st.job.name}")
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for st in self._states.values():  # release run_now waiters (Event.set is sync)
                for ticket in (st.current, st.upcoming):
                    if ticket is not None:
                        ticket.done.set()
        raise AssertionError("unreachable")  # pragma: no cover

    async def run_now(self, name: str) -> RunOutcome:
        """Run a job now (or join the run in progress) and return that run's outcome.

        Args: name: a registered job. Returns: the RunOutcome (ok or not: failures are data).
        Raises: KeyError for an unknown job; RuntimeError when the scheduler is not running
            or stops before the run ends.
        Cancellation: cancelling the caller only stops waiting; the run itself goes on in the
            scheduler's nursery.
        """
        st = self._state(name)
        if self._nursery is None:
            raise RuntimeError(f"the scheduler is not running; cannot run {name!r} now")
        if st.current is not None:
            ticket = st.current
        else:
            ticket = st.upcoming
            st.trigger = "run_now"
            st.wake.set()
        await ticket.done.wait()
        if ticket.outcome is None:
            raise RuntimeError(f"the scheduler stopped before job {name!r} finished")
        return ticket.outcome

    def status(self, name: str) -> JobStatus:
        """A snapshot of one job. Raises: KeyError for an unknown job."""
        st = self._state(name)
        wall = None
        if st.next_run_at is not None:
            wall = self._wall() + max(0.0, st.next_run_at - trio.current_time())
        return JobStatus(st.job.name, st.running, st.runs, st.streak, st.last,
                         st.next_run_at, wall)

    def statuses(self) -> list[JobStatus]:
        """Snapshots of every job, in registration order."""
        return [self.status(name) for name in self._states]

    def _state(self, name: str) -> _State:
        try:
            return self._states[name]
        except KeyError:
            known = ", ".join(self._states) or "none"
            raise KeyError(f"no job named {name!r}; known jobs: {known}") from None

    def _spread(self, delay_s: float, jitter: float) -> float:
        return delay_s * (1.0 + self._rng.uniform(-jitter, jitter))

    def next_delay_s(self, job: Job, streak: int) -> float:
        """The un-jittered delay before the next run after a run leaving `streak` failures."""
        if streak == 0:
            return job.interval_s
        return min(job.backoff_base_s * 2.0 ** (streak - 1), job.backoff_max_s)

    async def _job_loop(self, st: _State) -> NoReturn:
        job = st.job
        first = job.first_delay_s
        delay = first if first is not None else self._spread(job.interval_s, job.jitter)
        while True:
            st.next_run_at = trio.current_time() + delay
            with trio.move_on_at(st.next_run_at):
                await st.wake.wait()
            st.wake = trio.Event()
            st.next_run_at = None
            outcome = await self._run_once(st)
            delay = self._spread(self.next_delay_s(job, outcome.streak), job.jitter)

    async def _run_once(self, st: _State) -> RunOutcome:
        job = st.job
        ticket, st.upcoming = st.upcoming, _Ticket()
        st.current, st.running = ticket, True
        trigger, st.trigger = st.trigger, "schedule"
        t0, wall0 = trio.current_time(), self._wall()
        error: BaseException | None = None
        timed_out = False
        try:
            with trio.move_on_after(job.timeout_s) as scope:
                await job.run(self.ctx)
            if scope.cancelled_caught:
                timed_out = True
                error = TimeoutError(f"job {job.name!r} ran longer than its timeout_s="
                                     f"{job.timeout_s:g} and was cancelled")
        except Exception as exc:  # one job's failure is data; Cancelled passes through
            error = exc
        finally:
            st.running = False  # st.current stays until the outcome is set (see run())
        t1 = trio.current_time()
        prev_streak = st.streak
        st.streak = 0 if error is None else prev_streak + 1
        st.runs += 1
        text = None
        if error is not None:
            text = logs.redact(f"{type(error).__name__}: {error}")[:MAX_ERROR_CHARS]
        outcome = RunOutcome(job.name, error is None, text, timed_out, t0, t1, wall0, t1 - t0,
                             st.streak, trigger)
        st.last = ticket.outcome = outcome
        st.current = None
        ticket.done.set()
        self._log(outcome, error, prev_streak)
        if error is not None and prev_streak == 0 and self._on_failure is not None:
            await self._callback("on_failure", self._on_failure, job.name, error, st.streak)
        if error is None and prev_streak > 0 and self._on_recovery is not None:
            await self._callback("on_recovery", self._on_recovery, job.name, prev_streak)
        if self._record is not None:
            await self._callback("record", self._record, job, outcome)
        return outcome

    def _log(self, o: RunOutcome, error: BaseException | None, prev_streak: int) -> None:
        if error is None:
            level = logging.WARNING if o.duration_s > SLOW_RUN_S else logging.INFO
            slow = " slowly" if o.duration_s > SLOW_RUN_S else ""
            log.log(level, "job ran%s [job:%s duration_s:%.3f trigger:%s recovered_from:%d]",
                    slow, o.job, o.duration_s, o.trigger, prev_streak)
            return
        delay = self.next_delay_s(self._states[o.job].job, o.streak)
        # The traceback once per streak; later failures of the same streak get one line.
        log.warning(
            "job failed, next try in ~%.0f s [job:%s duration_s:%.3f streak:%d timeout:%s "
            "cause:%s]", delay, o.job, o.duration_s, o.streak, o.timed_out, o.error,
            exc_info=error if prev_streak == 0 and not o.timed_out else None,
        )

    async def _callback(self, what: str, fn: Callable[..., Awaitable[object]], *args: object
                        ) -> None:
        with trio.move_on_after(CALLBACK_TIMEOUT_S) as scope:
            try:
                await fn(*args)
            except Exception:  # a broken reporter must not stop the job
                log.exception("schedule %s callback failed [job:%s]", what, args[0] if
                              isinstance(args[0], str) else getattr(args[0], "name", "?"))
        if scope.cancelled_caught:
            log.warning("schedule %s callback timed out after %.0f s", what, CALLBACK_TIMEOUT_S)
