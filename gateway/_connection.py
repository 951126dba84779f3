"""Per-connection state of a shard: the socket, its inflater and send limiter, and the verdict.

A `Conn` lives for exactly one websocket. Everything that must start fresh on a reconnect
lives here, so a new connection can never inherit it: the zlib inflater (one stream per
connection), the send limiter (Discord counts per connection), and the ACK state (a missing
ACK on the old socket must not count against the new one: Psycheros #42's reconnect loop).
"""

from __future__ import annotations

import enum
import math
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import trio
import trio_websocket
from wsproto.connection import ConnectionState

from gateway import _protocol as P

from gateway._send_limiter import SendLimiter
from gateway._threads import RunSync
from gateway.codec import (THREAD_THRESHOLD_BYTES, ZlibStreamInflater, decode_json, encode_json,
                           needs_thread)
from gateway.errors import FatalCloseError

log = logging.getLogger("gateway.connection")

#: Errors that mean "this connection could not be opened": reconnect with backoff.
CONNECT_ERRORS = (OSError, trio_websocket.HandshakeError, trio_websocket.DisconnectionTimeout,
                  trio.BrokenResourceError)


class Next(enum.Enum):
    """What the shard does once a connection ends."""

    RESUME = "resume"  # reconnect to resume_gateway_url, RESUME (if a session exists)
    IDENTIFY = "identify"  # drop the session, reconnect to the main URL, IDENTIFY
    SHUTDOWN = "shutdown"  # close() was called
    FATAL = "fatal"  # 4004 / 4010-4014: stop with FatalCloseError


@dataclass(slots=True, eq=False)
class Conn:
    """Mutable state of one websocket connection (private to the shard).

    Args: resuming: True when this connection sends RESUME instead of IDENTIFY.
    """

    resuming: bool
    ws: Any = None  # trio_websocket.WebSocketConnection once open
    inflater: ZlibStreamInflater = field(default_factory=ZlibStreamInflater)
    limiter: SendLimiter = field(default_factory=SendLimiter)
    scope: trio.CancelScope | None = None
    nursery: Any = None  # the per-connection trio.Nursery
    next: Next | None = None
    fatal: FatalCloseError | None = None
    close_code: int = 4000  # what we send when we close: 4000 keeps the session resumable
    acked: bool = True  # fresh per connection: the first interval never counts as a miss
    beat_sent_at: float | None = None
    active: bool = False  # READY or RESUMED arrived on this connection
    held: str | bytes | None = None  # a message receive_ready left for receive (big frame)

    def end(self, next_step: Next) -> None:
        """Record what comes next (first verdict wins) and cancel the connection's tasks."""
        if self.next is None:
            self.next = next_step
        if self.scope is not None:
            self.scope.cancel()

    async def receive(self, run_sync: RunSync) -> dict[str, Any]:
        """The next whole payload: a text frame, or zlib-stream binary frames until a flush.

        Args: run_sync: decodes frames over the codec's threshold off the loop (the shard's).
        Raises: trio_websocket.ConnectionClosed; DecodeError for a malformed frame.
        """
        while True:
            if self.held is not None:  # a big message receive_ready left for a thread
                msg, self.held = self.held, None
            else:
                msg = await self.ws.get_message()
            if isinstance(msg, str):
                if needs_thread(len(msg)):
                    return await run_sync(decode_json, msg)
                return decode_json(msg)
            if needs_thread(self.inflater.buffered(msg)):
                payload = await run_sync(self.inflater.feed, msg)
            else:
                payload = self.inflater.feed(msg)
            if payload is not None:
                return payload

    def receive_ready(self) -> dict[str, Any] | None:
        """The next whole payload if its messages already arrived, else None; never waits.

        Raises: trio_websocket.ConnectionClosed; DecodeError for a malformed frame.
        """
        return next(self.ready(1), None)

    def ready(self, limit: int) -> Iterator[dict[str, Any]]:
        """Yield up to `limit` whole payloads whose messages already arrived; never waits.

        Lets the reader take a burst of frames in one step (`Shard._read`). A message too
        big to decode on the loop is held for the next `receive` (which uses the thread),
        and ends the burst.
        Raises: trio_websocket.ConnectionClosed; DecodeError for a malformed frame.
        """
        queue = getattr(self.ws, "_recv_channel", None)  # trio-websocket's message queue
        if queue is None or self.held is not None:
            return
        inflater, receive_nowait = self.inflater, queue.receive_nowait
        while limit > 0:
            try:
                msg = receive_nowait()
            except trio.WouldBlock:
                return
            except (trio.ClosedResourceError, trio.EndOfChannel):
                raise trio_websocket.ConnectionClosed(self.ws.closed) from None
            if msg.__class__ is bytes:  # the usual case (zlib-stream): no isinstance chain
                if inflater.buffered(msg) > THREAD_THRESHOLD_BYTES:
                    self.held = msg
                    return
                payload = inflater.feed(msg)
            elif needs_thread(len(msg) if isinstance(msg, str) else inflater.buffered(msg)):
                self.held = msg
                return
            else:
                payload = decode_json(msg) if isinstance(msg, str) else inflater.feed(msg)
            if payload is not None:
                limit -= 1
                yield payload

    def on_closed(self, code: int | None, reason: str | None, log: logging.Logger) -> None:
        """The server closed the socket: a fatal code ends the shard, else resume or identify.

        Args: code, reason: the close frame's (None when the TCP connection just dropped).
        """
        if P.is_fatal_close(code):
            assert code is not None
            cause, fix = P.CloseCode(code).cause_and_fix
            log.debug("fatal close [code:%d server_reason:%s]", code, reason)
            self.fatal = FatalCloseError(code, cause, fix)
            self.end(Next.FATAL)
            return
        try:
            new_session = code is not None and P.CloseCode(code).needs_new_session
        except ValueError:
            new_session = False
        level = logging.ERROR if code in (4001, 4002, 4005) else logging.WARNING
        log.log(level, "gateway closed the connection, will %s [code:%s reason:%s]",
                "identify" if new_session else "resume", code, reason)
        self.end(Next.IDENTIFY if new_session else Next.RESUME)

    async def beat(self, sequence: int | None) -> None:
        """Send op 1 with the last `sequence` (a reserved slot) and wait for its ACK anew."""
        self.acked, self.beat_sent_at = False, trio.current_time()
        await self.send(encode_json(P.Opcode.HEARTBEAT, sequence), priority=True)

    async def heartbeat(self, interval_s: float, rng: random.Random,
                        sequence: Callable[[], int | None], log: logging.Logger) -> None:
        """Beat every interval_s, the first after interval_s * jitter; no ACK since the last
        beat = zombie: end the connection (close 4000) and resume.

        Args: rng: the shard's (jitter); sequence: the shard's last sequence at beat time.
        """
        deadline = trio.current_time() + interval_s * rng.random()
        while True:
            await trio.sleep_until(deadline)
            if not self.acked:
                log.warning("no heartbeat ACK within %.1f s (zombie connection), "
                            "closing with 4000 and resuming", interval_s)
                self.end(Next.RESUME)
                return
            await self.beat(sequence())
            deadline = max(deadline + interval_s, trio.current_time())

    async def send(self, text: str, *, priority: bool = False) -> bool:
        """Send one text payload behind this connection's limiter.

        Args: text: encoded payload; priority: True for heartbeats (reserved slots).
        Returns: False when the socket is already closing (the reader will see why).
        Cancellation: cancelling while waiting for the limiter sends nothing.
        """
        await self.limiter.acquire(priority=priority)
        try:
            await self.ws.send_message(text)
        except (trio_websocket.ConnectionClosed, trio.BrokenResourceError):
            return False
        return True


def gateway_url_with_query(url: str) -> str:
    """`url` (main or resume_gateway_url) with our v/encoding/compress query, path kept.

    Args: url: e.g. "wss://gateway.discord.gg" or "ws://127.0.0.1:PORT/resume".
    Returns: e.g. "wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream".
    """
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", P.GATEWAY_QUERY, ""))


async def host_websocket(url: str, *, task_status: trio.TaskStatus[
        tuple[trio_websocket.WebSocketConnection, trio.CancelScope]]) -> None:
    """Open the websocket and keep trio-websocket's reader task alive until told to stop.

    Args: url: full gateway URL with query. task_status: started((ws, scope)) once open;
        cancel `scope` once the socket is closed (or the close gave up).
    Raises (before started): CONNECT_ERRORS when the connection cannot be opened, including
        TimeoutError when open + handshake took over P.CONNECT_TIMEOUT_S.
    Connecting is cancellable; once open the scope is shielded, so when the shard's tasks
    are cancelled (close(), or its nursery from outside) the reader still runs, reads the
    server's answering close frame and the close handshake completes at once.
    """
    started = False
    with trio.CancelScope() as scope:
        # Our own bound on open + handshake (see P.CONNECT_TIMEOUT_S); lifted once open.
        handshake = trio.CancelScope(deadline=trio.current_time() + P.CONNECT_TIMEOUT_S)
        try:
            with handshake:
                async with trio_websocket.open_websocket_url(
                    url, max_message_size=P.MAX_FRAME_BYTES, message_queue_size=256,
                    connect_timeout=P.CONNECT_TIMEOUT_S, disconnect_timeout=P.CLOSE_TIMEOUT_S,
                    extra_headers=[(b"User-Agent", P.USER_AGENT.encode())],
                ) as ws:
                    handshake.deadline = math.inf
                    scope.shield, started = True, True
                    _hand_over_eagerly(ws)
                    task_status.started((ws, scope))
                    await trio.sleep_forever()
        except (*CONNECT_ERRORS, trio_websocket.ConnectionClosed) as exc:
            if not started:
                raise
            # The reader ended (its socket is gone); the shard's reader sees it closed.
            log.debug("websocket ended after the connection [cause:%r]", exc)
        if handshake.cancelled_caught and not started:
            raise TimeoutError(f"no websocket handshake answer within {P.CONNECT_TIMEOUT_S:.0f} s "
                               f"(TCP connected, no HTTP 101)")


async def close_websocket(ws: trio_websocket.WebSocketConnection, code: int) -> bool:
    """Send a close frame with `code` and wait (shielded, CLOSE_TIMEOUT_S at most) for the answer.

    Returns: False when we sent the close and no answering close frame was read in time
        (the stream is dropped then); True when answered or the server had closed first.
    Upstream: RFC 6455 section 5.5.1 (Close); Discord docs Gateway > Disconnecting.
    """
    ours = ws._wsproto.state is ConnectionState.OPEN  # else the server started the close
    with trio.move_on_after(P.CLOSE_TIMEOUT_S) as cleanup:
        cleanup.shield = True
        await ws.aclose(code, "shutdown" if code == 1000 else "reconnecting")
    return not ours or ws._wsproto.state is ConnectionState.CLOSED


class _EagerSend:
    """trio-websocket's reader queues each message with `await channel.send(msg)`, which
    yields to the scheduler once per message: a burst of N frames cost N task switches
    before the shard saw them. This wrapper queues with `send_nowait` while there is room
    (and awaits only when the queue is full: backpressure stays), so the reader parses a
    whole socket read (<= its 4 KiB receive buffer) in one step."""

    __slots__ = ("_inner",)

    def __init__(self, inner: trio.MemorySendChannel[Any]) -> None:
        self._inner = inner

    async def send(self, value: Any) -> None:
        try:
            self._inner.send_nowait(value)
        except trio.WouldBlock:
            await self._inner.send(value)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def close(self) -> None:
        self._inner.close()


def _hand_over_eagerly(ws: trio_websocket.WebSocketConnection) -> None:
    """Install _EagerSend on trio-websocket's message queue (if its layout is the known one)."""
    inner = getattr(ws, "_send_channel", None)
    if isinstance(inner, trio.MemorySendChannel):
        ws._send_channel = _EagerSend(inner)
