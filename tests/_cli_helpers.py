"""Shared helpers of the CLI tests: a world without a running bot, and `main()` in a thread."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from familybot_trio import blocking, cli, logs
from familybot_trio.sandbox.world import BOT_TOKEN, World


@dataclass
class Result:
    """What one CLI invocation returned and printed."""

    code: int
    out: str
    err: str


def assert_no_secret(world: World, records: list[logging.LogRecord], *texts: str) -> None:
    """No secret of the world (bot token, keys, access token) in any record or text."""
    secrets = (BOT_TOKEN, world.sandbox.api_key, world.sandbox.itad_key,
               world.sandbox.access_token)
    lines = [r.getMessage() + (logging.Formatter().formatException(r.exc_info)
                                if r.exc_info else "") for r in records]
    assert len(lines) + len(texts) > 0
    for line in [*lines, *texts]:
        for secret in secrets:
            assert secret not in line, f"secret leaked: {line[:200]}"


def env_of(world: World) -> dict[str, str]:
    """The secrets the world's config expects, as environment variables."""
    return {"FAMILYBOT_DISCORD_TOKEN": BOT_TOKEN,
            "FAMILYBOT_STEAM_API_KEY": world.sandbox.api_key,
            "FAMILYBOT_ITAD_API_KEY": world.sandbox.itad_key}


def _call(argv: Sequence[str], stdin: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    import sys

    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    root = logging.getLogger()
    old_level, old_handlers = root.level, list(root.handlers)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(argv))
            except SystemExit as exc:  # argparse --help / usage errors
                code = int(exc.code or 0)
    finally:
        sys.stdin = old_stdin
        # main() may have called setup_logging (run, populate): undo it for the next tests
        logs.reset_logging()
        root.setLevel(old_level)
        for h in list(root.handlers):
            if h not in old_handlers:
                root.removeHandler(h)
    return Result(code, out.getvalue(), err.getvalue())


async def run_cli(world: World, *argv: str, stdin: str = "", config: bool = True) -> Result:
    """`familybot-trio <argv> --config <world config>` via main() in a worker thread.

    The secrets are put in os.environ for the call (main reads the real environment).
    """
    args = [*argv, "--config", str(world.config.path)] if config else list(argv)

    def call() -> Result:
        old = {k: os.environ.get(k) for k in env_of(world)}
        os.environ.update(env_of(world))
        try:
            return _call(args, stdin)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    return await blocking.run_sync("files", call)


async def start_world(nursery: trio.Nursery, tmp: Path, **kw: object) -> World:
    """A World (sandbox + FakeDiscord + config file) with no bot running."""
    return await nursery.start(functools.partial(World.start, tmp, start_app=False, **kw))


class BotProcess:
    """A CLI subprocess whose stderr (the log) is collected line by line by `pump`."""

    def __init__(self, proc: trio.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._changed = trio.Event()
        self.eof = trio.Event()   # set once stderr was read to its end

    async def pump(self) -> None:
        buf = b""
        assert self.proc.stderr is not None
        async for chunk in self.proc.stderr:
            buf += chunk
            *done, buf = buf.split(b"\n")
            self.lines.extend(d.decode(errors="replace") for d in done)
            self._changed.set()
            self._changed = trio.Event()
        if buf:
            self.lines.append(buf.decode(errors="replace"))
        self._changed.set()
        self.eof.set()

    async def wait_for_log(self, text: str) -> str:
        while True:
            for line in self.lines:
                if text in line:
                    return line
            if self.proc.returncode is not None:
                raise AssertionError(f"bot exited {self.proc.returncode} before {text!r}:\n"
                                     + "\n".join(self.lines[-30:]))
            await self._changed.wait()
