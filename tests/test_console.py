"""The debug console over a real Unix socket, served inside the test's trio loop."""

from __future__ import annotations

import functools
import io
import json
import os
import socket
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from familybot_trio import blocking, console
from familybot_trio.loopblock import LoopBlockDetector


class Client:
    """Speaks the console's JSON-lines protocol, the way `connect()` does."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buf = b""

    async def message(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError("server closed the console")
            self.buf += data
        raw, self.buf = self.buf.split(b"\n", 1)
        return json.loads(raw)

    async def until_prompt(self) -> tuple[str, str]:
        """(output text, prompt) up to the next prompt."""
        out = []
        while True:
            msg = await self.message()
            if "prompt" in msg:
                return "".join(out), msg["prompt"]
            if "bye" in msg:
                return "".join(out), "BYE"
            out.append(msg["out"])

    async def send(self, msg: dict[str, Any]) -> None:
        await self.stream.send_all(json.dumps(msg).encode() + b"\n")

    async def run(self, *lines: str) -> tuple[str, str]:
        """Send lines one at a time; output of the whole block and the last prompt."""
        out = ""
        for line in lines:
            await self.send({"line": line})
            text, prompt = await self.until_prompt()
            out += text
        return out, prompt


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "console.sock"


async def _client(path: Path) -> Client:
    client = Client(await trio.open_unix_socket(str(path)))
    assert await client.until_prompt() == ("", ">>> ")
    return client


async def _ticker(requests: trio.MemoryReceiveChannel[int],
                  replies: trio.MemorySendChannel[int]) -> None:
    async for n in requests:
        await replies.send(n + 1)


@pytest.fixture
async def bot(sock_path: Path) -> AsyncIterator[dict[str, Any]]:
    """A 'bot' nursery: the console plus a background task that must keep ticking."""
    req_send, req_recv = trio.open_memory_channel[int](0)
    rep_send, rep_recv = trio.open_memory_channel[int](0)
    shared: dict[str, Any] = {"trio": trio, "started": trio.Event(),
                              "cancelled": trio.Event(), "family": {"members": 3}}

    async def tick(n: int) -> int:
        await req_send.send(n)
        return await rep_recv.receive()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_ticker, req_recv, rep_send, name="bot.ticker")
        await nursery.start(console.serve_console, sock_path, shared)
        yield {"ns": shared, "tick": tick, "nursery": nursery}
        nursery.cancel_scope.cancel()


async def test_evaluates_expressions_await_and_multiline(bot: dict, sock_path: Path) -> None:
    with trio.fail_after(10):
        c = await _client(sock_path)
        assert await c.run("1+1") == ("2\n", ">>> ")
        assert await c.run("await trio.sleep(0)") == ("", ">>> ")
        assert await c.run("print('hi', family['members'])") == ("hi 3\n", ">>> ")
        out, _ = await c.run("import pprint, sys; pprint.pprint({'a': 1}); sys.stdout.write('w')")
        assert out == "{'a': 1}\nw1\n"  # sys.stdout of console code goes to the session
        await c.send({"line": "async def double(x):"})
        assert await c.until_prompt() == ("", "... ")
        await c.send({"line": "    await trio.sleep(0)"})
        assert await c.until_prompt() == ("", "... ")
        await c.send({"line": "    return x * 2"})
        assert await c.until_prompt() == ("", "... ")
        assert await c.run("") == ("", ">>> ")
        assert await c.run("await double(21)") == ("42\n", ">>> ")
        assert await c.run("_ + 1") == ("43\n", ">>> ")
        # an expression returning a coroutine object is shown, not run
        out, _ = await c.run("c = double(1); c")
        assert out.startswith("<coroutine object")
        await c.run("c.close()")
        out, _ = await c.run("def broken(:")
        assert "SyntaxError" in out
        await c.stream.aclose()


async def test_raising_statements_are_printed_and_the_bot_keeps_running(
    bot: dict, sock_path: Path
) -> None:
    with trio.fail_after(10):
        c = await _client(sock_path)
        out, prompt = await c.run("1/0")
        assert "ZeroDivisionError: division by zero" in out and prompt == ">>> "
        assert "familybot_trio/console/" not in out  # our own frames are hidden
        out, _ = await c.run("raise KeyboardInterrupt")
        assert "KeyboardInterrupt" in out
        out, _ = await c.run("raise SystemExit(3)")
        assert "SystemExit: 3" in out
        out, _ = await c.run("async with trio.open_nursery() as n:",
                             "    n.start_soon(trio.sleep, 0)", "    raise ValueError('x')", "")
        assert "ValueError: x" in out
        out, _ = await c.run("input()")
        assert "would block" in out
        assert await bot["tick"](41) == 42  # the background task still answers
        assert await c.run("2*3") == ("6\n", ">>> ")  # and the session still works
        await c.stream.aclose()


async def test_client_disconnect_mid_statement_cancels_only_that_statement(
    bot: dict, sock_path: Path
) -> None:
    ns = bot["ns"]
    with trio.fail_after(10):
        c = await _client(sock_path)
        for line in ["try:", "    started.set()", "    await trio.sleep(10)", "finally:",
                     "    cancelled.set()"]:
            await c.send({"line": line})
            await c.until_prompt()
        await c.send({"line": ""})
        await ns["started"].wait()
        await c.stream.aclose()  # the client goes away mid `await trio.sleep(10)`
        await ns["cancelled"].wait()
        assert await bot["tick"](1) == 2
        c2 = await _client(sock_path)  # the console still serves
        assert await c2.run("1+1") == ("2\n", ">>> ")
        await c2.stream.aclose()


async def test_interrupt_cancels_running_statement(bot: dict, sock_path: Path) -> None:
    with trio.fail_after(10):
        c = await _client(sock_path)
        await c.send({"line": "started.set(); await trio.sleep(10)"})
        await bot["ns"]["started"].wait()
        await c.send({"interrupt": True})
        out, prompt = await c.until_prompt()
        assert "KeyboardInterrupt: statement cancelled" in out and prompt == ">>> "
        await c.send({"line": "if True:"})
        assert (await c.until_prompt())[1] == "... "
        await c.send({"interrupt": True})  # drops the half-typed block
        assert await c.until_prompt() == ("KeyboardInterrupt\n", ">>> ")
        assert await c.run("exit()") == ("", "BYE")


async def test_sessions_have_own_names_over_shared_objects(bot: dict, sock_path: Path) -> None:
    with trio.fail_after(10):
        a, b = await _client(sock_path), await _client(sock_path)
        await a.run("x = 5", "family['members'] = 4")
        out, _ = await b.run("x")
        assert "NameError" in out
        assert await b.run("family['members']") == ("4\n", ">>> ")
        assert "x" not in bot["ns"] and bot["ns"]["family"]["members"] == 4
        await a.stream.aclose()
        await b.stream.aclose()


async def test_helpers_tasks_lag_help(
    sock_path: Path, loop_block_detector: LoopBlockDetector
) -> None:
    ns = {"lag": functools.partial(console.lag, loop_block_detector)}
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(console.serve_console, sock_path, ns)
            c = await _client(sock_path)
            tree, _ = await c.run("tasks()")
            assert tree.startswith("<init>")
            assert "[nursery:" in tree and "<- you" in tree
            assert "test_helpers_tasks_lag_help" in tree
            report, _ = await c.run("lag()")
            assert "task steps, worst" in report and "worst steps:" in report
            listing, _ = await c.run("help()")
            for name in ("tasks", "lag", "exit", "trio", "print"):
                assert f"  {name} " in listing
            assert (await c.run("help(tasks)"))[0].startswith("The live task tree")
            await c.stream.aclose()
            nursery.cancel_scope.cancel()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_socket_permissions_stale_and_live_sockets(sock_path: Path) -> None:
    sock_path.parent.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock_path))  # a dead bot's leftover: bound, never listening
    stale.close()
    real_stdout = sys.stdout
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(console.serve_console, sock_path, {})
            assert _mode(sock_path) == 0o600
            with pytest.raises(FileExistsError, match="already serves a console"):
                await console.serve_console(sock_path, {})
            nursery.cancel_scope.cancel()
    assert not sock_path.exists()  # removed on the way out
    assert sys.stdout is real_stdout  # the stdout router is taken out again
    sock_path.write_text("not a socket")
    with pytest.raises(FileExistsError, match="not a socket"):
        await console.serve_console(sock_path, {})


async def test_connect_client_relays_stdin_and_stdout(bot: dict, sock_path: Path) -> None:
    stdin = io.StringIO("1+1\nasync def f():\n    return 'ok'\n\nawait f()\nprint('bye')\n")
    stdout = io.StringIO()
    with trio.fail_after(10):
        code = await blocking.run_sync("files", functools.partial(
            console.connect, sock_path, stdin=stdin, stdout=stdout), abandon_on_cancel=True)
    text = stdout.getvalue()
    assert code == 0
    assert ">>> 2\n>>> ... ... >>> 'ok'\n>>> bye\n>>> " == text


async def test_garbage_from_a_client_ends_only_that_session(bot: dict, sock_path: Path) -> None:
    with trio.fail_after(10):
        bad = await _client(sock_path)
        await bad.stream.send_all(b"this is not json\n")
        with pytest.raises(EOFError):
            while True:  # the server closes this session (after a "bye")
                await bad.message()
        good = await _client(sock_path)
        assert await good.run("40 + 2") == ("42\n", ">>> ")
        await good.stream.aclose()
        await bad.stream.aclose()
