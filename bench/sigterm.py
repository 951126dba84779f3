"""S9: how long `familybot-trio run` takes to exit after SIGTERM, with nothing in flight.

The operator's path, as S6 (bench/memory.py) runs it: the sandbox (child process) and
FakeDiscord (a thread) from `_world.UpstreamThread`, the config from
`sandbox.world.write_config`, then `familybot-trio token set`, `populate` and `run` as
subprocesses (`python -m familybot_trio`). Each repetition starts `run`, waits until
FakeDiscord saw its IDENTIFY, then `idle_s` more (start-up jobs done: nothing in flight),
sends SIGTERM and times until the process has exited (trio's `Process.wait`, a pidfd on
Linux). It records the exit code (0 expected) and the close code FakeDiscord's gateway
received from that connection (1000 expected: the session ends; 4000 or none would mean
the close never went out, and Discord would keep the session alive).

Also `python -m bench.sigterm [--quick]` on its own (writes bench/results/s9.json).
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

from bench._cli import scenario_main
from bench._world import UpstreamThread
from familybot_trio import blocking
from familybot_trio.sandbox.world import BOT_TOKEN, write_config

CLI = (sys.executable, "-m", "familybot_trio")


async def _prepared(ups: UpstreamThread, tmp: Path) -> tuple[Path, dict[str, str]]:
    """Config for the running upstreams, the secrets' environment, token set + populate."""
    cfg = await blocking.run_sync("files", functools.partial(
        write_config, tmp / "config.toml", ups.sandbox, ups.discord, tmp / "data"))
    env = dict(os.environ, FAMILYBOT_DISCORD_TOKEN=BOT_TOKEN,
               FAMILYBOT_STEAM_API_KEY=ups.sandbox.api_key,
               FAMILYBOT_ITAD_API_KEY=ups.sandbox.itad_key)
    await trio.run_process([*CLI, "token", "set", "--config", str(cfg)], env=env,
                           stdin=ups.sandbox.access_token.encode(),
                           capture_stdout=True, capture_stderr=True)
    await trio.run_process([*CLI, "populate", "--config", str(cfg)], env=env,
                           capture_stdout=True, capture_stderr=True)
    return cfg, env


async def _one_stop(ups: UpstreamThread, cfg: Path, env: dict[str, str], idle_s: float,
                    log: Path) -> tuple[float, int | None, int | None]:
    """Start `run`, idle, SIGTERM; returns (seconds to exit, exit code, close code seen)."""
    gateway = ups.discord.gateway
    identifies, closes = gateway.identify_count, len(gateway.client_close_codes)
    with open(log, "ab") as err:
        proc = await trio.lowlevel.open_process([*CLI, "run", "--config", str(cfg)], env=env,
                                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        with trio.fail_after(60):
            while gateway.identify_count == identifies:
                if proc.poll() is not None:
                    raise RuntimeError(f"the bot exited with {proc.returncode} before "
                                       f"IDENTIFY; its stderr is in {log}")
                await trio.sleep(0.05)
        await trio.sleep(idle_s)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        with trio.move_on_after(20):
            await proc.wait()
        exit_s = time.perf_counter() - t0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    with trio.move_on_after(2):  # FakeDiscord's thread records the close it read
        while len(gateway.client_close_codes) == closes:
            await trio.sleep(0.01)
    codes = gateway.client_close_codes[closes:]
    return exit_s, proc.returncode, (codes[0] if codes else None)


async def s9_sigterm(*, latency_ms: float, idle_s: float, reps: int) -> dict[str, Any]:
    """Run populate once, then `reps` start/SIGTERM cycles of `familybot-trio run`.

    Returns raw lists: exit_s (seconds from SIGTERM to exit), exit_codes, close_codes.
    """
    ups = UpstreamThread(latency_ms=latency_ms, heartbeat_interval_ms=41250)
    await blocking.run_sync("files", ups.start_blocking)
    out: dict[str, Any] = {"exit_s": [], "exit_codes": [], "close_codes": [], "idle_s": idle_s}
    try:
        with tempfile.TemporaryDirectory(prefix="familybot-bench-sigterm-") as tmp:
            cfg, env = await _prepared(ups, Path(tmp))
            for _ in range(reps):
                exit_s, code, close = await _one_stop(ups, cfg, env, idle_s,
                                                      Path(tmp) / "run.stderr")
                out["exit_s"].append(exit_s)
                out["exit_codes"].append(code)
                out["close_codes"].append(close)
    finally:
        with trio.CancelScope(shield=True):
            await blocking.run_sync("files", ups.stop_blocking)
    return out


def figures(raw: dict[str, Any]) -> dict[str, Any]:
    """Raw S9 lists -> s9_* keys (median exit time, every sample, codes)."""
    times = sorted(raw["exit_s"])
    return {"s9_sigterm_exit_s": round(times[len(times) // 2], 3),
            "s9_sigterm_exit_s_all": [round(x, 3) for x in raw["exit_s"]],
            "s9_exit_codes": raw["exit_codes"],
            "s9_close_codes": [None if k is None else int(k) for k in raw["close_codes"]],
            "s9_clean_stops": sum(1 for c, k in zip(raw["exit_codes"], raw["close_codes"])
                                  if c == 0 and k == 1000),
            "s9_idle_s": raw["idle_s"]}


async def _standalone(quick: bool) -> dict[str, Any]:
    return figures(await s9_sigterm(latency_ms=0 if quick else 100.0,
                                    idle_s=1.0 if quick else 3.0, reps=2 if quick else 5))


if __name__ == "__main__":
    scenario_main("python -m bench.sigterm", __doc__.split("\n")[0], "s9",
                  "2 stops, 1 s idle, no latency", _standalone)
