"""The private parts of trio-websocket the shard relies on are where it expects them.

gateway/_connection.py reads trio-websocket internals for speed and for the close verdict
(bench S5): `WebSocketConnection._recv_channel` (the message queue `Conn.receive_ready`
drains without a task switch per frame), `._send_channel` (wrapped by `_EagerSend` so its
reader queues a whole socket read in one step) and `._wsproto.state` (`close_websocket`:
did the server answer our close). pyproject pins trio-websocket to the range these were
checked on; this test fails, naming what moved, when an upgrade changes them.
"""

from __future__ import annotations

import trio
import trio_websocket
from wsproto.connection import ConnectionState

from gateway._connection import Conn, _EagerSend, close_websocket, gateway_url_with_query, \
    host_websocket
from gateway._threads import default_run_sync
from gateway.codec import encode_json
from gateway.testing._gateway_server import FakeGateway
from tests.gateway._shard_helpers import TOKEN

MOVED = (f"trio-websocket {getattr(trio_websocket, '__version__', '?')} changed its internals: "
         "update gateway/_connection.py (receive_ready, _hand_over_eagerly, close_websocket) "
         "and the trio-websocket pin in pyproject.toml")


async def test_private_layout_used_by_the_shard_is_there() -> None:
    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=())
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(fake.serve)
            ws, host = await nursery.start(host_websocket, gateway_url_with_query(fake.url))
            try:
                assert isinstance(getattr(ws, "_recv_channel", None),
                                  trio.MemoryReceiveChannel), MOVED
                assert isinstance(getattr(ws, "_send_channel", None), _EagerSend), MOVED
                assert getattr(getattr(ws, "_wsproto", None), "state", None) \
                    is ConnectionState.OPEN, MOVED

                conn = Conn(resuming=False, ws=ws)
                hello = await conn.receive(default_run_sync)
                assert hello["op"] == 10
                assert conn.receive_ready() is None  # nothing queued: returns at once
                await ws.send_message(encode_json(1, None))  # heartbeat: the fake ACKs (op 11)
                while ws._recv_channel.statistics().current_buffer_used == 0:
                    await trio.sleep(0.01)
                assert conn.receive_ready() == {"op": 11}, MOVED  # read straight off the queue

                assert await close_websocket(ws, 1000), "our close was not answered"
                assert ws._wsproto.state is ConnectionState.CLOSED, MOVED
            finally:
                host.cancel()  # shielded once open: a failed assert must not hang
            nursery.cancel_scope.cancel()
    assert fake.client_close_codes == [1000]
