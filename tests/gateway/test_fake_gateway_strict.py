"""FakeGateway answers bad frames like Discord: close that connection (4002 / 4001 / 4003 /
4005), keep serving the others; compression only when asked (issue 11 "Why" 2 and 3)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock
from trio_websocket import ConnectionClosed, HandshakeError, open_websocket_url

from gateway.testing._gateway_server import FakeGateway
from tests._clocks import thread_aware_autojump


IDENTIFY = {"op": 2, "d": {"token": "tok", "intents": 1, "shard": [0, 1],
                           "properties": {"os": "linux", "browser": "t", "device": "t"}}}


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def _close_code_after(url: str, frames: list[str]) -> int | None:
    async with open_websocket_url(url) as ws:
        await ws.get_message()  # HELLO (text: no compress asked)
        for frame in frames:
            await ws.send_message(frame)
        try:
            while True:
                await ws.get_message()
        except ConnectionClosed as exc:
            return exc.reason.code if exc.reason else None


@pytest.mark.parametrize(("frames", "code"), [
    (["not json{"], 4002),
    (['{"d":1}'], 4002),
    (['{"op":2,"d":null}'], 4002),
    (['{"op":99,"d":null}'], 4001),
    (['{"op":3,"d":{"status":"online"}}'], 4003),
    ([json.dumps(IDENTIFY), json.dumps(IDENTIFY)], 4005),
])
async def test_a_bad_frame_closes_only_that_connection(clock: MockClock, frames: list[str],
                                                       code: int) -> None:
    fake = FakeGateway(token="tok")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            url = await nursery.start(fake.serve) + "/?v=10&encoding=json"
            assert await _close_code_after(url, frames) == code
            # The fake still serves: a good client reaches READY afterwards.
            async with open_websocket_url(url) as ws:
                hello = json.loads(await ws.get_message())
                await ws.send_message(json.dumps(IDENTIFY))
                ready = json.loads(await ws.get_message())
                guild = json.loads(await ws.get_message())
            nursery.cancel_scope.cancel()
    assert hello["op"] == 10 and ready["t"] == "READY" and ready["d"]["shard"] == [0, 1]
    assert ready["d"]["user"]["discriminator"] == "0" and "avatar" in ready["d"]["user"]
    assert guild["t"] == "GUILD_CREATE" and guild["d"]["unavailable"] is False
    assert fake.server_close_codes[0] == code


async def test_compression_only_when_asked_and_zstd_refused(clock: MockClock) -> None:
    fake = FakeGateway(token="tok")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            base = await nursery.start(fake.serve) + "/?v=10&encoding=json"
            async with open_websocket_url(base) as ws:
                plain = await ws.get_message()
            async with open_websocket_url(base + "&compress=zlib-stream") as ws:
                packed = await ws.get_message()
            with pytest.raises(HandshakeError):
                async with open_websocket_url(base + "&compress=zstd-stream"):
                    pass
            nursery.cancel_scope.cancel()
    assert isinstance(plain, str) and json.loads(plain)["op"] == 10
    assert isinstance(packed, bytes) and packed.endswith(b"\x00\x00\xff\xff")
    assert json.loads(zlib.decompressobj().decompress(packed))["op"] == 10
    assert fake.refused_handshakes == ["/?v=10&encoding=json&compress=zstd-stream"]
