"""Shared helpers for the shard tests: a FakeGateway plus a Shard wired to it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio

from gateway._protocol import Intents
from gateway.shard import Ready, Shard
from gateway.testing._gateway_server import FakeGateway

TOKEN = "test-token.not-a-secret"
INTENTS = Intents.for_bot(prefix_commands=False)


@dataclass
class Harness:
    fake: FakeGateway
    shard: Shard
    ready: Ready
    events: list[tuple[str, Any]] = field(default_factory=list)
    event_added: trio.Event = field(default_factory=trio.Event)

    async def wait_for_event(self, name: str, count: int = 1) -> None:
        while sum(1 for n, _ in self.events if n == name) < count:
            await self.event_added.wait()


def gateway_bot(url: str, remaining: int = 1000, reset_after_ms: int = 86_400_000):
    async def get_gateway_bot() -> dict[str, Any]:
        return {"url": url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": remaining, "reset_after": reset_after_ms,
            "max_concurrency": 1}}
    return get_gateway_bot


@asynccontextmanager
async def running_shard(*, interval_ms: int = 41250, intents: int = INTENTS, handler=None,
                        fake: FakeGateway | None = None, remaining: int = 1000,
                        reset_after_ms: int = 86_400_000,
                        **shard_kw: Any) -> AsyncIterator[Harness]:
    """Serve a FakeGateway, run a Shard against it until READY, yield; close at the end.

    shard_kw: further Shard arguments (e.g. run_sync).
    """
    fake = fake or FakeGateway(heartbeat_interval_ms=interval_ms, token=TOKEN, allowed_intents=0,
                              guild_ids=())  # no GUILD_CREATE: seq 1 is READY
    async with trio.open_nursery() as servers:
        await servers.start(fake.serve)
        shard = Shard(token=TOKEN, intents=intents, rng=random.Random(7),
                      get_gateway_bot=gateway_bot(fake.url, remaining, reset_after_ms),
                      **shard_kw)
        h = Harness(fake, shard, ready=None)  # type: ignore[arg-type]

        async def dispatch(name: str, data: Any) -> None:
            h.events.append((name, data))
            h.event_added.set()
            h.event_added = trio.Event()
            if handler is not None:
                await handler(name, data)

        async with trio.open_nursery() as handlers:
            h.ready = await handlers.start(shard.run, dispatch, handlers)
            yield h
            await shard.close()
            handlers.cancel_scope.cancel()
        servers.cancel_scope.cancel()
