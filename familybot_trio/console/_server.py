"""`serve_console`: the Unix socket the sessions arrive on, owner-only, in the app nursery.

Access: the socket is chmod 0600 inside a 0700 directory, and on Linux each peer's uid
(SO_PEERCRED) must be ours or root (checked by the session). A stale socket left by a dead
bot is replaced; a live console or any other file at the path is refused.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any, Final, NoReturn

import trio

from familybot_trio import blocking
from familybot_trio.console._session import Session, StdoutRouter

log = logging.getLogger("familybot_trio.console")

#: Linux limits AF_UNIX paths to 108 bytes including the NUL.
MAX_SOCKET_PATH_BYTES: Final = 107


def _prepare_path(path: Path) -> None:
    """Blocking: make the 0700 parent, clear a stale socket, refuse to clobber anything else."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        raise ValueError(f"console socket path {str(path)!r} is longer than "
                         f"{MAX_SOCKET_PATH_BYTES} bytes; pick a shorter directory")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket; remove it or choose "
                              "another console path")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # stale: a previous bot died without cleaning up
    else:
        raise FileExistsError(f"another process already serves a console at {path}; stop "
                              "it or choose another console path")
    finally:
        probe.close()


async def serve_console(
    path: Path,
    namespace: dict[str, Any],
    *,
    task_status: trio.TaskStatus[Path] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Serve console sessions on a Unix socket at `path` until cancelled.

    Args: path: the socket file (its directory is created 0700 if missing; a stale socket
        left by a dead bot is replaced). namespace: the shared names (app, store, trio...);
        each session works on a shallow copy.
    Returns: never; `nursery.start` gets `path` once the socket listens.
    Raises: FileExistsError (a live console or a non-socket file is at `path`),
        ValueError (path too long), OSError from bind.
    Cancellation: ends every session (their running statements are cancelled), closes the
        socket and removes the socket file.
    """
    path = Path(path)
    await blocking.run_sync("files", _prepare_path, path)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    router = None
    try:
        await sock.bind(str(path))
        await blocking.run_sync("files", os.chmod, path, 0o600)
        sock.listen(16)
        listener = trio.SocketListener(sock)
        log.info("console listening [path:%s]", path)

        async def handle(stream: trio.SocketStream) -> None:
            try:
                await Session(stream, namespace).run()
            except* (trio.BrokenResourceError, trio.ClosedResourceError):
                log.info("console client went away")
            except* Exception:  # a session bug must not stop the console or the bot
                log.exception("console session crashed")

        router = sys.stdout = StdoutRouter(sys.stdout)
        task_status.started(path)
        await trio.serve_listeners(handle, [listener])
    finally:
        if router is not None and sys.stdout is router:
            sys.stdout = router.real
        sock.close()
        with trio.move_on_after(2, shield=True):
            await blocking.run_sync("files", functools.partial(path.unlink, missing_ok=True))
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["MAX_SOCKET_PATH_BYTES", "serve_console"]
