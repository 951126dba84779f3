"""The off-the-loop guard: blocking objects refuse to run on the trio thread.

The bot's promise is that no sqlite, Steam or file call ever runs on the trio thread (see
`familybot_trio.blocking`). A step timer can only catch such a call when it happens to be
slow; this guard catches it by construction. When it is enabled, the objects that block
check which thread calls them and raise `BlockingOnLoop` at once, naming the call site:

- the store's sqlite3 connections (`GuardedConnection`, and every cursor they make),
- the requests.Session the `steam` package uses (`guard_requests_session`),
- the project's file helpers (`familybot_trio._secretfile`, `config.load_config`), which
  call `check()` first.

Enabled: in the test suite (tests/conftest.py) and by `familybot-trio run --debug-blocking`,
or FAMILYBOT_DEBUG_BLOCKING=1 in the environment (child processes of the tests inherit it).
Disabled, the store uses plain connections and the checks cost one flag test.

"On the trio thread" is `trio.lowlevel.in_trio_run()`: true in the thread running
`trio.run` (tasks, instruments, callbacks), false in `trio.to_thread` workers and in code
before or after `trio.run`.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, Final

import requests
import requests.adapters
import trio

ENV_DEBUG_BLOCKING: Final = "FAMILYBOT_DEBUG_BLOCKING"
_HERE: Final = str(Path(__file__).resolve())
_ROOT: Final = str(Path(__file__).resolve().parent.parent)
_LIBS: Final = tuple(p for p in {os.path.dirname(os.__file__), os.path.dirname(requests.__file__)})

_enabled = False
#: Every refusal since the last `take_violations()` (a caller's `except Exception` must not
#: hide one: the test suite fails a test that left any here).
violations: list[str] = []


class BlockingOnLoop(RuntimeError):
    """A blocking call ran on the trio thread; the message names the call and its site."""


def enable(on: bool = True) -> None:
    """Turn the guard on (or off) for this process; store connections opened from now on
    are guarded. Also sets FAMILYBOT_DEBUG_BLOCKING so child processes inherit it."""
    global _enabled
    _enabled = on
    if on:
        os.environ[ENV_DEBUG_BLOCKING] = "1"
    else:
        os.environ.pop(ENV_DEBUG_BLOCKING, None)


def enabled() -> bool:
    """True when the guard is on (enable() was called, or FAMILYBOT_DEBUG_BLOCKING=1)."""
    return _enabled or os.environ.get(ENV_DEBUG_BLOCKING) == "1"


def check(what: str, *, helper: bool = False) -> None:
    """Raise BlockingOnLoop when the guard is on and this runs on the trio thread.

    Args: what: the blocking call, e.g. "sqlite3 execute" (named in the message);
        helper: True when called first thing in a blocking helper function: the site named
        is then the helper's caller.
    Raises: BlockingOnLoop("<what> ran on the trio thread at <file>:<line> in <func>; ...").
    """
    if (_enabled or os.environ.get(ENV_DEBUG_BLOCKING) == "1") and trio.lowlevel.in_trio_run():
        message = (f"{what} ran on the trio thread at {call_site(1 if helper else 0)}: it blocks every task "
                   "(heartbeat included); call it through familybot_trio.blocking.run_sync")
        violations.append(message)
        raise BlockingOnLoop(message)


def take_violations() -> list[str]:
    """The refusals recorded since the last call (and forget them)."""
    taken = violations[:]
    violations.clear()
    return taken


def call_site(skip: int = 0) -> str:
    """"file:line in function" of the nearest caller outside this module and the libraries.

    Args: skip: how many more such frames to pass over (1: the caller of a helper).
    """
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != _HERE and not name.startswith(_LIBS) and "site-packages" not in name:
            if skip == 0:
                break
            skip -= 1
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    name = frame.f_code.co_filename
    shown = os.path.relpath(name, _ROOT) if name.startswith(_ROOT) else name
    return f"{shown}:{frame.f_lineno} in {frame.f_code.co_name}"


# ---------------------------------------------------------------------------- sqlite3
class GuardedCursor(sqlite3.Cursor):
    """A sqlite3 cursor whose statements and fetches refuse to run on the trio thread."""

    def execute(self, *args: Any, **kw: Any) -> GuardedCursor:  # noqa: D102
        check("sqlite3 execute")
        return super().execute(*args, **kw)

    def executemany(self, *args: Any, **kw: Any) -> GuardedCursor:  # noqa: D102
        check("sqlite3 executemany")
        return super().executemany(*args, **kw)

    def executescript(self, *args: Any, **kw: Any) -> GuardedCursor:  # noqa: D102
        check("sqlite3 executescript")
        return super().executescript(*args, **kw)

    def fetchone(self) -> Any:  # noqa: D102
        check("sqlite3 fetchone")
        return super().fetchone()

    def fetchmany(self, *args: Any, **kw: Any) -> list[Any]:  # noqa: D102
        check("sqlite3 fetchmany")
        return super().fetchmany(*args, **kw)

    def fetchall(self) -> list[Any]:  # noqa: D102
        check("sqlite3 fetchall")
        return super().fetchall()

    def __next__(self) -> Any:
        check("sqlite3 cursor iteration")
        return super().__next__()


class GuardedConnection(sqlite3.Connection):
    """A sqlite3 connection (pass as `factory=`) that refuses to run on the trio thread.

    execute/executemany/executescript go through a GuardedCursor, so rows fetched later are
    guarded too; commit, rollback, backup, iterdump and close check as well.
    """

    def cursor(self, factory: Any = GuardedCursor) -> Any:  # noqa: D102
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:  # noqa: D102
        check("sqlite3 execute")
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> GuardedCursor:  # noqa: D102
        check("sqlite3 executemany")
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> GuardedCursor:  # noqa: D102
        check("sqlite3 executescript")
        return self.cursor().executescript(script)

    def commit(self) -> None:  # noqa: D102
        check("sqlite3 commit")
        super().commit()

    def rollback(self) -> None:  # noqa: D102
        check("sqlite3 rollback")
        super().rollback()

    def backup(self, *args: Any, **kw: Any) -> None:  # noqa: D102
        check("sqlite3 backup")
        super().backup(*args, **kw)

    def iterdump(self, *args: Any, **kw: Any) -> Any:  # noqa: D102
        check("sqlite3 iterdump")
        return super().iterdump(*args, **kw)

    def close(self) -> None:  # noqa: D102
        check("sqlite3 close")
        super().close()

    def __exit__(self, *exc: Any) -> Any:
        check("sqlite3 commit (with block)")
        return super().__exit__(*exc)


def connection_factory() -> type[sqlite3.Connection]:
    """`factory=` for sqlite3.connect: GuardedConnection when the guard is on."""
    return GuardedConnection if enabled() else sqlite3.Connection


# ---------------------------------------------------------------------------- requests
class _GuardedAdapter(requests.adapters.BaseAdapter):
    """Wraps a session's transport adapter: sending refuses to run on the trio thread."""

    def __init__(self, inner: requests.adapters.BaseAdapter) -> None:
        super().__init__()
        self.inner = inner

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> Any:
        check(f"requests {request.method} (steam package)")
        return self.inner.send(request, *args, **kw)

    def close(self) -> None:
        self.inner.close()


def guard_requests_session(session: requests.Session) -> requests.Session:
    """Make `session`'s requests refuse to run on the trio thread when the guard is on.

    Wraps each mounted transport adapter (idempotent); returns the same session.
    """
    if enabled():
        for prefix, adapter in list(session.adapters.items()):
            if not isinstance(adapter, _GuardedAdapter):
                session.adapters[prefix] = _GuardedAdapter(adapter)
    return session


__all__ = ["BlockingOnLoop", "GuardedConnection", "GuardedCursor", "call_site", "check",
           "connection_factory", "enable", "enabled", "guard_requests_session", "take_violations",
           "violations"]
