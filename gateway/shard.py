"""One Discord gateway connection kept alive: HELLO, IDENTIFY/RESUME, heartbeat, reconnect.

Shape (one pass of `Shard._run_connections` = one websocket):

    run()                                   shard nursery: websocket hosts
      └─ connection                         per-connection nursery, cancelled to end it
           ├─ reader     HELLO, then every frame: seq, ops 1/7/9/11, dispatches -> handlers
           ├─ heartbeat  first beat after interval * jitter, zombie check before each beat
           └─ sender     user sends (presence ...) through the 120/60 s limiter

Whoever decides a connection is over (reader on op 7/9/close, heartbeat on a missing ACK,
close()) records what comes next (resume, identify, shutdown, fatal) with `_Conn.end` and
cancels the per-connection nursery; the close frame (4000 to keep the session, 1000 on
shutdown or cancellation) is then sent under a bounded shield. trio-websocket's own reader
task lives in a shielded host task (`_host_websocket`), outside the per-connection nursery, so
it is still running when the close frame goes out: it reads the server's answer and the close
handshake completes at once; the host is cancelled only after that (or after the bound).
Dispatches (gateway/_dispatch.py): a burst of frames is read in one step; interactions and
commands start in their own task in the app's nursery, the rest go in order to the shard's
dispatcher task. No handler can delay the reader or the heartbeat; a slow batched handler
delays the batched events after it. Per-connection state, the heartbeat and the close
verdict live in gateway/_connection.py.

Upstream: Discord docs Gateway (Connecting, Sending Heartbeats, Resuming, Rate Limiting);
shared/docs/discord-protocol.md sections 1.3-1.7 and 5.7.
"""

from __future__ import annotations

import logging
import math
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio_websocket

from gateway import _protocol as P
from gateway._connection import (CONNECT_ERRORS, Conn, Next, close_websocket,
                                 gateway_url_with_query, host_websocket)
from gateway._dispatch import default_task_for, dispatch_in_order
from gateway._send_limiter import SendLimiter, heartbeat_reserve
from gateway._shard_state import Ready, ShardState
from gateway._threads import RunSync, default_run_sync
from gateway.codec import DecodeError, encode_json
from gateway.errors import FatalCloseError


_DISPATCH, _HEARTBEAT, _HEARTBEAT_ACK = int(P.Opcode.DISPATCH), int(P.Opcode.HEARTBEAT), \
    int(P.Opcode.HEARTBEAT_ACK)


class Shard:
    """A gateway shard: connects, identifies, resumes and heartbeats until closed.

    Args: token: bot token (sent only in IDENTIFY/RESUME, never logged); intents: an
        `Intents` mask; get_gateway_bot: returns the raw JSON of GET /gateway/bot (called
        once per run); shard_id, shard_count: sent in IDENTIFY; rng: randomness for jitter
        (tests pass a seeded one); properties: IDENTIFY `properties` override;
        run_sync: `await run_sync(fn, *args)` runs a blocking call off the loop, used to
        decode big frames (default: a worker thread under the gateway's own small limiter;
        an application passes its concurrency policy's); task_for(event_name, data): True
        for a dispatch that needs its own handler task (default `default_task_for`:
        INTERACTION_CREATE and MESSAGE_CREATE); the others are dispatched in batches.
    No I/O happens here: `run` connects.
    """

    def __init__(self, *, token: str, intents: int,
                 get_gateway_bot: Callable[[], Awaitable[dict[str, Any]]],
                 shard_id: int = 0, shard_count: int = 1, rng: random.Random | None = None,
                 properties: dict[str, str] | None = None,
                 run_sync: RunSync = default_run_sync,
                 task_for: Callable[[str, Any], bool] | None = None) -> None:
        self._token, self.intents = token, int(intents)
        self._task_for = task_for or default_task_for
        self._run_sync = run_sync
        self._get_gateway_bot = get_gateway_bot
        self.shard_id, self.shard_count = shard_id, shard_count
        self._rng = rng or random.Random()
        self._properties = properties or {"os": sys.platform, "browser": "familybot-trio",
                                          "device": "familybot-trio"}
        self.log = logging.getLogger(f"gateway.shard.{shard_id}")
        self.state = ShardState.DISCONNECTED
        self.sequence: int | None = None
        self.session_id: str | None = None
        self.resume_gateway_url: str | None = None
        self.latency_ms: float | None = None
        self.reconnects = 0  # connections that ended so far (each is followed by a reconnect)
        self.closes_unanswered = 0  # our close frames the server never answered (dropped)
        self._gateway_url = ""
        self._starts_remaining, self._starts_total, self._starts_reset_s = 1, 1, 0.0
        self._last_identify_at: float | None = None
        self._identify_delay_s = 0.0
        self._live_ended_at = 0.0  # trio time the last ACTIVE connection ended
        self._closing = False
        self._loop_scope = trio.CancelScope()
        self._stopped = trio.Event()
        self._task_status: Any = trio.TASK_STATUS_IGNORED
        self._tasks: trio.Nursery | None = None  # run()'s nursery: websocket hosts
        self._outbox_send, self._outbox_recv = trio.open_memory_channel[str](64)
        self._pending_send: str | None = None
        self._dispatch: Callable[[str, Any], Awaitable[None]] | None = None
        self._handlers: trio.Nursery | None = None
        self._batches_send, self._batches_recv = trio.open_memory_channel[
            list[tuple[str, Any]]](math.inf)

    # ------------------------------------------------------------------ public
    async def run(self, dispatch: Callable[[str, Any], Awaitable[None]], handlers: trio.Nursery,
                  *, task_status: trio.TaskStatus[Ready] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, report READY, then keep the session alive until close() or a fatal close.

        Args: dispatch(event_name, data): called in `handlers` for every op-0 event (READY
            and RESUMED included), started in the order received: in its own task when
            `task_for` says so, else awaited strictly in order by the shard's dispatcher
            task; handlers: the app's nursery (it also runs the dispatcher).
        Returns: after close() (close code 1000 sent, the server's answer read).
        Raises: FatalCloseError for 4004 and 4010-4014 (message names the cause and fix);
            whatever get_gateway_bot raises.
        Cancellation: cancelling run() closes the socket with 1000 like close() does, waiting
            for the server's answer at most CLOSE_TIMEOUT_S.
        Upstream: GET /gateway/bot; Gateway > Connecting / Resuming.
        """
        info = await self._get_gateway_bot()
        self._gateway_url = str(info["url"])
        limit = info.get("session_start_limit") or {}
        self._starts_total = int(limit.get("total", 1000))
        self._starts_remaining = int(limit.get("remaining", 1))
        self._starts_reset_s = float(limit.get("reset_after", 0)) / 1000.0
        self._task_status = task_status
        fatal: FatalCloseError | None = None
        self._dispatch, self._handlers = dispatch, handlers
        handlers.start_soon(dispatch_in_order, dispatch, self._batches_recv,
                            name=f"gateway shard {self.shard_id} dispatcher")
        async with trio.open_nursery() as nursery:
            self._tasks = nursery
            try:
                with self._loop_scope:
                    await self._run_connections()
            except FatalCloseError as exc:
                fatal = exc
            finally:
                self._batches_send.close()  # the dispatcher handles what came, then ends
        self.state = ShardState.FATALLY_CLOSED if fatal else ShardState.STOPPED
        self._stopped.set()
        if fatal is not None:
            raise fatal

    async def close(self) -> None:
        """Shut down: close code 1000 (ends the session); run() returns.

        An open socket is closed while its reader still runs (see `_host_websocket`), so the
        server's answer is read in milliseconds; an unanswered close is dropped after
        CLOSE_TIMEOUT_S.
        """
        self._closing = True
        self._loop_scope.cancel()
        with trio.move_on_after(P.CLOSE_TIMEOUT_S + 1.0):
            await self._stopped.wait()

    async def send(self, op: int, d: object) -> None:
        """Queue a payload (e.g. op 3 presence) for the sender, behind the send limiter.

        Raises: ValueError when the payload is over 4096 bytes (Discord would close 4002).
        Cancellation: a payload already queued is still sent.
        """
        text = encode_json(op, d)
        if len(text.encode()) > P.MAX_PAYLOAD_BYTES:
            raise ValueError(f"gateway payload op {op} is {len(text.encode())} bytes; Discord "
                             f"closes the connection above {P.MAX_PAYLOAD_BYTES}: send less")
        await self._outbox_send.send(text)

    # ----------------------------------------------------------- connections
    def _start(self, batch: list[tuple[str, Any]], name: str | None = None, data: Any = None
               ) -> None:
        """Queue the batch for the in-order dispatcher, then start `name` in its own task."""
        assert self._handlers is not None and self._dispatch is not None
        if batch:
            self._batches_send.send_nowait(batch[:])  # unbounded: the reader never waits
            batch.clear()
        if name is not None:
            self._handlers.start_soon(self._dispatch, name, data)

    async def _run_connections(self) -> None:
        failures = 0  # consecutive connections that never became ACTIVE
        while not self._closing:
            resume = self.session_id is not None
            if not resume:
                await self._wait_before_identify()
            url = (self.resume_gateway_url or self._gateway_url) if resume else self._gateway_url
            conn = Conn(resuming=resume)
            self.state = ShardState.CONNECTING
            try:
                await self._connect(conn, url)
            except CONNECT_ERRORS as exc:
                self.log.warning("gateway connect failed, retrying on the main URL "
                                 "[url:%s cause:%r]", url.split("?")[0], exc)
                self.resume_gateway_url = None  # a dead resume host: fall back (twilight #1942)
                conn.end(Next.RESUME if resume else Next.IDENTIFY)
            self.reconnects += 1
            if conn.next is Next.FATAL:
                assert conn.fatal is not None
                self.log.error("gateway closed fatally, not reconnecting [code:%d]: %s",
                               conn.fatal.close_code, conn.fatal.fix)
                raise conn.fatal
            if conn.next is Next.SHUTDOWN or self._closing:
                return
            now = trio.current_time()
            if conn.active:
                self._live_ended_at = now  # the session is resumable from here on
            elif resume and now - self._live_ended_at >= P.RESUMABLE_FOR_S:
                self.log.warning("could not resume for %.0f s, identifying a new session",
                                 now - self._live_ended_at)
                conn.next = Next.IDENTIFY
            if conn.next is Next.IDENTIFY:
                self._drop_session()
            failures = 0 if conn.active else failures + 1
            self.state = ShardState.DISCONNECTED
            cap = min(P.BACKOFF_CAP_S, P.BACKOFF_BASE ** failures) if failures else 1.0
            delay = self._rng.uniform(0, cap)
            self.log.info("gateway connection ended, reconnecting in %.2f s [next:%s seq:%s]",
                          delay, conn.next.name.lower(), self.sequence)
            await trio.sleep(delay)

    def _drop_session(self) -> None:
        self.session_id = self.sequence = self.resume_gateway_url = None

    async def _wait_before_identify(self) -> None:
        """Space identifies >= 5 s, honour op 9's 1-5 s and session_start_limit."""
        now = trio.current_time()
        at = now + self._identify_delay_s
        if self._last_identify_at is not None:
            at = max(at, self._last_identify_at + P.IDENTIFY_SPACING_S)
        if self._starts_remaining <= 0:
            self.log.error("no session starts left today; waiting %.0f s for the reset "
                           "(the bot reconnected too often)", self._starts_reset_s)
            at = max(at, now + self._starts_reset_s)
            self._starts_remaining = self._starts_total
        self._identify_delay_s = 0.0
        await trio.sleep_until(at)

    async def _connect(self, conn: Conn, url: str) -> None:
        assert self._tasks is not None
        conn.ws, host = await self._tasks.start(host_websocket, gateway_url_with_query(url))
        try:
            async with trio.open_nursery() as nursery:
                conn.scope, conn.nursery = nursery.cancel_scope, nursery
                if conn.next is None:
                    nursery.start_soon(self._read, conn)
        finally:
            # Not ended by a verdict = cancelled from outside: shutting down, like close().
            shutdown = self._closing or conn.next in (None, Next.SHUTDOWN)
            code = 1000 if shutdown else conn.close_code
            if not await close_websocket(conn.ws, code):
                self.closes_unanswered += 1
                self.log.warning("the gateway did not answer our close (code %d; waited at "
                                 "most %.0f s); dropped the connection", code, P.CLOSE_TIMEOUT_S)
            host.cancel()

    # ---------------------------------------------------------------- reader
    async def _read(self, conn: Conn) -> None:
        try:
            with trio.fail_after(P.HELLO_TIMEOUT_S):
                hello = await conn.receive(self._run_sync)
            if hello["op"] == P.Opcode.RECONNECT:
                self.log.info("gateway sent op 7 before HELLO, reconnecting")
                conn.end(Next.RESUME)
                return
            if hello["op"] != P.Opcode.HELLO:
                self.log.warning("first gateway frame was op %s, not HELLO; reconnecting",
                                 hello["op"])
                conn.end(Next.RESUME)
                return
            interval_s = float(hello["d"]["heartbeat_interval"]) / 1000.0
            conn.limiter = SendLimiter(reserve=heartbeat_reserve(interval_s))
            conn.nursery.start_soon(conn.heartbeat, interval_s, self._rng, self._sequence,
                                    self.log)
            await self._identify_or_resume(conn)
            conn.nursery.start_soon(self._sender, conn)
            batch: list[tuple[str, Any]] = []
            while True:
                # One step takes every frame that already arrived (at most MAX_BATCH), so a
                # burst costs one task switch, not one per frame; heartbeats run between.
                beat = self._handle(conn, await conn.receive(self._run_sync), batch)
                if conn.next is None:
                    for payload in conn.ready(P.MAX_BATCH - 1):
                        beat = self._handle(conn, payload, batch) or beat
                        if conn.next is not None:
                            break
                self._start(batch)
                if beat:
                    await conn.beat(self.sequence)  # the server asked (op 1): answer at once
        except trio_websocket.ConnectionClosed as exc:
            conn.on_closed(exc.reason.code if exc.reason else None,
                           exc.reason.reason if exc.reason else None, self.log)
        except trio.TooSlowError:
            self.log.warning("no HELLO within %.0f s, reconnecting", P.HELLO_TIMEOUT_S)
            conn.end(Next.RESUME)
        except DecodeError as exc:
            self.log.warning("bad gateway frame, reconnecting: %s", exc)
            conn.end(Next.RESUME)

    async def _identify_or_resume(self, conn: Conn) -> None:
        if conn.resuming:
            self.state = ShardState.RESUMING
            d: dict[str, Any] = {"token": self._token, "session_id": self.session_id,
                                 "seq": self.sequence}
            await conn.send(encode_json(P.Opcode.RESUME, d))
            return
        self.state = ShardState.IDENTIFYING
        d = {"token": self._token, "intents": self.intents, "properties": self._properties,
             "shard": [self.shard_id, self.shard_count]}
        self._last_identify_at = trio.current_time()
        self._starts_remaining -= 1
        await conn.send(encode_json(P.Opcode.IDENTIFY, d))

    def _handle(self, conn: Conn, payload: dict[str, Any], batch: list[tuple[str, Any]]
                ) -> bool:
        """Act on one payload; dispatches go to `batch` or their own task (`task_for`).

        Returns: True when the server asked for a heartbeat (op 1).
        """
        op, d = payload["op"], payload.get("d")
        if op == _DISPATCH:  # plain ints: an IntEnum member lookup per frame adds up (S5)
            seq, name = payload.get("s"), payload.get("t")
            if name.__class__ is not str:
                name = str(name)
            if isinstance(seq, int):
                if self.sequence is not None and seq <= self.sequence:
                    self.log.debug("dropping replayed duplicate [seq:%d t:%s]", seq, name)
                    return False
                self.sequence = seq
            if name == "READY":
                self._on_ready(conn, d)
            elif name == "RESUMED":
                self.log.info("session resumed [seq:%s]", self.sequence)
                self._mark_active(conn)
            if self._task_for(name, d):
                self._start(batch, name, d)
            else:
                batch.append((name, d))
        elif op == _HEARTBEAT:
            return True
        elif op == _HEARTBEAT_ACK:
            conn.acked = True
            if conn.beat_sent_at is not None:
                self.latency_ms = (trio.current_time() - conn.beat_sent_at) * 1000.0
        elif op == P.Opcode.RECONNECT:
            self.log.info("gateway asked to reconnect (op 7), resuming")
            conn.end(Next.RESUME)
        elif op == P.Opcode.INVALID_SESSION:
            if d is True and self.session_id is not None:
                self.log.info("invalid session (resumable), resuming")
                conn.end(Next.RESUME)
            else:
                self._identify_delay_s = self._rng.uniform(*P.INVALID_SESSION_WAIT_S)
                self.log.warning("invalid session, identifying again in >= %.1f s",
                                 self._identify_delay_s)
                conn.end(Next.IDENTIFY)
        elif op != P.Opcode.HELLO:
            self.log.debug("ignoring unknown gateway op %s", op)
        return False

    def _on_ready(self, conn: Conn, d: dict[str, Any]) -> None:
        self.session_id = str(d["session_id"])
        self.resume_gateway_url = d.get("resume_gateway_url") or None
        self._mark_active(conn)
        ready = Ready(session_id=self.session_id,
                      application_id=int((d.get("application") or {}).get("id", 0)),
                      user=dict(d.get("user") or {}),
                      guild_ids=tuple(int(g["id"]) for g in d.get("guilds") or ()))
        self.log.info("session ready [session:%s guilds:%d]", self.session_id,
                      len(ready.guild_ids))
        task_status, self._task_status = self._task_status, trio.TASK_STATUS_IGNORED
        task_status.started(ready)

    def _sequence(self) -> int | None:
        return self.sequence

    def _mark_active(self, conn: Conn) -> None:
        self.state = ShardState.ACTIVE
        conn.active = True

    # ---------------------------------------------------------------- sender
    async def _sender(self, conn: Conn) -> None:
        while True:
            if self._pending_send is None:
                self._pending_send = await self._outbox_recv.receive()
            if not await conn.send(self._pending_send):
                await trio.sleep_forever()  # closed: the reader ends this connection
            self._pending_send = None  # a send cut off by a reconnect goes out on the next


__all__ = ["Ready", "Shard", "ShardState", "default_task_for"]
