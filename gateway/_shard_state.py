"""What a shard reports about itself: `ShardState` (where it is) and `Ready` (what READY said).

Both are re-exported by `gateway.shard` and `gateway`; read `Shard.state` for health checks
and the console, and take `Ready` from `await nursery.start(shard.run, ...)`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Ready:
    """What READY told us: session_id, application_id, the bot user dict, guild ids."""

    session_id: str
    application_id: int
    user: dict[str, Any]
    guild_ids: tuple[int, ...]


class ShardState(enum.Enum):
    """Where the shard is; read `Shard.state` for health checks and the console."""

    DISCONNECTED = "disconnected"  # between connections (backoff)
    CONNECTING = "connecting"  # websocket handshake, waiting for HELLO
    IDENTIFYING = "identifying"  # IDENTIFY sent, waiting for READY
    RESUMING = "resuming"  # RESUME sent, waiting for RESUMED
    ACTIVE = "active"  # READY or RESUMED received
    FATALLY_CLOSED = "fatally_closed"  # 4004/4010-4014: run() raised FatalCloseError
    STOPPED = "stopped"  # close() finished


__all__ = ["Ready", "ShardState"]
