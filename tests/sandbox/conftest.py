"""Fixtures: a served Sandbox on 127.0.0.1:0 and an httpx client."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from familybot_trio import blocking
from familybot_trio.sandbox import Sandbox


@pytest.fixture(autouse=True)
def _quiet_gc() -> None:
    """Collect and freeze the heap before each test (sync, outside the trio run).

    Each test builds a fresh sample family (~30k objects). Measured on this machine: CPython's
    full (gen 2) collections then pause 30-70 ms inside some task step, and the loop-block
    detector blames whichever task was running. gc.freeze() keeps the long-lived heap out of
    those scans, so the detector measures our code, not the collector.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture
async def sandbox(nursery: trio.Nursery) -> Sandbox:
    """A started sandbox (seed 1); the test's nursery cancels it at the end."""
    with trio.fail_after(20):
        return await nursery.start(Sandbox(seed=1).serve)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client (no retries, no redirects).

    Built in a thread: AsyncClient() loads the CA bundle (~70 ms), which would trip the
    loop-block detector.
    """
    client = await blocking.run_sync("files", lambda: httpx.AsyncClient(timeout=10))
    async with client:
        yield client
