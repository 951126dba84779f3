"""Conformance: discord.py, a client nobody here wrote, runs against FakeDiscord.

discord.py runs in its own thread with its own asyncio loop; nothing of it is patched but
its two base URLs (`discord.http.Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`). It must
log in (GET /users/@me, /oauth2/applications/@me), reach READY (with GUILD_CREATE after
it), receive a MESSAGE_CREATE with an author, send a message and parse the reply object,
and resume after op 7, after op 9 d=true, re-identify after op 9 d=false and resume after
a 4000 close. Real clock: discord.py keeps its own time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import trio

discord = pytest.importorskip("discord")
yarl = pytest.importorskip("yarl")

from gateway.testing import BOT_USER, CHANNEL_ID, USER_ID, FakeDiscord  # noqa: E402

TOKEN = "conformance-token"


class DiscordPyThread:
    """A discord.Client in a thread of its own; its events go to a trio memory channel."""

    def __init__(self, send: trio.MemorySendChannel, trio_token: trio.lowlevel.TrioToken) -> None:
        self._send, self._trio_token = send, trio_token
        self.loop: asyncio.AbstractEventLoop | None = None
        self.client: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="discord.py", daemon=True)

    def _emit(self, kind: str, data: Any = None) -> None:
        trio.from_thread.run_sync(self._send.send_nowait, (kind, data),
                                  trio_token=self._trio_token)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported to the trio side, never lost
            self.error = exc
            self._emit("crashed", repr(exc))

    async def _run(self) -> None:
        self.loop = asyncio.get_running_loop()
        intents = discord.Intents.default()
        intents.message_content = True
        client = self.client = discord.Client(intents=intents)

        @client.event
        async def on_ready() -> None:
            self._emit("ready", {"user": client.user.id, "guilds": [g.id for g in client.guilds]})

        @client.event
        async def on_resumed() -> None:
            self._emit("resumed")

        @client.event
        async def on_message(message: Any) -> None:
            self._emit("message", {"id": message.id, "author": message.author.id,
                                   "bot": message.author.bot, "content": message.content})

        await client.start(TOKEN, reconnect=True)

    async def call(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run a coroutine on discord.py's loop and wait for its result (off the trio loop)."""
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(make(), self.loop)
        return await trio.to_thread.run_sync(future.result, 30)


async def _next(recv: trio.MemoryReceiveChannel, kind: str) -> Any:
    async for got, data in recv:
        if got == "crashed":
            raise AssertionError(f"discord.py crashed: {data}")
        if got == kind:
            return data
    raise AssertionError("discord.py thread ended")


async def test_discord_py_connects_messages_and_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDiscord(token=TOKEN, heartbeat_interval_ms=41250)
    send, recv = trio.open_memory_channel[tuple[str, Any]](100)
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            await nursery.start(fake.serve)
            monkeypatch.setattr(discord.http.Route, "BASE", fake.rest_url)
            monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY",
                                yarl.URL(fake.gateway.url + "/"))
            dpy = DiscordPyThread(send, trio.lowlevel.current_trio_token())
            dpy.thread.start()
            try:
                ready = await _next(recv, "ready")
                assert ready == {"user": int(BOT_USER["id"]), "guilds": [1234]}

                await fake.send_message(CHANNEL_ID, "hello bot")
                got = await _next(recv, "message")
                assert got["author"] == USER_ID and got["content"] == "hello bot"

                reply = await dpy.call(lambda: dpy.client.get_partial_messageable(
                    CHANNEL_ID).send("hello family"))
                assert reply.content == "hello family" and reply.author.id == int(BOT_USER["id"])
                assert fake.messages(CHANNEL_ID)[-1].content == "hello family"
                resumes = fake.gateway.resume_count
                await fake.gateway.send_op(7)  # Reconnect
                await _next(recv, "resumed")
                await fake.gateway.send_op(9, True)  # Invalid Session, resumable
                await _next(recv, "resumed")
                assert fake.gateway.resume_count == resumes + 2
                await fake.gateway.send_op(9, False)  # Invalid Session: identify again
                again = await _next(recv, "ready")
                assert again["user"] == ready["user"] and fake.gateway.identify_count == 2
                await fake.gateway.close_connection(4000, "unknown error")
                await _next(recv, "resumed")
                assert fake.gateway.resume_count == resumes + 3
                assert fake.gateway.identify_count == 2
            finally:
                if dpy.loop is not None and dpy.client is not None:
                    # close() ends client.start() and with it asyncio.run: do not wait on it.
                    asyncio.run_coroutine_threadsafe(dpy.client.close(), dpy.loop)
                await trio.to_thread.run_sync(dpy.thread.join, 30)
            nursery.cancel_scope.cancel()
    assert dpy.error is None
    paths = {q.path for q in fake.rest.requests}
    assert {"/users/@me", "/oauth2/applications/@me", f"/channels/{CHANNEL_ID}/messages"} <= paths
    assert all(q.status < 400 for q in fake.rest.requests), [
        (q.method, q.path, q.status) for q in fake.rest.requests if q.status >= 400]
    assert not [c for c in fake.gateway.server_close_codes if c not in (4000,)]
