"""S6: resident memory of the bot, idle after `populate`, in its own process.

The sandbox (a child process) and FakeDiscord (a thread) serve as in _world.UpstreamThread;
the bot runs as the operator runs it: `familybot-trio token set`, `populate`, then `run`,
each `python -m familybot_trio ...` in a subprocess with the secrets in its environment.
Once FakeDiscord saw the bot's IDENTIFY, the bench waits `idle_s` and reads VmRSS (and the
peak, VmHWM) from /proc/<pid>/status: `rss_mb`, the S6 figure. Then it runs every job once
through the bot's console (`familybot-trio console`, as an operator would: steam, babel's
money formatting, the owned index and the worker threads are loaded by then), waits
`idle_s` again and reads VmRSS: `after_jobs_mb`, closer to what a bot that has run a day
holds. Then it stops the bot with SIGINT. The bot runs with `[dashboard] enabled` (its web
server, templates and metrics loaded).
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from bench._world import UpstreamThread
from familybot_trio import blocking
from familybot_trio.sandbox.world import BOT_TOKEN, write_config

#: S6 measures the bot with its web dashboard on (issue 15: the goal holds with it enabled).
DASHBOARD = '[dashboard]\nenabled = true\nlisten = "127.0.0.1:0"\n'


#: Typed into the bot's console: run every scheduled job once, in order.
RUN_EVERY_JOB = ("for job in app.scheduler.jobs: print(job.name, "
                 "(await app.scheduler.run_now(job.name)).ok)\n\n")


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB (Linux /proc)."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0])
    return out


async def s6_memory(*, latency_ms: float, idle_s: float, reps: int) -> dict[str, Any]:
    """Run populate once, then the bot `reps` times; returns rss_mb / hwm_mb / after_jobs_mb
    lists (MB = MiB, VmRSS / 1024)."""
    ups = UpstreamThread(latency_ms=latency_ms, heartbeat_interval_ms=41250)
    await blocking.run_sync("files", ups.start_blocking)
    out: dict[str, Any] = {"rss_mb": [], "hwm_mb": [], "after_jobs_mb": [], "idle_s": idle_s}
    try:
        with tempfile.TemporaryDirectory(prefix="familybot-bench-mem-") as tmp:
            cfg = await blocking.run_sync("files", functools.partial(
                write_config, Path(tmp) / "config.toml", ups.sandbox, ups.discord,
                Path(tmp) / "data", extra=DASHBOARD))
            env = dict(os.environ, FAMILYBOT_DISCORD_TOKEN=BOT_TOKEN,
                       FAMILYBOT_STEAM_API_KEY=ups.sandbox.api_key,
                       FAMILYBOT_ITAD_API_KEY=ups.sandbox.itad_key)
            cli = [sys.executable, "-m", "familybot_trio"]
            await trio.run_process([*cli, "token", "set", "--config", str(cfg)], env=env,
                                   stdin=ups.sandbox.access_token.encode(),
                                   capture_stdout=True, capture_stderr=True)
            t0 = time.perf_counter()
            await trio.run_process([*cli, "populate", "--config", str(cfg)], env=env,
                                   capture_stdout=True, capture_stderr=True)
            out["populate_s"] = time.perf_counter() - t0
            out["populate_requests"] = await blocking.run_sync("files",
                                                               ups.sandbox.total_requests)
            for _ in range(reps):
                identifies = ups.discord.gateway.identify_count
                proc = await trio.lowlevel.open_process(
                    [*cli, "run", "--config", str(cfg)], env=env,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    with trio.fail_after(60):
                        while ups.discord.gateway.identify_count == identifies:
                            if proc.poll() is not None:
                                raise RuntimeError(f"the bot exited with {proc.returncode} "
                                                   "before IDENTIFY")
                            await trio.sleep(0.05)
                    await trio.sleep(idle_s)
                    kb = await blocking.run_sync("files", _status_kb, proc.pid)
                    out["rss_mb"].append(kb["VmRSS"] / 1024)
                    out["hwm_mb"].append(kb["VmHWM"] / 1024)
                    ran = await trio.run_process([*cli, "console", "--config", str(cfg)],
                                                 env=env, stdin=RUN_EVERY_JOB.encode(),
                                                 capture_stdout=True, capture_stderr=True)
                    if b" False" in ran.stdout:
                        raise RuntimeError(f"a job failed: {ran.stdout.decode()[-2000:]}")
                    await trio.sleep(idle_s)
                    kb = await blocking.run_sync("files", _status_kb, proc.pid)
                    out["after_jobs_mb"].append(kb["VmRSS"] / 1024)
                finally:
                    proc.send_signal(signal.SIGINT)
                    with trio.move_on_after(20):
                        await proc.wait()
                    if proc.returncode is None:
                        proc.kill()
                        await proc.wait()
    finally:
        with trio.CancelScope(shield=True):
            await blocking.run_sync("files", ups.stop_blocking)
    return out
