"""/healthz and /metrics of a running bot, and the route table's sign-in rule."""

from __future__ import annotations

import pytest
import trio
from starlette.routing import Route

from familybot_trio.schedule import Job, JobStatus, RunOutcome
from familybot_trio.web import PUBLIC_PATHS
from familybot_trio.web._health import overdue_jobs
from tests.web.conftest import ADMIN, METRICS_TOKEN, assert_no_secret, open_client


async def test_healthz_is_ok_when_ready_and_503_with_the_reason_when_not(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(20):
            ok = await client.get("/healthz")
            assert ok.status_code == 200, ok.text
            assert ok.json()["status"] == "ok" and ok.json()["gateway"] == "active"
            assert_no_secret(world, ok)
            await world.app.shard.close()          # the gateway session ends
            bad = await client.get("/healthz")
    assert bad.status_code == 503
    assert any("gateway is stopped" in r for r in bad.json()["reasons"])


def _status(name: str, *, next_run_at: float | None, ended_at: float | None = None,
            running: bool = False) -> JobStatus:
    last = None if ended_at is None else RunOutcome(name, True, None, False, ended_at - 1,
                                                    ended_at, 0.0, 1.0, 0, "schedule")
    return JobStatus(name, running, 1, 0, last, next_run_at, None)


def test_a_job_is_overdue_only_past_three_of_its_intervals() -> None:
    async def run(ctx: object) -> None:
        pass
    job = Job("deals", run, 100.0, 0.1, 50.0, 30.0, 100.0, None)
    waiting = _status("deals", next_run_at=1000.0)
    assert overdue_jobs([(job, waiting)], now=1299.0, started_at=0.0) == []
    assert overdue_jobs([(job, waiting)], now=1301.0, started_at=0.0) == [("deals", 301.0)]
    stuck = _status("deals", next_run_at=None, ended_at=500.0, running=True)  # hung run
    assert overdue_jobs([(job, stuck)], now=899.0, started_at=0.0) == []
    assert overdue_jobs([(job, stuck)], now=1000.0, started_at=0.0)[0][0] == "deals"


async def test_metrics_serve_the_bot_in_prometheus_format(start_dashboard) -> None:
    world = await start_dashboard(features=["admin", "free_games", "dashboard"])
    with trio.fail_after(30):
        handle = await world.discord.send_interaction("admin_refresh", {"what": "free"},
                                                      user_id=world.admin_id)
        await handle.wait_replies(1)
        await world.app.dashboard.commands.wait_for("admin_refresh", "ok")  # handler returned
        async with await open_client(world) as client:
            resp = await client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    for needle in ('familybot_loop_step_seconds_bucket{le="+Inf"}',
                   'familybot_job_runs_total{job="free_games"} 1.0',
                   'familybot_job_failures_total{job="free_games"} 0.0',
                   "familybot_outbox_pending ", "familybot_outbox_oldest_age_seconds ",
                   'familybot_upstream_requests_total{host="127.0.0.1:',
                   'upstream="epic"', "familybot_upstream_request_seconds_bucket",
                   "familybot_gateway_connected 1.0", "familybot_gateway_reconnects_total 0.0",
                   "familybot_gateway_resumes_total 0.0",
                   'familybot_commands_total{command="admin_refresh",outcome="ok"} 1.0',
                   'familybot_gc_collections_total{generation="0"}',
                   'familybot_gc_pause_seconds_total{generation="2"}'):
        assert needle in text, needle
    assert "excluding garbage-collection pauses" in text  # the histogram's HELP says so
    assert_no_secret(world, resp)


class _Task:
    name = "page"


def _frozen_perf_counter(monkeypatch) -> list[float]:
    """perf_counter of the step histogram and the detector, read from the returned cell."""
    import familybot_trio.loopblock as loopblock
    from familybot_trio.web import _steps

    clock = [0.0]
    monkeypatch.setattr(_steps.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(loopblock.time, "perf_counter", lambda: clock[0])
    return clock


def test_the_step_histogram_leaves_gc_pauses_out_like_the_detector(monkeypatch) -> None:
    from familybot_trio.loopblock import LoopBlockDetector
    from familybot_trio.web import _steps

    clock = _frozen_perf_counter(monkeypatch)
    hist, detector = _steps.StepHistogram(), LoopBlockDetector(threshold_ms=50)
    task = _Task()
    for inst in (hist, detector):
        inst.before_task_step(task)
    clock[0] = 0.001
    for inst in (hist, detector):
        inst._on_gc("start", {"generation": 2})
    clock[0] = 0.201                                  # a 200 ms full collection
    for inst in (hist, detector):
        inst._on_gc("stop", {"generation": 2, "collected": 0})
    clock[0] = 0.202
    for inst in (hist, detector):
        inst.after_task_step(task)
    bucket = _steps.STEP_BUCKETS_MS.index(2.5)         # 2 ms of the task's own time
    assert hist.counts[bucket] == 1 and sum(hist.counts) == 1
    assert abs(hist.total_s - 0.002) < 1e-9 and abs(detector.max_step_ms - 2.0) < 1e-6
    assert hist.gc_pauses == [0, 0, 1] and abs(hist.gc_seconds[2] - 0.2) < 1e-9


def test_a_worker_threads_collection_is_not_taken_out_of_the_loops_step(monkeypatch) -> None:
    """A collection in a worker thread (sqlite, the steam package) is not the step's pause:
    the step keeps its whole time. The histogram still counts it in gc_pauses."""
    import threading

    from familybot_trio.loopblock import LoopBlockDetector
    from familybot_trio.web import _steps

    clock = _frozen_perf_counter(monkeypatch)
    hist, detector = _steps.StepHistogram(), LoopBlockDetector(threshold_ms=10_000)
    hist.attach()           # on this (the "trio") thread, as the dashboard does
    detector.before_run()
    try:
        task = _Task()
        for inst in (hist, detector):
            inst.before_task_step(task)

        def worker_collects() -> None:   # gc.callbacks run on the collecting thread
            clock[0] = 0.001
            for inst in (hist, detector):
                inst._on_gc("start", {"generation": 2})
            clock[0] = 0.201
            for inst in (hist, detector):
                inst._on_gc("stop", {"generation": 2, "collected": 0})

        worker = threading.Thread(target=worker_collects)
        worker.start()
        worker.join()
        clock[0] = 0.202
        for inst in (hist, detector):
            inst.after_task_step(task)
    finally:
        hist.detach()
        detector.after_run()
    assert abs(detector.max_step_ms - 202.0) < 1e-6 and detector.worst[0].gc_ms == 0.0
    assert detector.gc_total_ms == 0.0
    assert hist.counts[_steps.STEP_BUCKETS_MS.index(250.0)] == 1 and sum(hist.counts) == 1
    assert abs(hist.total_s - 0.202) < 1e-9
    assert hist.gc_pauses == [0, 0, 1]   # /metrics still counts the pause


async def test_metrics_need_the_bearer_token_when_one_is_set(start_dashboard) -> None:
    world = await start_dashboard(metrics_token=METRICS_TOKEN)
    async with await open_client(world) as client:
        with trio.fail_after(20):
            refused = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
            ok = await client.get("/metrics",
                                  headers={"authorization": f"Bearer {METRICS_TOKEN}"})
    assert refused.status_code == 401 and "Bearer" in refused.text
    assert wrong.status_code == 401 and ok.status_code == 200
    assert METRICS_TOKEN not in refused.text + wrong.text + ok.text


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP",
                                    "X-Forwarded-Host", "X-Client-IP", "CF-Connecting-IP",
                                    "True-Client-IP"])
async def test_metrics_refuse_proxied_requests_without_a_token(start_dashboard,
                                                               header) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(20):
            proxied = await client.get("/metrics", headers={header: "8.8.8.8"})
            direct = await client.get("/metrics")
    assert proxied.status_code == 401 and "metrics_token" in proxied.text
    assert direct.status_code == 200


async def test_every_route_needs_a_session_except_health_and_sign_in(start_dashboard) -> None:
    world = await start_dashboard(metrics_token=METRICS_TOKEN)
    routes = [r for r in world.app.dashboard.routes() if isinstance(r, Route)]
    assert len(routes) >= 15
    checked = 0
    async with await open_client(world) as client:
        for route in routes:
            path = route.path.replace("{name}", "deals").replace("{id}", "1") \
                .replace("{token}", "x")
            for method in sorted(route.methods or {"GET"}):
                if method == "HEAD":
                    continue
                with trio.fail_after(20):
                    resp = await client.request(method, path)
                assert_no_secret(world, resp)
                if route.path == "/healthz" or \
                        any(route.path.startswith(p) for p in PUBLIC_PATHS if p != "/metrics"):
                    continue
                checked += 1
                if method == "GET" and route.path != "/metrics":
                    assert resp.status_code == 303, (method, path, resp.status_code)
                    assert resp.headers["location"].startswith("/auth/login?next=")
                else:
                    assert resp.status_code == 401, (method, path, resp.status_code)
    assert checked >= 12


async def test_every_response_carries_the_security_headers(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(20):
            for path in ("/healthz", "/auth/login", "/", "/nonexistent"):
                resp = await client.get(path)
                csp = resp.headers["content-security-policy"]
                assert "frame-ancestors 'none'" in csp and "script-src" not in csp
                assert "'unsafe-inline'" not in csp and "default-src 'none'" in csp
                assert resp.headers["referrer-policy"] == "no-referrer"
                assert resp.headers["x-frame-options"] == "DENY"


async def test_metrics_count_a_gateway_reconnect_and_resume(start_dashboard) -> None:
    world = await start_dashboard()
    with trio.fail_after(30):
        await world.discord.gateway.send_op(7)       # Discord asks the bot to reconnect
        await world.discord.gateway.wait_for_op(6)   # the bot RESUMEs
        # An interaction dispatched after RESUMED is handled after it (dispatch order).
        handle = await world.discord.send_interaction("admin_dashboard", user_id=ADMIN)
        await handle.wait_response()
        async with await open_client(world) as client:
            text = (await client.get("/metrics")).text
            health = await client.get("/healthz")
    assert "familybot_gateway_reconnects_total 1.0" in text
    assert "familybot_gateway_resumes_total 1.0" in text
    assert health.status_code == 200
