"""Fixtures for end-to-end feature tests: the real bot against FakeDiscord + the sandbox."""

from __future__ import annotations

import functools
import gc
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trio

from familybot_trio.sandbox.world import World


@pytest.fixture(autouse=True)
def _collect_between_tests() -> None:
    # A full collection of earlier tests' garbage must not land inside this test's steps.
    gc.collect()


@pytest.fixture
def start_world(tmp_path: Path, nursery: trio.Nursery) -> Callable[..., "trio.Awaitable[World]"]:
    """`world = await start_world(features=[...])`: a running bot world (cancelled at the end)."""

    async def start(**kw) -> World:
        with trio.fail_after(30):
            return await nursery.start(functools.partial(World.start, tmp_path, **kw))

    return start
