"""A minimal gateway peer that can send pre-encoded frames at socket speed (S5's fast sender).

FakeGateway encodes, compresses and frames every dispatch in Python on its own loop: at a
few thousand events/s that is the limit S5 would measure, not the shard's. This peer speaks
just enough of the protocol (websocket handshake by wsproto, HELLO, IDENTIFY -> READY,
heartbeat ACKs, one zlib stream) on plain blocking sockets in a thread, and sends a burst as
ONE `sendall` of frames compressed beforehand, so the receiving shard is the bottleneck.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping,
                            Request, TextMessage)


class RawGateway:
    """Serves one client connection on 127.0.0.1 (port 0) in a daemon thread.

    Attributes: url ("ws://127.0.0.1:PORT"), identified (threading.Event), sent_at
    (perf_counter just before the last burst's sendall), seq (last sequence sent).
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}"
        self.identified = threading.Event()
        self.sent_at = 0.0
        self.seq = 0
        self._lock = threading.Lock()
        self._deflater = zlib.compressobj()
        self._ws = WSConnection(ConnectionType.SERVER)
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True, name="bench-raw-gw")

    def start(self) -> None:
        """Start serving (returns at once)."""
        self._thread.start()

    def _frame(self, payload: dict[str, Any]) -> bytes:
        text = json.dumps(payload, separators=(",", ":")).encode()
        blob = self._deflater.compress(text) + self._deflater.flush(zlib.Z_SYNC_FLUSH)
        return self._ws.send(Message(data=blob))

    def _send(self, payload: dict[str, Any]) -> None:
        with self._lock:
            assert self._sock is not None
            self._sock.sendall(self._frame(payload))

    def _serve(self) -> None:
        sock, _ = self._listener.accept()
        self._sock = sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            data = sock.recv(65536)
            if not data:
                return
            self._ws.receive_data(data)
            for event in self._ws.events():
                if isinstance(event, Request):
                    with self._lock:
                        sock.sendall(self._ws.send(AcceptConnection()))
                    self._send({"op": 10, "d": {"heartbeat_interval": 41250}})
                elif isinstance(event, (TextMessage, BytesMessage)):
                    self._on_payload(json.loads(event.data))
                elif isinstance(event, Ping):
                    with self._lock:
                        sock.sendall(self._ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    with self._lock:
                        sock.sendall(self._ws.send(event.response()))
                    sock.close()
                    return

    def _on_payload(self, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        if op == 1:
            self._send({"op": 11})
        elif op == 2:
            self.seq += 1
            self._send({"op": 0, "s": self.seq, "t": "READY", "d": {
                "v": 10, "user": {"id": "1100000000000000002", "username": "familybot",
                                  "bot": True},
                "session_id": "bench-session", "resume_gateway_url": self.url,
                "guilds": [], "application": {"id": "1100000000000000001", "flags": 0}}})
            self.identified.set()

    def burst(self, event: str, d: dict[str, Any], n: int) -> None:
        """Compress n dispatches of `event`, then send them in one sendall (blocking).

        `sent_at` is set just before the sendall: time the receiver from there.
        """
        with self._lock:
            assert self._sock is not None
            frames = []
            for _ in range(n):
                self.seq += 1
                frames.append(self._frame({"op": 0, "s": self.seq, "t": event, "d": d}))
            blob = b"".join(frames)
            self.sent_at = time.perf_counter()
            self._sock.sendall(blob)

    def close(self) -> None:
        """Close the sockets (the shard sees the TCP stream end)."""
        for s in (self._sock, self._listener):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


def _child(conn: Any) -> None:
    """Process entry: serve a RawGateway, answer ("burst", event, d, n) with sent_at."""
    gw = RawGateway()
    gw.start()
    conn.send(gw.url)
    while True:
        msg = conn.recv()
        if msg[0] == "burst":
            gw.burst(msg[1], msg[2], msg[3])
            conn.send(gw.sent_at)
        else:
            gw.close()
            conn.send(None)
            return


class RawGatewayProcess:
    """A RawGateway in a child process (spawned): no GIL shared with the bot's loop.

    All methods block: call them through `blocking.run_sync`. `sent_at` values are
    `time.perf_counter()` of the child (CLOCK_MONOTONIC on Linux, shared by processes).
    """

    def __init__(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child,), daemon=True)
        self.url = ""

    def start(self) -> str:
        """Spawn the child; returns its URL."""
        self._proc.start()
        self.url = self._conn.recv()
        return self.url

    def burst(self, event: str, d: dict[str, Any], n: int) -> float:
        """n dispatches in one sendall; returns the child's perf_counter before sending."""
        self._conn.send(("burst", event, d, n))
        return float(self._conn.recv())

    def close(self) -> None:
        """Stop the child and wait for it (at most 10 s, then kill)."""
        try:
            self._conn.send(("close",))
            self._conn.recv()
        except (EOFError, OSError):
            pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
