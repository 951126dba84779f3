"""Operator pages (admins only): overview (gateway, loop, upstreams, warnings), jobs, outbox.

Actions are POSTs with the session's CSRF token and call what the admin commands call:
"run now" is `app.scheduler.run_now` (as /admin_refresh), retry and drop are
`familybot_trio.outbox.retry_outbox` / `drop_outbox` (as /admin_outbox and the CLI), each
checked the same way (admin only, the job registered, the row unsent).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from familybot_trio.outbox import channel_names, drop_outbox, list_outbox, retry_outbox
from familybot_trio.upstream import _stats
from familybot_trio.web._auth import Principal, require

if TYPE_CHECKING:
    from familybot_trio.web._server import Dashboard


def _when(ts: float | dt.datetime | None) -> str:
    if ts is None:
        return "—"
    when = ts if isinstance(ts, dt.datetime) else dt.datetime.fromtimestamp(ts, dt.UTC)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def _back(path: str, note: str) -> Response:
    return RedirectResponse(f"{path}?note={quote(note[:300])}", 303)


def routes(dash: Dashboard) -> list[BaseRoute]:
    """The operator pages and their POST actions (admins only)."""
    app = dash.app

    async def page(p: Principal, request: Request, name: str, context: dict[str, Any]
                   ) -> Response:
        assert dash.assets is not None
        return await dash.assets.page(name, {**dash.nav(p), "note":
                                             request.query_params.get("note", "")[:300],
                                             **context})

    @require(dash, admin=True)
    async def overview(request: Request, p: Principal) -> Response:
        shard = app.shard
        worst = dash.steps.worst
        detector = app.detector
        if detector is not None:
            worst = sorted({(s.duration_ms, s.task_name) for s in detector.worst}
                           | set(worst), reverse=True)[:10]
        upstreams = []
        for name, c in sorted(_stats.stats().items()):
            upstreams.append({"name": name, "requests": c.requests, "errors": c.errors,
                              "rate_limited": c.rate_limited,
                              "avg_ms": f"{c.latency_sum_s / c.requests * 1000:.0f}"
                              if c.requests else "—", "last_error": c.last_error or ""})
        return await page(p, request, "ops.html", {
            "gateway": {"state": shard.state.value, "latency": "—" if shard.latency_ms is None
                        else f"{shard.latency_ms:.0f} ms", "reconnects": shard.reconnects,
                        "resumes": app.gateway_events["RESUMED"], "sequence": shard.sequence},
            "steps": dash.steps.steps, "worst": [(f"{ms:.1f}", name) for ms, name in worst],
            "upstreams": upstreams,
            "warnings": [{"at": _when(e.at), "level": e.level, "logger": e.logger,
                          "message": e.message} for e in dash.logs.recent(50)]})

    @require(dash, admin=True)
    async def jobs(request: Request, p: Principal) -> Response:
        runs = {r.job: r for r in await app.store.state.runs()}
        rows = []
        for st in app.scheduler.statuses():
            last, stored = st.last, runs.get(st.name)
            outcome = "running" if st.running else ("not run yet" if last is None and stored
                                                     is None else "ok")
            if last is not None and not last.ok:
                outcome = f"failed: {last.error}"
            elif last is None and stored is not None and stored.last_error_at and \
                    (stored.last_ok_at is None or stored.last_error_at > stored.last_ok_at):
                outcome = f"failed: {stored.last_error}"
            rows.append({"name": st.name, "outcome": outcome, "runs": stored.runs if stored
                         else st.runs, "failures": stored.failures if stored else 0,
                         "last": _when(last.started_wall if last else
                                       (stored.last_ok_at if stored else None)),
                         "next": _when(st.next_run_wall), "streak": st.failure_streak})
        return await page(p, request, "jobs.html", {"rows": rows})

    @require(dash, admin=True)
    async def run_job(request: Request, p: Principal) -> Response:
        name = request.path_params["name"]
        if name not in [j.name for j in app.scheduler.jobs]:
            return _back("/ops/jobs", f"No job named {name} is registered.")
        try:
            outcome = await app.scheduler.run_now(name)
        except RuntimeError as exc:
            return _back("/ops/jobs", f"Could not run {name}: {exc}.")
        text = (f"{name} ran in {outcome.duration_s:.1f} s." if outcome.ok else
                f"{name} failed after {outcome.duration_s:.1f} s: {outcome.error}")
        return _back("/ops/jobs", text)

    @require(dash, admin=True)
    async def outbox(request: Request, p: Principal) -> Response:
        names = channel_names(app.config.channels)
        rows = [{"id": e.id, "kind": e.kind, "status": e.status,
                 "channel": names.get(e.channel_id, str(e.channel_id)),
                 "created": _when(e.created_at), "attempts": e.attempts,
                 "error": e.last_error or ""}
                for e in await list_outbox(app.store, status="unsent", limit=200)
                + await list_outbox(app.store, status="dropped", limit=50)]
        return await page(p, request, "outbox.html", {"rows": rows})

    def _row_id(request: Request) -> int | None:
        raw = request.path_params["id"]
        return int(raw) if raw.isdigit() and len(raw) < 19 else None

    @require(dash, admin=True)
    async def retry(request: Request, p: Principal) -> Response:
        """What /admin_outbox action:retry id:N does."""
        row = _row_id(request)
        done = await retry_outbox(app.store, [row]) if row is not None else []
        if done:
            app.wake_outbox()
        return _back("/ops/outbox", f"Retrying #{row}." if done else
                     f"#{row} is already sent or unknown.")

    @require(dash, admin=True)
    async def drop(request: Request, p: Principal) -> Response:
        """What /admin_outbox action:drop id:N does."""
        row = _row_id(request)
        done = await drop_outbox(app.store, [row], app.now()) if row is not None else []
        return _back("/ops/outbox", f"Dropped #{row}; it will not be posted." if done else
                     f"#{row} is already sent, dropped or unknown.")

    return [
        Route("/ops", overview, methods=["GET"]),
        Route("/ops/jobs", jobs, methods=["GET"]),
        Route("/ops/jobs/{name}/run", run_job, methods=["POST"]),
        Route("/ops/outbox", outbox, methods=["GET"]),
        Route("/ops/outbox/{id}/retry", retry, methods=["POST"]),
        Route("/ops/outbox/{id}/drop", drop, methods=["POST"]),
    ]
