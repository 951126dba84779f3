"""zlib-stream codec on recorded-like bytes: whole, split, per-connection inflaters."""

from __future__ import annotations

import json
import zlib

import pytest

from gateway.codec import DecodeError, ZlibStreamInflater, decode_json, encode_json

HELLO = {"op": 10, "d": {"heartbeat_interval": 41250, "_trace": ["[\"gateway-prd-1\"]"]},
         "s": None, "t": None}
READY = {"op": 0, "s": 1, "t": "READY", "d": {"v": 10, "session_id": "abc",
                                               "resume_gateway_url": "wss://r.discord.gg",
                                               "user": {"id": "1", "username": "bot"}}}


def server_stream(*payloads: dict) -> list[bytes]:
    """What Discord sends: one zlib stream, each payload sync-flushed (ends 00 00 ff ff)."""
    deflater = zlib.compressobj()
    out = []
    for p in payloads:
        raw = json.dumps(p).encode()
        out.append(deflater.compress(raw) + deflater.flush(zlib.Z_SYNC_FLUSH))
    return out


def test_recorded_hello_whole() -> None:
    (frame,) = server_stream(HELLO)
    assert frame.endswith(b"\x00\x00\xff\xff")
    assert ZlibStreamInflater().feed(frame) == HELLO


def test_stream_of_payloads_shares_one_dictionary() -> None:
    inflater = ZlibStreamInflater()
    frames = server_stream(HELLO, READY, READY)
    assert [inflater.feed(f) for f in frames] == [HELLO, READY, READY]


@pytest.mark.parametrize("cuts", [1, 2, 5])
def test_split_payload_is_buffered_until_suffix(cuts: int) -> None:
    inflater = ZlibStreamInflater()
    hello, ready = server_stream(HELLO, READY)
    assert inflater.feed(hello) == HELLO
    size = max(1, len(ready) // (cuts + 1))
    parts = [ready[i:i + size] for i in range(0, len(ready), size)]
    results = [inflater.feed(p) for p in parts]
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1] == READY


def test_suffix_split_across_messages() -> None:
    (frame,) = server_stream(READY)
    inflater = ZlibStreamInflater()
    assert inflater.feed(frame[:-2]) is None
    assert inflater.feed(frame[-2:]) == READY


def test_reused_inflater_fails_on_new_stream() -> None:
    """A new connection starts a new zlib stream; the old inflater cannot read it."""
    inflater = ZlibStreamInflater()
    inflater.feed(server_stream(HELLO)[0])
    with pytest.raises(DecodeError, match="reused"):
        inflater.feed(server_stream(HELLO)[0])  # header of a fresh stream
    assert ZlibStreamInflater().feed(server_stream(HELLO)[0]) == HELLO


def test_big_payload_output_is_not_capped() -> None:
    big = {"op": 0, "s": 2, "t": "GUILD_CREATE", "d": {"members": ["x" * 100] * 50_000}}
    (frame,) = server_stream(big)
    assert ZlibStreamInflater().feed(frame) == big


def test_decode_json_errors_and_encode() -> None:
    with pytest.raises(DecodeError):
        decode_json(b"not json")
    with pytest.raises(DecodeError):
        decode_json(b"[1, 2]")
    assert decode_json('{"op": 11}') == {"op": 11}
    assert json.loads(encode_json(1, None)) == {"op": 1, "d": None}
