"""Fixtures: a served Sandbox on 127.0.0.1:0 and an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from familybot_trio import blocking
from familybot_trio.sandbox import Sandbox


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
