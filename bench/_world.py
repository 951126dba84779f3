"""A bench world: sandbox + FakeDiscord in their own thread, the real App on the bench loop.

`World` in familybot_trio.sandbox.world serves the fakes on the bot's own loop with
Discord's 41.25 s heartbeat. A benchmark needs (1) upstreams that still answer while the
baseline blocks the loop, so they run in `UpstreamThread`, and (2) many heartbeats in a few
seconds, so FakeDiscord gets a short `heartbeat_interval_ms`. The pieces are the same
(write_config, load_config, App), so the bot runs exactly as in the demo and the tests.

`BotStepDetector` is the package's LoopBlockDetector restricted to the bot's own tasks: a
task counts when it descends from one of `roots` (the App.run task, the baseline's refresh
task); the bench driver's own steps (purging caches, reading counters) are kept apart in
`all_max_step_ms`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from familybot_trio import blocking
from familybot_trio.app import App
from bench._sandbox_proc import SandboxProcess
from familybot_trio.config import Config, load_config
from familybot_trio.loopblock import LoopBlockDetector
from familybot_trio.sandbox.world import BOT_TOKEN, write_config
from gateway.testing import FakeDiscord


class BotStepDetector(LoopBlockDetector):
    """Times steps of tasks that descend from `roots` only (see module docstring).

    Also keeps `all_max_step_ms`: the worst step of any task (sandbox and fakes included).
    """

    def __init__(self) -> None:
        super().__init__(threshold_ms=1e9)
        self.roots: set[trio.lowlevel.Task] = set()
        self._is_bot: dict[trio.lowlevel.Task, bool] = {}
        self.all_max_step_ms = 0.0

    def _belongs(self, task: trio.lowlevel.Task) -> bool:
        known = self._is_bot.get(task)
        if known is not None:
            return known
        t: trio.lowlevel.Task | None = task
        found = False
        while t is not None:
            if t in self.roots:
                found = True
                break
            nursery = t.parent_nursery
            t = nursery.parent_task if nursery is not None else None
        self._is_bot[task] = found
        return found

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        """Forget the task's membership (trio Instrument hook)."""
        self._is_bot.pop(task, None)

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if self._belongs(task):
            super().after_task_step(task)
        else:  # still consume the start mark; remember the worst foreign step
            t0 = self._started.pop(id(task), None)
            if t0 is not None:
                ms = (time.perf_counter() - t0) * 1000.0 - self._gc_ms
                self.all_max_step_ms = max(self.all_max_step_ms, ms)
            self._gc_ms = 0.0

    def reset(self) -> None:
        """Forget every step seen so far (keeps the roots)."""
        self.steps = 0
        self.violations.clear()
        self._worst.clear()
        self.all_max_step_ms = 0.0


class UpstreamThread:
    """The sandbox (child process) and FakeDiscord (own thread and trio run).

    The baseline blocks the bot's loop on purpose; upstreams served on that loop could not
    answer it (a deadlock), and a FakeDiscord on a blocked loop could not time the heartbeats
    it receives. FakeDiscord runs in a thread (sockets release the GIL, and the bench reads
    what it recorded directly); the sandbox, which does real CPU work per request, runs in
    a process (_sandbox_proc.py). Each has its own trio clock.
    """

    def __init__(self, *, latency_ms: float, heartbeat_interval_ms: int) -> None:
        self.sandbox = SandboxProcess(latency_ms=latency_ms)
        self.discord = FakeDiscord(token=BOT_TOKEN, heartbeat_interval_ms=heartbeat_interval_ms,
                                   run_sync=functools.partial(blocking.run_sync, "files"))
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="bench-discord", daemon=True)

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:  # reported to start_blocking
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            self._scope = scope
            async with trio.open_nursery() as nursery:
                await nursery.start(self.discord.serve)
                self._ready.set()
                await trio.sleep_forever()

    def start_blocking(self) -> None:
        """Start both; return once both listen (blocking: run in a thread).

        Raises: RuntimeError when a server failed or took over 60 s to start.
        """
        self.sandbox.start()
        self._thread.start()
        if not self._ready.wait(60) or self._error is not None:
            raise RuntimeError(f"bench FakeDiscord did not start: {self._error!r}")

    def stop_blocking(self) -> None:
        """Stop FakeDiscord and the sandbox process (blocking: run in a thread)."""
        if self._token is not None and self._scope is not None:
            try:
                trio.from_thread.run_sync(self._scope.cancel, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join(30)
        self.sandbox.close()


@dataclass
class BenchWorld:
    """A running world: sandbox, discord (FakeDiscord), app, config, tmp, upstreams."""

    sandbox: SandboxProcess
    discord: FakeDiscord
    app: App
    config: Config
    tmp: Path
    upstreams: UpstreamThread
    app_task: trio.lowlevel.Task | None = None
    app_done: trio.Event | None = None

    async def total_requests(self) -> int:
        """Upstream requests the sandbox received since the last reset."""
        return await blocking.run_sync("files", self.sandbox.total_requests)

    async def reset_counts(self) -> None:
        """Zero the sandbox's request counters."""
        await blocking.run_sync("files", self.sandbox.reset_counts)

    @property
    def heartbeat_interval_s(self) -> float:
        return self.discord.gateway.heartbeat_interval_ms / 1000.0

    def heartbeats_seen(self) -> int:
        """Heartbeats FakeDiscord received so far (a mark for heartbeat_late_ms)."""
        return sum(1 for r in list(self.discord.gateway.received) if r.op == 1)

    def heartbeat_late_ms(self, since_beat: int = 0) -> list[float]:
        """Lateness of each heartbeat after the `since_beat`-th one, in ms (FakeDiscord's clock).

        A beat's lateness is its gap to the previous beat minus the interval the fake asked
        for in HELLO, floored at 0: the shard keeps a fixed schedule, so a late beat is
        followed by a short gap, which is not "early" in any useful sense.
        """
        times = [r.at for r in list(self.discord.gateway.received) if r.op == 1]
        interval = self.heartbeat_interval_s
        first = max(1, since_beat)
        return [max(0.0, (times[i] - times[i - 1]) - interval) * 1000.0
                for i in range(first, len(times))]


async def start_world(tmp: Path, *, latency_ms: float, heartbeat_interval_ms: int = 41250,
                      features: Sequence[str] | None = None,
                      task_status: trio.TaskStatus[BenchWorld] = trio.TASK_STATUS_IGNORED
                      ) -> None:
    """Serve the sandbox (a process, rate limits off) and FakeDiscord (a thread); run the App.

    Calls task_status.started(world) once the bot is READY; runs until cancelled. The
    sandbox's rate limits are off: the baseline makes one storefront request per app and
    would otherwise spend the run waiting out 429s, which measures the limit, not the code.
    """
    ups = UpstreamThread(latency_ms=latency_ms, heartbeat_interval_ms=heartbeat_interval_ms)
    await blocking.run_sync("files", ups.start_blocking)
    try:
        sandbox, discord = ups.sandbox, ups.discord
        data_dir = tmp / "data"
        cfg_path = await blocking.run_sync("files", functools.partial(
            write_config, tmp / "config.toml", sandbox, discord, data_dir))
        env = {"FAMILYBOT_DISCORD_TOKEN": BOT_TOKEN,
               "FAMILYBOT_STEAM_API_KEY": sandbox.api_key,
               "FAMILYBOT_ITAD_API_KEY": sandbox.itad_key}
        config = await blocking.run_sync("files", lambda: load_config(cfg_path, env))
        app = App(config, features=features)
        world = BenchWorld(sandbox, discord, app, config, tmp, ups)

        async def run_app(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
                          ) -> None:
            world.app_task = trio.lowlevel.current_task()
            world.app_done = trio.Event()
            try:
                await app.run(task_status=task_status)
            finally:
                world.app_done.set()

        async with trio.open_nursery() as nursery:
            await nursery.start(run_app)
            await app.tokens.set(sandbox.access_token)
            task_status.started(world)
            await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await blocking.run_sync("files", ups.stop_blocking)


async def stop_world(world: BenchWorld, nursery: trio.Nursery) -> None:
    """Stop the bot (gateway close 1000), then cancel the world's nursery."""
    await world.app.stop()
    if world.app_done is not None:
        with trio.move_on_after(15):
            await world.app_done.wait()
    nursery.cancel_scope.cancel()
