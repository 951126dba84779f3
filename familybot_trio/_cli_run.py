"""`familybot-trio run`: the bot, its debug console and signal handling in one nursery.

    trio.run
    └── run_bot                      the CLI's root nursery
        ├── signal watcher           SIGINT/SIGTERM: 1st -> App.stop(), 2nd -> exit at once
        ├── App.run                  the bot (gateway, handlers, schedules, outbox)
        └── serve_console            debug REPL on <data_dir>/console.sock

The console is wired here, beside App.run, so app.py needs no hook: its namespace is built
from the App's live attributes once App.run reported READY. When App.run returns (clean
stop) or raises (fatal close code, store failure), the whole nursery is cancelled.

The data directory holds `familybot.lock` while the bot runs: an exclusive flock (released
by the kernel even if the process is killed) whose text is the pid. `db restore` and a
second `run` on the same data directory test it and refuse.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import trio

from familybot_trio import blocking, console, logs
from familybot_trio.app import App
from familybot_trio.config import Config, Secrets
from familybot_trio.errors import FamilybotError
from familybot_trio.loopblock import LoopBlockDetector

log = logging.getLogger("familybot_trio.cli")

LOCK_FILE: Final = "familybot.lock"
CONSOLE_SOCKET: Final = "console.sock"
#: Exit status after a second signal (128 + SIGINT, the shell's convention).
EXIT_AT_ONCE: Final = 130


class BotRunning(FamilybotError):
    """Another process holds the data directory's lock (a bot is running there)."""


def lock_path(config: Config) -> Path:
    """`<data_dir>/familybot.lock`."""
    return config.data_dir / LOCK_FILE


def console_path(config: Config) -> Path:
    """`<data_dir>/console.sock`."""
    return config.data_dir / CONSOLE_SOCKET


def acquire_lock(path: Path) -> int:
    """Blocking: take the exclusive lock at `path` and write our pid into it.

    Returns: the open file descriptor (the lock lives as long as it stays open).
    Raises: BotRunning naming the pid that holds it.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise BotRunning(f"a bot (pid {holder}) is running on {path.parent}; stop it first "
                         "(systemctl stop familybot-trio, or Ctrl-C)") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def release_lock(fd: int, path: Path) -> None:
    """Blocking: drop the lock, remove the file (best effort)."""
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def is_bot_running(config: Config) -> bool:
    """Blocking: True when a process holds `<data_dir>/familybot.lock`."""
    path = lock_path(config)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def masked(config: Config) -> Config:
    """The config with every secret replaced by "" (what the console shows)."""
    return dataclasses.replace(config, secrets=Secrets())


def console_namespace(app: App, config: Config, detector: LoopBlockDetector) -> dict[str, Any]:
    """Names the debug console offers; the objects are the live ones.

    Returns: {app, store, shard, rest, scheduler, config (secrets masked), tasks, run_job,
        lag, trio}. `help` is added by each console session.
    """
    return {
        "app": app, "store": app.store, "shard": app.shard, "rest": app.rest,
        "scheduler": app.scheduler, "config": masked(config), "tasks": console.tasks,
        "run_job": app.scheduler.run_now, "lag": lambda: console.lag(detector), "trio": trio,
    }


async def run_bot(config: Config, detector: LoopBlockDetector, *,
                  features: Sequence[str] | None = None) -> None:
    """Run the bot with its console until a signal or a fatal error stops it.

    Args: config: validated, secrets required; detector: the instrument trio.run installed
        (the console's `lag()` reads it); features: feature modules to set up (None: all).
    Raises: BotRunning; whatever App.run raises (FatalCloseError, StoreError, ConfigError),
        inside an ExceptionGroup from the root nursery.
    Cancellation: a first SIGINT/SIGTERM asks App.stop() (gateway close 1000, schedules
        cancelled, store closed); a second one exits the process at once (status 130).
    """
    fd = await blocking.run_sync("files", acquire_lock, lock_path(config))
    try:
        app = App(config, detector=detector, features=features)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_watch_signals, signals, app, nursery.cancel_scope,
                                   name="signal watcher")
                await nursery.start(_run_app, app, nursery.cancel_scope)
                token = app.tokens.peek()
                if token is not None:
                    logs.add_secret(token.value)
                await _start_console(nursery, app, config, detector)
                log.info("bot running; Ctrl-C or SIGTERM stops it [pid:%d]", os.getpid())
    finally:
        with trio.move_on_after(2, shield=True):
            await blocking.run_sync("files", release_lock, fd, lock_path(config))


async def _run_app(app: App, root: trio.CancelScope, *,
                   task_status: trio.TaskStatus[App] = trio.TASK_STATUS_IGNORED) -> None:
    try:
        await app.run(task_status=task_status)
        log.info("bot stopped cleanly")
    finally:
        root.cancel()  # the console and the signal watcher end with the bot


async def _start_console(nursery: trio.Nursery, app: App, config: Config,
                         detector: LoopBlockDetector) -> None:
    path = console_path(config)
    if len(os.fsencode(path)) > console.MAX_SOCKET_PATH_BYTES:
        log.warning("debug console disabled: socket path too long [path:%s]", path)
        return
    try:
        await nursery.start(console.serve_console, path,
                            console_namespace(app, config, detector))
    except (OSError, ValueError) as exc:  # the console is a debugging aid, not the bot
        log.warning("debug console not started [path:%s cause:%s]", path, exc)


async def _watch_signals(signals: Any, app: App, root: trio.CancelScope) -> None:
    count = 0
    async for signum in signals:
        count += 1
        name = signal.Signals(signum).name
        if count == 1:
            log.info("%s received, shutting down; send it again to exit at once", name)
            if app.ready is None:   # still starting: nothing to close politely
                root.cancel()
            else:
                await app.stop()
        else:
            log.warning("%s received again, exiting at once", name)
            logging.shutdown()
            sys.stderr.flush()
            os._exit(EXIT_AT_ONCE)
