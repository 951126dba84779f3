"""Scheduler behaviour on the autojump clock: virtual seconds, no real sleeping."""

from __future__ import annotations

import logging
import random

import pytest
import trio
import trio.testing

from familybot_trio.schedule import RunOutcome, Scheduler


class Boom(Exception):
    pass


def _times_recorder() -> tuple[list[float], object]:
    times: list[float] = []

    async def job(ctx: object) -> None:
        times.append(trio.current_time())

    return times, job


async def test_interval_and_jitter_bounds(autojump_clock: trio.testing.MockClock) -> None:
    times, job = _times_recorder()
    sched = Scheduler(rng=random.Random(7))
    sched.add("tick", job, interval_s=100, jitter=0.2, first_delay_s=5)
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        await nursery.start(sched.run)
        await trio.sleep(5 + 20 * 120)
        nursery.cancel_scope.cancel()
    assert times[0] == pytest.approx(t0 + 5)  # first delay is exact, not jittered
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 19
    assert all(80 - 1e-6 <= g <= 120 + 1e-6 for g in gaps), gaps
    assert len({round(g, 3) for g in gaps}) > 5  # jitter really spreads the gaps


async def test_default_first_run_is_one_jittered_interval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    times, job = _times_recorder()
    sched = Scheduler(rng=random.Random(1))
    sched.add("tick", job, interval_s=60, jitter=0.5)
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        await nursery.start(sched.run)
        await trio.sleep(95)
        nursery.cancel_scope.cancel()
    assert 30 <= times[0] - t0 <= 90


async def test_timeout_kills_hung_run_and_counts_as_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cancelled: list[bool] = []
    failures: list[tuple[str, str, int]] = []

    async def hung(ctx: object) -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.append(True)

    async def on_failure(name: str, exc: BaseException, streak: int) -> None:
        failures.append((name, type(exc).__name__, streak))

    sched = Scheduler(on_failure=on_failure)
    sched.add("hung", hung, interval_s=1000, jitter=0, timeout_s=10, first_delay_s=0)
    async with trio.open_nursery() as nursery:
        await nursery.start(sched.run)
        outcome = await sched.run_now("hung")  # joins the first run, started at t=0
        nursery.cancel_scope.cancel()
    assert cancelled == [True]
    assert not outcome.ok and outcome.timed_out
    assert outcome.duration_s == pytest.approx(10)
    assert "timeout_s=10" in (outcome.error or "")
    assert failures == [("hung", "TimeoutError", 1)]
    assert sched.status("hung").failure_streak == 1


async def test_backoff_grows_caps_and_resets(autojump_clock: trio.testing.MockClock) -> None:
    plan = [False, False, False, False, False, True, True, False]  # False = fail
    starts: list[float] = []

    async def flaky(ctx: object) -> None:
        starts.append(trio.current_time())
        ok = plan[len(starts) - 1] if len(starts) <= len(plan) else True
        if not ok:
            raise Boom("upstream said no")

    sched = Scheduler()
    sched.add("flaky", flaky, interval_s=1000, jitter=0, backoff_base_s=10,
              backoff_max_s=60, first_delay_s=0)
    async with trio.open_nursery() as nursery:
        await nursery.start(sched.run)
        await trio.sleep(10 + 20 + 40 + 60 + 60 + 1000 + 1000 + 5)
        nursery.cancel_scope.cancel()
    gaps = [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)]
    # fail x5: 10, 20, 40, 60 (cap), 60; ok: 1000; ok: 1000; then a fresh streak starts at 10
    assert gaps[:7] == [10, 20, 40, 60, 60, 1000, 1000]
    assert sched.status("flaky").failure_streak == 1
    assert sched.next_delay_s(sched.jobs[0], 1) == 10  # reset: back to the base


async def test_failure_reported_once_per_streak_and_recovery(
    autojump_clock: trio.testing.MockClock,
) -> None:
    results = iter([Boom("a"), Boom("b"), Boom("c"), None, None, Boom("d"), None])
    events: list[tuple] = []
    recorded: list[RunOutcome] = []

    async def job(ctx: object) -> None:
        exc = next(results)
        if exc is not None:
            raise exc

    async def on_failure(name: str, exc: BaseException, streak: int) -> None:
        events.append(("fail", name, str(exc), streak))

    async def on_recovery(name: str, streak: int) -> None:
        events.append(("recovered", name, streak))

    async def record(job: object, outcome: RunOutcome) -> None:
        recorded.append(outcome)

    sched = Scheduler(on_failure=on_failure, on_recovery=on_recovery, record=record)
    sched.add("j", job, interval_s=50, jitter=0, backoff_base_s=5, first_delay_s=0)
    async with trio.open_nursery() as nursery:
        await nursery.start(sched.run)
        for _ in range(7):
            await sched.run_now("j")
        nursery.cancel_scope.cancel()
    assert events == [("fail", "j", "a", 1), ("recovered", "j", 3),
                      ("fail", "j", "d", 1), ("recovered", "j", 1)]
    assert [o.ok for o in recorded] == [False, False, False, True, True, False, True]
    assert [o.streak for o in recorded] == [1, 2, 3, 0, 0, 1, 0]
    assert recorded[1].error == "Boom: b"


async def test_run_now_while_running_joins_that_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    release = trio.Event()
    entered = trio.Event()
    active = 0
    max_active = 0
    runs = 0

    async def slow(ctx: object) -> None:
        nonlocal active, max_active, runs
        active += 1
        max_active = max(max_active, active)
        runs += 1
        entered.set()
        await release.wait()
        active -= 1

    sched = Scheduler()
    sched.add("slow", slow, interval_s=1000, jitter=0, first_delay_s=1000)
    outcomes: list[RunOutcome] = []

    async def ask() -> None:
        outcomes.append(await sched.run_now("slow"))

    async with trio.open_nursery() as nursery:
        await nursery.start(sched.run)
        nursery.start_soon(ask)
        await entered.wait()
        assert sched.status("slow").running
        nursery.start_soon(ask)
        nursery.start_soon(ask)
        await trio.testing.wait_all_tasks_blocked()
        release.set()
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert runs == 1 and max_active == 1
    assert len(outcomes) == 3 and all(o is outcomes[0] for o in outcomes)
    assert outcomes[0].ok and outcomes[0].trigger == "run_now"


async def test_one_failing_job_does_not_affect_another(
    autojump_clock: trio.testing.MockClock,
) -> None:
    good_times, good = _times_recorder()

    async def bad(ctx: object) -> None:
        raise Boom("always")

    async def crashing_reporter(name: str, exc: BaseException, streak: int) -> None:
        raise RuntimeError("the admin DM failed too")

    sched = Scheduler(on_failure=crashing_reporter)
    sched.add("bad", bad, interval_s=10, jitter=0, backoff_base_s=1, backoff_max_s=2,
              first_delay_s=0)
    sched.add("good", good, interval_s=10, jitter=0, first_delay_s=0)
    async with trio.open_nursery() as nursery:
        await nursery.start(sched.run)
        await trio.sleep(95)
        nursery.cancel_scope.cancel()
    assert len(good_times) == 10
    assert sched.status("bad").runs > 40
    assert sched.status("good").failure_streak == 0


async def test_status_next_run_and_slow_warning(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def slowish(ctx: object) -> None:
        await trio.sleep(2)

    sched = Scheduler(wall_clock=lambda: 1_000_000.0)
    sched.add("slowish", slowish, interval_s=30, jitter=0, first_delay_s=0)
    caplog.set_level(logging.INFO, logger="familybot_trio.schedule")
    async with trio.open_nursery() as nursery:
        await nursery.start(sched.run)
        outcome = await sched.run_now("slowish")
        await trio.testing.wait_all_tasks_blocked()
        st = sched.status("slowish")
        nursery.cancel_scope.cancel()
    assert outcome.duration_s == pytest.approx(2)
    assert st.next_run_at == pytest.approx(outcome.ended_at + 30)
    assert st.next_run_wall == pytest.approx(1_000_000.0 + 30)
    assert st.last is outcome and not st.running and st.runs == 1
    slow = [r for r in caplog.records if "slowly" in r.getMessage()]
    assert slow and slow[0].levelno == logging.WARNING


async def test_cancellation_propagates_and_releases_waiters(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def forever(ctx: object) -> None:
        await trio.sleep_forever()

    sched = Scheduler()
    sched.add("forever", forever, interval_s=10, timeout_s=1e9, first_delay_s=0)
    errors: list[str] = []

    async def ask() -> None:
        try:
            await sched.run_now("forever")
        except RuntimeError as exc:
            errors.append(str(exc))

    async with trio.open_nursery() as outer:
        sched_scope = trio.CancelScope()

        async def scheduler() -> None:
            with sched_scope:
                await sched.run()

        outer.start_soon(scheduler)
        await trio.testing.wait_all_tasks_blocked()
        outer.start_soon(ask)
        await trio.sleep(5)
        sched_scope.cancel()  # stop only the scheduler; the waiter must be released
    assert sched_scope.cancelled_caught  # Cancelled went through run() untouched
    assert errors == ["the scheduler stopped before job 'forever' finished"]


async def test_add_validates() -> None:
    sched = Scheduler()

    async def job(ctx: object) -> None:
        return None

    sched.add("a", job, interval_s=1)
    with pytest.raises(ValueError, match="already registered"):
        sched.add("a", job, interval_s=1)
    with pytest.raises(ValueError, match="jitter"):
        sched.add("b", job, interval_s=1, jitter=1.5)
    with pytest.raises(ValueError, match="interval_s"):
        sched.add("c", job, interval_s=0)
    with pytest.raises(KeyError, match="known jobs: a"):
        sched.status("zzz")
    with pytest.raises(RuntimeError, match="not running"):
        await sched.run_now("a")


async def test_job_added_while_running_starts_and_runs_now(
    autojump_clock: trio.testing.MockClock,
) -> None:
    times, job = _times_recorder()
    sched = Scheduler()
    async with trio.open_nursery() as nursery:
        await nursery.start(sched.run)  # no jobs yet: the scheduler just waits
        sched.add("late", job, interval_s=60, jitter=0, first_delay_s=3600)
        t0 = trio.current_time()
        outcome = await sched.run_now("late")
        await trio.sleep(61)
        nursery.cancel_scope.cancel()
    assert outcome.ok and outcome.trigger == "run_now" and outcome.started_at == t0
    assert times == [t0, t0 + 60]  # after a run_now the interval counts from that run
