"""FakeGateway: a scriptable Discord gateway v10 on 127.0.0.1 (trio-websocket, zlib-stream).

It speaks the real protocol the way Discord does: HELLO, heartbeat ACKs, IDENTIFY -> READY,
RESUME -> replay of missed events + RESUMED, op 9 for bad resumes, close 4008 past 120 sends
per 60 s, 4002 for payloads over 4096 bytes, 4012 for a missing `v=10`. RESUME is served only
on the `resume_gateway_url` path it hands out (like Discord's per-session host), so a client
that resumes on the main URL gets op 9 d=false.

Tests script faults with attributes (withhold_acks, split_frames, close_on_identify, ...) and
methods (send_op, close_connection, drop_tcp, dispatch, send_big_dispatch), and read back
what clients sent from `received`. Time stamps use the trio clock (autojump-friendly).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket
from wsproto.connection import ConnectionState
from wsproto.events import Message

from gateway.testing._gateway_rules import (
    COMPRESSIONS,
    CloseWith,
    guild_create_payload,
    parse_frame,
    ready_payload,
)
from gateway._protocol import MAX_FRAME_BYTES, MAX_PAYLOAD_BYTES, SEND_LIMIT, SEND_WINDOW_S
from gateway._threads import RunSync, default_run_sync

log = logging.getLogger("gateway.testing.gateway")

RESUME_PATH: Final = "/resume"


@dataclass(frozen=True, slots=True)
class Received:
    """One payload a client sent: connection id, trio time (s), op and d."""

    conn_id: int
    at: float
    op: int
    d: Any


@dataclass(slots=True)
class _Session:
    session_id: str
    events: list[tuple[int, str, Any]] = field(default_factory=list)  # (seq, t, d)
    seq: int = 0


@dataclass(slots=True)
class _Conn:
    conn_id: int
    ws: WebSocketConnection
    path: str
    compress: str | None = None  # the `compress` the client asked for
    deflater: Any = field(default_factory=zlib.compressobj)
    lock: trio.Lock = field(default_factory=trio.Lock)
    session: _Session | None = None
    sends: deque[float] = field(default_factory=deque)
    server_closed: bool = False  # this fake closed or dropped it (not a client close)


class FakeGateway:
    """Scriptable Discord gateway on 127.0.0.1 (trio-websocket server), zlib-stream.

    Args: heartbeat_interval_ms: sent in HELLO; token: when set, IDENTIFY/RESUME with another
        token close 4004; allowed_intents: privileged intents the "portal" enabled (others
        close 4014); guild_ids: guilds listed in READY; run_sync: `await run_sync(fn, *args)`
        runs the deflating of big frames off the loop (default: a worker thread under the
        gateway's own small limiter).
    """

    def __init__(self, *, heartbeat_interval_ms: int = 41250, token: str | None = None,
                 allowed_intents: int = 1 << 15, guild_ids: tuple[int, ...] = (1234,),
                 run_sync: RunSync = default_run_sync) -> None:
        self._run_sync = run_sync
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.token, self.allowed_intents, self.guild_ids = token, allowed_intents, guild_ids
        self.url = ""
        self.received: list[Received] = []
        self.identify_count = self.resume_count = 0
        self.client_close_codes: list[int | None] = []  # code each client close carried
        self.server_close_codes: list[int] = []  # codes this fake closed with
        self.server_close_answered: list[bool] = []  # per server close: client echoed it
        self.paths: list[str] = []  # path+query of every accepted connection
        self.refused_handshakes: list[str] = []  # path+query of upgrades answered 400
        self.user_agents: list[str | None] = []  # User-Agent of every accepted handshake
        self.connected_at: list[float] = []  # trio time of every accepted connection
        # Knobs tests flip:
        self.withhold_acks = False  # stop sending op 11
        self.split_frames = False  # split each zlib payload over 2+ messages
        self.first_op_reconnect = 0  # next N connections get op 7 instead of HELLO, then 4000
        self.no_hello_connections = 0  # next N connections never get HELLO (client times out)
        self.silent_handshakes = 0  # next N connections: TCP accepted, no 101 answer, ever
        self.close_on_identify: int | None = None  # close code answering IDENTIFY
        self.invalidate_identifies = 0  # next N IDENTIFYs answered with op 9 d=false
        self.resume_mode = "replay"  # "replay" | "invalid" | "drop_tcp"
        self.replay_overlap = 0  # on RESUME also resend this many already-seen events
        self.resume_gateway_url: str | None = None  # READY's value; default url + RESUME_PATH
        self.resume_anywhere = False  # accept RESUME on any path (fallback tests)
        self._session: _Session | None = None
        self._live: _Conn | None = None
        self._conn_ids = 0
        self._changed = trio.Event()

    # ---------------------------------------------------------------- serving
    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        """Serve on 127.0.0.1, a free port; `task_status.started(url)`. Runs until cancelled."""
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                lambda task_status: serve_websocket(
                    self._handle, "127.0.0.1", 0, None, handler_nursery=nursery,
                    max_message_size=MAX_FRAME_BYTES, message_queue_size=256,
                    disconnect_timeout=2, task_status=task_status))
            self.url = f"ws://127.0.0.1:{server.port}"
            task_status.started(self.url)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _handle(self, request: WebSocketRequest) -> None:
        if self.silent_handshakes:  # a load balancer whose backend is gone
            self.silent_handshakes -= 1
            self.paths.append(request.path)
            self._notify()
            await trio.sleep_forever()
        compress = parse_qs(urlsplit(request.path).query).get("compress", [None])[0]
        if compress not in COMPRESSIONS:
            self.refused_handshakes.append(request.path)
            self._notify()
            await request.reject(400, body=f"compress={compress} is not supported here; "
                                 "use zlib-stream or none".encode())
            return
        self.user_agents.append(dict(request.headers).get(b"user-agent", b"").decode() or None)
        ws = await request.accept()
        self._conn_ids += 1
        conn = _Conn(self._conn_ids, ws, request.path, compress)
        self.paths.append(request.path)
        self.connected_at.append(trio.current_time())
        self._live = conn
        self._notify()
        try:
            await self._speak(conn)
        except ConnectionClosed as exc:
            if conn.server_closed:
                return
            code = exc.reason.code if exc.reason else None
            self.client_close_codes.append(code)
            if code in (1000, 1001) and conn.session is self._session:
                self._session = None  # like Discord: a 1000/1001 close ends the session
            self._notify()
        except trio.BrokenResourceError:
            if not conn.server_closed:
                self.client_close_codes.append(None)
                self._notify()
        except trio.Cancelled:
            # The fake is shutting down (its test ended): like a server process that exits,
            # its sockets close now, so a client waiting for a close answer sees EOF at once.
            await trio.aclose_forcefully(conn.ws._stream)
            raise
        finally:
            if self._live is conn:
                self._live = None

    async def _speak(self, conn: _Conn) -> None:
        query = parse_qs(urlsplit(conn.path).query)
        if query.get("v") != ["10"] or query.get("encoding") != ["json"]:
            await self._close(conn, 4012, "invalid API version")
            return
        if self.first_op_reconnect:
            self.first_op_reconnect -= 1
            await self._send(conn, {"op": 7, "d": None})
            await self._close(conn, 4000, "reconnect")
            return
        if self.no_hello_connections:
            self.no_hello_connections -= 1
            while True:
                await conn.ws.get_message()  # until the client gives up and closes
        await self._send(conn, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        while True:
            raw = await conn.ws.get_message()
            now = trio.current_time()
            conn.sends.append(now)
            while conn.sends[0] <= now - SEND_WINDOW_S:
                conn.sends.popleft()
            if len(conn.sends) > SEND_LIMIT:
                await self._close(conn, 4008, "rate limited")
                return
            if len(raw.encode() if isinstance(raw, str) else raw) > MAX_PAYLOAD_BYTES:
                await self._close(conn, 4002, "payload too large")
                return
            try:
                op, d = parse_frame(raw, identified=conn.session is not None)
            except CloseWith as exc:  # only this connection; the fake serves on
                await self._close(conn, exc.code, exc.reason)
                return
            self.received.append(Received(conn.conn_id, now, op, d))
            self._notify()
            if op == 1:
                if not self.withhold_acks:
                    await self._send(conn, {"op": 11})
            elif op == 2:
                if await self._identify(conn, d):
                    return
            elif op == 6:
                if await self._resume(conn, d):
                    return

    async def _identify(self, conn: _Conn, d: dict[str, Any]) -> bool:
        self.identify_count += 1
        if self.token is not None and d.get("token") != self.token:
            await self._close(conn, 4004, "Authentication failed.")
            return True
        if self.close_on_identify is not None:
            await self._close(conn, self.close_on_identify, "scripted")
            return True
        if d.get("intents", 0) & (1 << 1 | 1 << 8 | 1 << 15) & ~self.allowed_intents:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return True
        if self.invalidate_identifies:
            self.invalidate_identifies -= 1
            await self._send(conn, {"op": 9, "d": False})
            return False
        self._session = conn.session = _Session(f"session-{self.identify_count}")
        ready = ready_payload(conn.session.session_id,
                              self.resume_gateway_url or self.url + RESUME_PATH,
                              self.guild_ids, d.get("shard"))
        await self._dispatch_on(conn, "READY", ready)
        if d["intents"] & 1:  # GUILDS: each unavailable guild of READY arrives as GUILD_CREATE
            for guild_id in self.guild_ids:
                await self._dispatch_on(conn, "GUILD_CREATE", guild_create_payload(guild_id))
        return False

    async def _resume(self, conn: _Conn, d: dict[str, Any]) -> bool:
        self.resume_count += 1
        session = self._session
        if self.resume_mode == "drop_tcp":
            conn.server_closed = True
            await conn.ws._stream.aclose()  # no close frame: the client sees 1006
            return True
        if (self.resume_mode == "invalid" or session is None
                or not (self.resume_anywhere
                        or urlsplit(conn.path).path.startswith(RESUME_PATH))
                or d.get("session_id") != session.session_id):
            await self._send(conn, {"op": 9, "d": False})
            return False
        conn.session = session
        seq = int(d.get("seq") or 0)
        for s, t, data in session.events:
            if s > seq - self.replay_overlap:
                await self._send(conn, {"op": 0, "s": s, "t": t, "d": data})
        await self._dispatch_on(conn, "RESUMED", {})
        return False

    # ---------------------------------------------------------------- sending
    async def _send(self, conn: _Conn, payload: dict[str, Any]) -> None:
        if conn.compress is None:  # no transport compression asked for: text frames
            async with conn.lock:
                await conn.ws.send_message(json.dumps(payload, separators=(",", ":")))
            return
        text = json.dumps(payload, separators=(",", ":")).encode()
        async with conn.lock:  # one zlib stream: compress and send in order
            if len(text) > 64 * 1024:
                blob = await self._run_sync(_deflate, conn.deflater, text)
            else:
                blob = _deflate(conn.deflater, text)
            if self.split_frames and len(blob) >= 2:
                cut = max(1, len(blob) // 3)
                parts = [blob[:cut], blob[cut:2 * cut], blob[2 * cut:]]
            else:
                parts = [blob]
            for part in parts:
                if part:
                    await conn.ws.send_message(part)

    async def _dispatch_on(self, conn: _Conn, t: str, d: Any) -> int:
        session = conn.session
        assert session is not None
        session.seq += 1
        session.events.append((session.seq, t, d))
        await self._send(conn, {"op": 0, "s": session.seq, "t": t, "d": d})
        return session.seq

    async def _close(self, conn: _Conn, code: int, reason: str) -> None:
        conn.server_closed = True
        self.server_close_codes.append(code)
        self._notify()
        with trio.move_on_after(2):
            await conn.ws.aclose(code, reason)
        # CLOSED = our close frame was answered by the client's (RFC 6455 5.5.1); a client
        # that never read it leaves the handshake half done (LOCAL_CLOSING).
        self.server_close_answered.append(conn.ws._wsproto.state is ConnectionState.CLOSED)

    def _require_live(self) -> _Conn:
        if self._live is None:
            raise RuntimeError("FakeGateway has no live connection; await wait_for_op first")
        return self._live

    # ---------------------------------------------------------------- test API
    async def dispatch(self, t: str, d: dict[str, Any], *, deliver: bool = True) -> int:
        """Dispatch event `t` in the current session; returns its seq.

        Args: deliver: False records it for RESUME replay without sending (lost in flight).
        Raises: RuntimeError when no session exists yet.
        """
        if self._session is None:
            raise RuntimeError("no session: wait for IDENTIFY before dispatching")
        live = self._live
        if deliver and live is not None and live.session is self._session:
            return await self._dispatch_on(live, t, d)
        self._session.seq += 1
        self._session.events.append((self._session.seq, t, d))
        return self._session.seq

    async def dispatch_burst(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Dispatch `events` in the current session as ONE write to the socket: the frames
        arrive together, the way a busy guild's events come in one TCP segment."""
        live = self._require_live()
        session = live.session
        assert session is not None and session is self._session
        async with live.lock:
            wire = bytearray()
            for t, d in events:
                session.seq += 1
                session.events.append((session.seq, t, d))
                text = json.dumps({"op": 0, "s": session.seq, "t": t, "d": d},
                                  separators=(",", ":")).encode()
                wire += live.ws._wsproto.send(Message(data=_deflate(live.deflater, text)))
            await live.ws._stream.send_all(bytes(wire))

    async def send_big_dispatch(self, size_bytes: int) -> None:
        """Dispatch GUILD_CREATE with `size_bytes` of incompressible text (big-frame test)."""
        def make() -> str:
            return base64.b64encode(os.urandom(size_bytes)).decode()[:size_bytes]

        blob = await self._run_sync(make)  # ~20 ms of work: off the loop
        await self.dispatch("GUILD_CREATE", {"id": "1234", "big": blob})

    async def send_op(self, op: int, d: Any = None) -> None:
        """Send a raw op (1, 7, 9, ...) to the live connection."""
        await self._send(self._require_live(), {"op": op, "d": d})

    async def close_connection(self, code: int, reason: str = "") -> None:
        """Close the live connection with `code` (bounded to 2 s)."""
        await self._close(self._require_live(), code, reason)

    async def drop_tcp(self) -> None:
        """Close the live connection's TCP stream with no close frame (client sees 1006)."""
        conn = self._require_live()
        conn.server_closed = True
        self.server_close_codes.append(1006)
        await conn.ws._stream.aclose()

    def heartbeat_gaps(self) -> list[float]:
        """Seconds (trio clock) between consecutive heartbeats, over all connections."""
        times = [r.at for r in self.received if r.op == 1]
        return [b - a for a, b in zip(times, times[1:], strict=False)]

    def ops(self, op: int) -> list[Received]:
        """Every received payload with opcode `op`, in order."""
        return [r for r in self.received if r.op == op]

    async def wait_for_op(self, op: int, count: int = 1) -> None:
        """Wait until clients have sent `op` at least `count` times in total."""
        while len(self.ops(op)) < count:
            await self._changed.wait()

    async def wait_for_client_close(self, count: int = 1) -> None:
        """Wait until `count` client-side closes (or drops) were seen."""
        while len(self.client_close_codes) < count:
            await self._changed.wait()


def _deflate(deflater: Any, text: bytes) -> bytes:
    return deflater.compress(text) + deflater.flush(zlib.Z_SYNC_FLUSH)
