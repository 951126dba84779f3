"""Per-connection state of a shard: the socket, its inflater and send limiter, and the verdict.

A `Conn` lives for exactly one websocket. Everything that must start fresh on a reconnect
lives here, so a new connection can never inherit it: the zlib inflater (one stream per
connection), the send limiter (Discord counts per connection), and the ACK state (a missing
ACK on the old socket must not count against the new one: Psycheros #42's reconnect loop).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import trio
import trio_websocket

from gateway._protocol import GATEWAY_QUERY
from gateway._send_limiter import SendLimiter
from gateway.codec import ZlibStreamInflater

if TYPE_CHECKING:
    from gateway.errors import FatalCloseError


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

    def end(self, next_step: Next) -> None:
        """Record what comes next (first verdict wins) and cancel the connection's tasks."""
        if self.next is None:
            self.next = next_step
        if self.scope is not None:
            self.scope.cancel()

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
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", GATEWAY_QUERY, ""))
