"""S5: gateway throughput through the Shard (zlib-stream) against the Python decode limit,
and the time from a 4000 close to RESUMED.

FakeGateway runs in its own thread and trio run (see _world.UpstreamThread for why), so its
compress-and-send work is not done by the bot's loop; the two still share the GIL, so the
fake's Python work does slow the shard down (say so when reading the figure).

- events/s: FakeGateway dispatches N MESSAGE_CREATE events (~600 bytes JSON each) as fast
  as it can; the clock runs from the burst's start to the moment the Nth event reached the
  dispatch handler (a task in the handlers nursery, as in the App).
- decode limit: the same N frames, compressed beforehand with one zlib stream, inflated and
  `json.loads`-ed in a plain loop (one thread, nothing else), measured right after each
  burst so both see the same host load; the ratio is taken per repetition. The shard
  decodes with orjson (gateway/codec.py), so the same loop with orjson.loads is reported
  beside it (`s5_orjson_*`): against that limit the ratio shows the shard's own overhead.
- resume: the fake closes the connection with 4000; the clock runs until the handler sees
  RESUMED. The shard waits a jittered 0-1 s before reconnecting (Discord's advice, shard.py),
  seeded here so runs compare.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any, Final

import orjson
import trio

from familybot_trio import blocking
from gateway import Shard
from gateway._protocol import Intents
from bench._raw_gateway import RawGatewayProcess
from gateway.testing import FakeGateway

TOKEN: Final = "bench-token.not-a-secret"
#: The bot's policy for decoding big frames (what App passes to its Shard).
DECODE_RUN_SYNC: Final = functools.partial(blocking.run_sync, "gateway_decode")


def APP_TASK_FOR(name: str, data: Any) -> bool:  # noqa: N802 (a policy constant)
    """What App._needs_task decides with the default config (prefix commands off, no
    MESSAGE_CREATE listener): only interactions get a task of their own."""
    return name == "INTERACTION_CREATE"

#: One MESSAGE_CREATE as Discord sends it (ids are snowflake strings), ~600 bytes of JSON.
MESSAGE: Final = {
    "id": "1250000000000000001", "channel_id": "1200000000000000001", "guild_id": "1234",
    "type": 0, "content": "!deals — anything good on sale for the family this weekend?",
    "author": {"id": "1200000000000000100", "username": "member100", "global_name": "Member",
               "avatar": "a_0123456789abcdef0123456789abcdef", "discriminator": "0",
               "public_flags": 0, "bot": False},
    "member": {"roles": ["1300000000000000001"], "joined_at": "2024-01-01T00:00:00+00:00",
               "nick": None, "deaf": False, "mute": False, "flags": 0},
    "mentions": [], "mention_roles": [], "mention_everyone": False, "attachments": [],
    "embeds": [], "pinned": False, "tts": False, "flags": 0, "components": [],
    "timestamp": "2026-11-29T20:00:00.000000+00:00", "edited_timestamp": None, "nonce": "1"}


class _GatewayThread:
    """A FakeGateway in its own thread and trio run."""

    def __init__(self) -> None:
        self.fake = FakeGateway(token=TOKEN, allowed_intents=0,
                                run_sync=functools.partial(blocking.run_sync, "files"))
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._thread = threading.Thread(target=lambda: trio.run(self._serve), daemon=True,
                                        name="bench-gateway")

    async def _serve(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as self._scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.fake.serve)
                self._ready.set()
                await trio.sleep_forever()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the bench FakeGateway did not start within 30 s")

    def call(self, afn: Any, *args: Any) -> Any:
        return trio.from_thread.run(afn, *args, trio_token=self._token)

    def stop(self) -> None:
        if self._token is not None and self._scope is not None:
            try:
                trio.from_thread.run_sync(self._scope.cancel, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join(30)


def limit_frames(n: int) -> list[bytes]:
    """n MESSAGE_CREATE payloads compressed with one zlib stream, as RawGateway sends them."""
    deflater = zlib.compressobj()
    frames = []
    for seq in range(1, n + 1):
        text = json.dumps({"op": 0, "s": seq, "t": "MESSAGE_CREATE", "d": MESSAGE},
                          separators=(",", ":")).encode()
        frames.append(deflater.compress(text) + deflater.flush(zlib.Z_SYNC_FLUSH))
    return frames


def decode_limit(frames: list[bytes], loads: Callable[[bytes], Any] = json.loads) -> float:
    """Events/s of a plain inflate + `loads` loop over pre-compressed frames (blocking).

    The issue's limit uses the standard library's json.loads; `s5_orjson_*` passes
    orjson.loads, the decoder the shard uses (gateway/codec.py), for comparison.
    """
    inflater = zlib.decompressobj()
    t0 = time.perf_counter()
    for frame in frames:
        loads(inflater.decompress(frame))
    return len(frames) / (time.perf_counter() - t0)


async def _raw_events_per_s(events: int, reps: int, out: dict[str, list[float]]
                            ) -> list[float]:
    """Events/s through a Shard fed by RawGateway bursts (the shard is the bottleneck).

    Right after each burst, on the same host load, the decode limits are measured on the
    same frames (paired: the ratio is taken per repetition, then the median). Appends to
    out["cpu_share"] this process's CPU seconds per wall second of each burst, and to
    out["decode_limit"] / out["orjson_decode_limit"] the paired limits.
    """
    frames = await blocking.run_sync("files", limit_frames, events)
    raw = RawGatewayProcess()
    await blocking.run_sync("files", raw.start)
    state: dict[str, Any] = {"count": 0, "target": 0, "done": trio.Event(), "at": 0.0}

    async def dispatch(name: str, data: Any) -> None:
        if name == "MESSAGE_CREATE":
            state["count"] += 1
            if state["count"] == state["target"]:
                state["at"] = time.perf_counter()
                state["done"].set()

    async def get_gateway_bot() -> dict[str, Any]:
        return {"url": raw.url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}}

    shard = Shard(token=TOKEN, intents=Intents.for_bot(prefix_commands=False),
                  get_gateway_bot=get_gateway_bot, rng=random.Random(7),
                  run_sync=DECODE_RUN_SYNC, task_for=APP_TASK_FOR)
    rates = []
    try:
        async with trio.open_nursery() as handlers:
            await handlers.start(shard.run, dispatch, handlers)
            for _ in range(reps):
                state.update(count=0, target=events, done=trio.Event())
                cpu0 = time.process_time()
                sent_at = await blocking.run_sync("files", raw.burst, "MESSAGE_CREATE",
                                                  MESSAGE, events)
                await state["done"].wait()
                rates.append(events / (state["at"] - sent_at))
                out["cpu_share"].append((time.process_time() - cpu0) / (state["at"] - sent_at))
                out["decode_limit"].append(await blocking.run_sync("files", decode_limit, frames))
                out["orjson_decode_limit"].append(await blocking.run_sync(
                    "files", decode_limit, frames, orjson.loads))
            with trio.move_on_after(3):
                await shard.close()
            handlers.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await blocking.run_sync("files", raw.close)
    return rates


async def s5_gateway(*, events: int, reps: int, resume_reps: int) -> dict[str, Any]:
    """Run the S5 measurements.

    Returns raw lists: events_per_s (RawGateway -> Shard), fakediscord_events_per_s
    (FakeGateway.dispatch one by one -> Shard), decode_limit and orjson_decode_limit
    (paired with events_per_s, one per repetition), cpu_share, resume_s.
    """
    out: dict[str, Any] = {"events": events, "frame_bytes": len(json.dumps(MESSAGE)),
                           "cpu_share": [], "decode_limit": [], "orjson_decode_limit": [],
                           "fakediscord_events_per_s": [], "resume_s": []}
    out["events_per_s"] = await _raw_events_per_s(events, reps, out)
    gw = _GatewayThread()
    await blocking.run_sync("files", gw.start)
    try:
        state: dict[str, Any] = {"count": 0, "target": 0, "done": trio.Event(),
                                 "resumed": trio.Event()}

        async def dispatch(name: str, data: Any) -> None:
            if name == "MESSAGE_CREATE":
                state["count"] += 1
                if state["count"] == state["target"]:
                    state["done"].set()
            elif name == "RESUMED":
                state["resumed"].set()

        async def get_gateway_bot() -> dict[str, Any]:
            return {"url": gw.fake.url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}}

        async def burst(n: int) -> None:
            for _ in range(n):
                await gw.fake.dispatch("MESSAGE_CREATE", MESSAGE)

        shard = Shard(token=TOKEN, intents=Intents.for_bot(prefix_commands=False),
                      get_gateway_bot=get_gateway_bot, rng=random.Random(7),
                      run_sync=DECODE_RUN_SYNC, task_for=APP_TASK_FOR)
        async with trio.open_nursery() as handlers:
            await handlers.start(shard.run, dispatch, handlers)
            small = max(500, events // 10)  # FakeGateway is slow: a tenth is enough
            for _ in range(reps):
                state.update(count=0, target=small, done=trio.Event())
                t0 = time.perf_counter()
                async with trio.open_nursery() as n:
                    n.start_soon(blocking.run_sync, "files", gw.call, burst, small)
                    await state["done"].wait()
                out["fakediscord_events_per_s"].append(small / (time.perf_counter() - t0))
            for _ in range(resume_reps):
                state["resumed"] = trio.Event()
                t0 = time.perf_counter()
                await blocking.run_sync("files", gw.call, gw.fake.close_connection, 4000)
                await state["resumed"].wait()
                out["resume_s"].append(time.perf_counter() - t0)
            out["resumes_served"] = gw.fake.resume_count
            with trio.move_on_after(3):
                await shard.close()
            handlers.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await blocking.run_sync("files", gw.stop)
    return out
