"""One console session: read lines, compile them, run them in the bot's loop, print results.

Code is compiled with `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`; a code object flagged CO_COROUTINE
is awaited, so an expression that merely *returns* a coroutine object is shown, not run.
Console code runs in the session's own nursery: any exception it raises (KeyboardInterrupt
and SystemExit included) is printed to the client and never reaches the bot's nursery; a
client that disconnects mid-statement cancels that statement only.
"""

from __future__ import annotations

import ast
import builtins
import codeop
import contextvars
import functools
import inspect
import io
import json
import logging
import math
import os
import socket
import struct
import sys
import traceback
from collections.abc import Callable
from typing import Any, Final, NoReturn, TextIO

import trio

from familybot_trio.console._helpers import Text, tasks

log = logging.getLogger("familybot_trio.console")

PS1: Final = ">>> "
PS2: Final = "... "
#: A longer input line is refused (the session ends): nobody types a megabyte.
MAX_LINE_BYTES: Final = 1 << 20
#: Reprs longer than this are cut, so `store` dumps cannot flood the terminal.
MAX_REPR_CHARS: Final = 20_000
_FLAGS: Final = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_INTERRUPT: Final = object()
#: Where sys.stdout writes go in this trio context: a session's writer, or None (the real one).
_session_out: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "familybot_console_out", default=None)


class StdoutRouter(io.TextIOBase):
    """sys.stdout while the console serves: writes from console code (pprint, print_exc)
    go to that session; every other task, and worker threads, write to the real stdout."""

    def __init__(self, real: TextIO) -> None:
        self.real = real

    def write(self, text: str) -> int:
        out = _session_out.get()
        if out is None or not trio.lowlevel.in_trio_task():
            return self.real.write(text)
        out(text)
        return len(text)

    def flush(self) -> None:
        self.real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _peer_uid(stream: trio.SocketStream) -> int | None:
    """The connecting process's uid (Linux SO_PEERCRED), or None where unsupported."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:
        return None
    raw = stream.socket.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i"))
    return struct.unpack("3i", raw)[1]


class Session:
    """One client connection: reader, writer, and the statement executor."""

    def __init__(self, stream: trio.SocketStream, shared: dict[str, Any]) -> None:
        self.stream = stream
        self.out_send, self.out_recv = trio.open_memory_channel[dict[str, str]](math.inf)
        self.exec_scope: trio.CancelScope | None = None
        self.closing = False
        self._sent = trio.Event()
        self.compiler = codeop.CommandCompiler()
        self.compiler.compiler.flags |= _FLAGS
        ns = dict(shared)
        ns.update(__name__="__console__", __builtins__=builtins, print=self.print,
                  help=self.help, exit=self.exit, quit=self.exit, input=_no_input)
        ns.setdefault("trio", trio)
        ns.setdefault("tasks", tasks)
        self.ns = ns

    def write(self, text: str) -> None:
        try:
            if text:
                self.out_send.send_nowait({"out": text})
        except trio.ClosedResourceError:  # a task the session left behind prints later
            builtins.print(text, end="", file=sys.__stdout__)

    def print(self, *args: object, sep: str | None = " ", end: str | None = "\n",
              file: TextIO | None = None, flush: bool = False) -> None:
        """print() for this session: output goes to the console client."""
        if file is not None and file not in (sys.stdout, sys.stderr):
            builtins.print(*args, sep=sep, end=end, file=file, flush=flush)
            return
        buf = io.StringIO()
        builtins.print(*args, sep=sep, end=end, file=buf)
        self.write(buf.getvalue())

    def help(self, obj: object = None) -> Text:
        """help() lists the names at hand; help(obj) shows obj's docstring."""
        if obj is not None:
            return Text(inspect.getdoc(obj) or f"no docstring for {obj!r}")
        rows = []
        for name in sorted(k for k in self.ns if not k.startswith("_")):
            value = self.ns[name]
            value = value.func if isinstance(value, functools.partial) else value
            doc = (inspect.getdoc(value) or "").partition("\n")[0]
            if isinstance(value, int | float | str | bytes | list | dict | tuple):
                doc = type(value).__name__
            rows.append(f"  {name:<12} {doc}")
        return Text("names at hand (top-level `await` works; Ctrl-C cancels a "
                    "statement; exit() ends the session):\n" + "\n".join(rows))

    def exit(self) -> None:
        """End this console session (the bot keeps running)."""
        self.closing = True

    async def run(self) -> None:
        uid = _peer_uid(self.stream)
        async with self.stream:
            if uid is not None and uid not in (os.getuid(), 0):
                log.warning("console refused a peer of another user [uid:%d]", uid)
                await self.stream.send_all(b'{"bye": "refused: not the bot\'s user"}\n')
                return
            log.info("console session opened [peer_uid:%s]", uid)
            lines_send, lines_recv = trio.open_memory_channel[object](math.inf)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._send_loop, nursery.cancel_scope)
                nursery.start_soon(self._read_loop, lines_send, nursery.cancel_scope)
                await self._exec_loop(lines_recv)
                await self._flush_and_stop()
                nursery.cancel_scope.cancel()
            log.info("console session closed")

    async def _flush_and_stop(self) -> None:
        self.out_send.send_nowait({"bye": "bye"})
        self.out_send.close()
        with trio.move_on_after(5):
            await self._sent.wait()

    async def _send_loop(self, session: trio.CancelScope) -> None:
        try:
            async for msg in self.out_recv:
                await self.stream.send_all(json.dumps(msg).encode() + b"\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            session.cancel()  # the client is gone
        finally:
            self._sent.set()

    async def _read_loop(self, lines: trio.MemorySendChannel[object],
                         session: trio.CancelScope) -> None:
        """Read client messages; EOF or garbage ends the session (cancels its work only)."""
        buf = b""
        try:
            while True:
                data = await self.stream.receive_some(65536)
                if not data:
                    return
                buf += data
                if len(buf) > MAX_LINE_BYTES and b"\n" not in buf:
                    return
                *complete, buf = buf.split(b"\n")
                for raw in complete:
                    msg = json.loads(raw)
                    if msg.get("interrupt"):
                        if self.exec_scope is not None:
                            self.exec_scope.cancel()
                        else:
                            await lines.send(_INTERRUPT)
                    elif "line" in msg:
                        await lines.send(str(msg["line"]))
        except (trio.BrokenResourceError, ValueError, AttributeError):
            return  # peer reset or not speaking our protocol
        finally:
            session.cancel()  # the client is gone: cancel whatever it was running

    async def _exec_loop(self, lines: trio.MemoryReceiveChannel[object]) -> None:
        source_lines: list[str] = []
        self.out_send.send_nowait({"prompt": PS1})
        async for item in lines:
            if item is _INTERRUPT:
                source_lines.clear()
                self.write("KeyboardInterrupt\n")
            else:
                source_lines.append(str(item))
                source = "\n".join(source_lines)
                try:
                    complete = self.compiler(source, "<console>", "single")
                except (SyntaxError, OverflowError, ValueError) as exc:
                    source_lines.clear()
                    self.write("".join(traceback.format_exception_only(exc)))
                else:
                    if complete is None:
                        self.out_send.send_nowait({"prompt": PS2})
                        continue
                    source_lines.clear()
                    await self._execute(source)
            if self.closing:
                return
            self.out_send.send_nowait({"prompt": PS1})

    async def _execute(self, source: str) -> None:
        """Run one complete input; print its result or its traceback, never raise it."""
        token = _session_out.set(self.write)
        try:
            with trio.CancelScope() as self.exec_scope:
                await self._run_source(source)
            if self.exec_scope.cancelled_caught:
                self.write("KeyboardInterrupt: statement cancelled\n")
        except trio.Cancelled:
            raise  # the session is ending (client gone, bot stopping)
        except BaseException as exc:  # console code may raise anything; Cancelled is re-raised
            if isinstance(exc, BaseExceptionGroup):
                cancelled, rest = exc.split(trio.Cancelled)
                if rest is not None:
                    self.write(_format(rest))
                if cancelled is not None:
                    raise
            else:
                self.write(_format(exc))
        finally:
            self.exec_scope = None
            _session_out.reset(token)

    async def _run_source(self, source: str) -> None:
        tree = ast.parse(source, "<console>", "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        if tree.body:
            await _eval(compile(tree, "<console>", "exec", flags=_FLAGS, dont_inherit=True),
                        self.ns)
        if last is not None:
            expr = ast.Expression(last.value)
            value = await _eval(compile(expr, "<console>", "eval", flags=_FLAGS,
                                        dont_inherit=True), self.ns)
            if value is not None:
                self.ns["_"] = value
                text = repr(value)
                if len(text) > MAX_REPR_CHARS:
                    text = f"{text[:MAX_REPR_CHARS]}... ({len(text) - MAX_REPR_CHARS} more chars)"
                self.write(text + "\n")


async def _eval(code: Any, ns: dict[str, Any]) -> Any:
    """eval() a code object in `ns`; await it when the compiler made it a coroutine."""
    result = eval(code, ns)  # noqa: S307 - evaluating the operator's input is the point
    if code.co_flags & inspect.CO_COROUTINE:
        result = await result
    return result


def _format(exc: BaseException) -> str:
    """A traceback without this module's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _no_input(prompt: object = "") -> NoReturn:
    """Not available: reading a terminal would freeze the bot's loop."""
    raise RuntimeError("input() would block the bot's event loop; assign values instead")


__all__ = ["MAX_LINE_BYTES", "MAX_REPR_CHARS", "PS1", "PS2", "Session", "StdoutRouter"]
