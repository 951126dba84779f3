"""Gateway frame codec: zlib-stream inflation (one inflater per connection) and JSON.

With `compress=zlib-stream` the server keeps ONE zlib stream for the whole connection and
ends every payload with a Z_SYNC_FLUSH (`00 00 ff ff`). A payload may span several websocket
messages, so bytes are buffered until the buffer ends with that suffix, then the whole buffer
is inflated and decoded. The inflater carries the stream's dictionary: it must be new for
every connection (reusing one gives "zlib error -3", eris PR #1364) and its output is never
capped (a capped read truncated JSON in discord.js #10414).

Big frames (a 5 MB READY) cost tens of milliseconds to inflate and parse: `needs_thread`
tells the shard when to move `feed` to a worker thread so the trio loop stays free.

JSON is decoded with orjson (about a quarter of json.loads' time on a MESSAGE_CREATE,
bench S5); what we send is still encoded by the standard library (text frames want str).

Upstream: Discord docs, Gateway > Transport Compression; shared/docs/discord-protocol.md 1.8.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Final

import orjson

from gateway._protocol import MAX_FRAME_BYTES, ZLIB_SUFFIX
from gateway.errors import GatewayError

#: Above this many buffered bytes, inflate + parse in a worker thread (about 1 ms of loop
#: time per 64 KiB of compressed JSON on a slow core; text frames count the same).
THREAD_THRESHOLD_BYTES: Final = 64 * 1024


class DecodeError(GatewayError):
    """A frame could not be inflated or parsed (corrupt stream or not JSON).

    The connection is unusable afterwards: close it (4000) and resume on a new one.
    """


class ZlibStreamInflater:
    """Inflates one connection's zlib-stream; create a new one for every connection.

    Not thread-safe: one reader calls it at a time (the shard's reader task, possibly in a
    worker thread for a big frame).
    """

    __slots__ = ("_buffer", "_inflater")

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj()
        self._buffer = bytearray()

    def buffered(self, data: bytes) -> int:
        """Bytes `feed(data)` would process: buffered so far plus `data` (for needs_thread)."""
        return len(self._buffer) + len(data)

    def feed(self, data: bytes) -> dict[str, Any] | None:
        """Add one binary websocket message; return the payload once it is complete.

        Args: data: one binary message (a whole payload, or a part of one).
        Returns: the decoded payload dict when `data` ends with the sync-flush suffix, else
            None (more parts to come).
        Raises: DecodeError for a corrupt stream, bad UTF-8 or bad JSON, or a buffered
            payload above MAX_FRAME_BYTES (a server that never flushes).
        """
        if not self._buffer and data.endswith(ZLIB_SUFFIX):  # the usual case: one message
            try:
                return decode_json(self._inflater.decompress(data))
            except zlib.error as exc:
                raise DecodeError(f"zlib-stream inflate failed ({exc}); was the inflater "
                                  "reused across connections?") from exc
        self._buffer += data
        if len(self._buffer) > MAX_FRAME_BYTES:
            size = len(self._buffer)
            self._buffer.clear()
            raise DecodeError(f"zlib-stream payload passed {MAX_FRAME_BYTES} bytes without a "
                              f"sync flush ({size} buffered); the stream is corrupt")
        if not self._buffer.endswith(ZLIB_SUFFIX):
            return None
        try:
            raw = self._inflater.decompress(bytes(self._buffer))
        except zlib.error as exc:
            raise DecodeError(f"zlib-stream inflate failed ({exc}); was the inflater reused "
                              "across connections?") from exc
        finally:
            self._buffer.clear()
        return decode_json(raw)


def decode_json(raw: bytes | str) -> dict[str, Any]:
    """Parse one gateway payload.

    Args: raw: UTF-8 JSON bytes or text of one payload.
    Returns: the payload dict (`op`, `d`, `s`, `t`).
    Raises: DecodeError when it is not JSON or not an object with an int `op`.
    """
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:  # also bad UTF-8
        raise DecodeError(f"gateway payload is not JSON: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("op"), int):
        raise DecodeError(f"gateway payload has no int `op`: {str(payload)[:120]!r}")
    return payload


def encode_json(op: int, d: object) -> str:
    """Serialize one payload we send as compact JSON text.

    Args: op: an Opcode; d: the JSON-able data.
    Returns: the text frame (the caller checks MAX_PAYLOAD_BYTES on its UTF-8 length).
    Raises: TypeError when `d` is not JSON-serializable.
    """
    return json.dumps({"op": int(op), "d": d}, separators=(",", ":"), ensure_ascii=False)


def needs_thread(size_bytes: int) -> bool:
    """True when a frame of `size_bytes` should be decoded off the trio loop."""
    return size_bytes > THREAD_THRESHOLD_BYTES
