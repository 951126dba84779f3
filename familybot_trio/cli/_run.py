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

import argparse
import dataclasses
import functools
import fcntl
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import trio

from familybot_trio import blocking, console, files, logs, offloop
from familybot_trio.app import App
from familybot_trio.cli._check import TOKEN_REFUSED_FIX
from familybot_trio.config import (ENV_DISCORD_TOKEN, ENV_STEAM_API_KEY, Config, Secrets,
                                   load_config)
from familybot_trio.errors import (MISSING, ConfigError, FamilybotError, is_interrupt,
                                   leaf_exceptions)
from familybot_trio.loopblock import LoopBlockDetector
from gateway.errors import FatalCloseError, HTTPError

log = logging.getLogger("familybot_trio.cli")

LOCK_FILE: Final = "familybot.lock"
CONSOLE_SOCKET: Final = "console.sock"
#: Exit status after a second signal (128 + SIGINT, the shell's convention).
EXIT_AT_ONCE: Final = 130
EXIT_FAILED: Final = 1
EXIT_INTERRUPTED: Final = 130
#: `run` stopped on something a restart cannot fix (refused bot token, fatal close code):
#: the systemd unit does not restart on it, so a bad token cannot loop through identifies.
EXIT_NEEDS_OPERATOR: Final = 3
#: A step holding the running bot's loop longer than this is logged (ms).
RUN_LOOP_BLOCK_MS: Final = 250.0


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
    Raises: BotRunning naming the pid that holds it; files.UnsafePath (a symlinked lock, a
        data directory other users can write).
    """
    files.private_dir(path.parent)  # 0700, refused if a symlink or writable by others
    fd = files.open_private(path, os.O_RDWR | os.O_CREAT)  # O_NOFOLLOW: a planted link fails
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
    fd = files.open_private(path, os.O_RDONLY)
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
        # A subset of features must not replace the family's slash commands on Discord.
        app = App(config, detector=detector, features=features,
                  register_commands=features is None)
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


#: Secrets `run` cannot do without (the ITAD key is optional: prices then lack lows).
REQUIRED_FOR_RUN: Final = (("discord_token", ENV_DISCORD_TOKEN),
                           ("steam_api_key", ENV_STEAM_API_KEY))


def require_run_secrets(config: Config) -> None:
    """Raise ConfigError (one note per further problem) when a secret `run` needs is unset."""
    errors = [ConfigError(f"{config.path} (environment)", var, MISSING,
                          f"export {var}=... before starting (see README)")
              for attr, var in REQUIRED_FOR_RUN if not getattr(config.secrets, attr)]
    if errors:
        for other in errors[1:]:
            errors[0].add_note(str(other))
        raise errors[0]


def run_cmd(args: argparse.Namespace) -> int:
    """`run`: load the config, require the secrets, run the bot; returns the exit status.

    Raises: ConfigError (bad config, a required secret unset); the rest is printed and
        mapped to 1, 3 (EXIT_NEEDS_OPERATOR) or 130.
    """
    features = args.features  # a list of known names (_main.features_arg) or None
    config = load_config(args.config, require_secrets=False)
    require_run_secrets(config)
    logs.setup_logging(fmt=args.log_format, levels={"root": config.log_level, **config.log_levels},
                       secrets=config.log_secrets)
    if config.access.guild_id is None:
        log.warning("[discord] guild_id is not set: the bot answers in no server, only DMs "
                    "from family members and admins; set it to the family's server id "
                    "(right-click the server, Copy Server ID)")
    if features is not None:
        log.warning("--features %s: only these features run, and the slash commands are NOT "
                    "registered (Discord keeps the list of the last full run)", ",".join(features))
    detector = LoopBlockDetector(RUN_LOOP_BLOCK_MS, log_violations=True)
    if getattr(args, "debug_blocking", False):
        offloop.enable()  # before the App opens its store and session
    try:
        trio.run(functools.partial(run_bot, config, detector, features=features),
                 instruments=[detector])
    except BaseExceptionGroup as group:
        problems = leaf_exceptions(group)
        for exc in problems:
            print(f"error: {exc}", file=sys.stderr)
            if _token_refused(exc):
                print(f"error: {TOKEN_REFUSED_FIX}", file=sys.stderr)
        if is_interrupt(group):
            return EXIT_INTERRUPTED
        if any(isinstance(e, FatalCloseError) or _token_refused(e) for e in problems):
            return EXIT_NEEDS_OPERATOR
        return EXIT_FAILED
    return 0


def _token_refused(exc: BaseException) -> bool:
    return isinstance(exc, HTTPError) and exc.status == 401
