"""Fixtures for end-to-end feature tests: the real bot against FakeDiscord + the sandbox."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import trio

from familybot_trio.sandbox.world import World


#: Discord codes that mean the bot sent a body Discord refuses (the strict FakeDiscord's
#: validation): a malformed form body, an empty message, an invalid callback.
REFUSED_BODY_CODES = frozenset({50035, 50006, 50109})


@pytest.fixture
def start_world(tmp_path: Path, nursery: trio.Nursery) -> Iterator[Callable[..., "trio.Awaitable[World]"]]:
    """`world = await start_world(features=[...])`: a running bot world (cancelled at the end).

    At the end, fails the test if FakeDiscord refused any body the bot sent (400 with
    50035 / 50006 / 50109) that the test did not script itself: every message the bot
    builds must be one Discord accepts. It also fails on any deprecated route used
    (FakeRest.deprecated_calls, e.g. the old /channels/{id}/pins).
    """
    worlds: list[World] = []

    async def start(**kw) -> World:
        with trio.fail_after(30):
            world = await nursery.start(functools.partial(World.start, tmp_path, **kw))
        worlds.append(world)
        return world

    yield start
    refused = [f"{q.method} {q.path}: {q.answer}" for w in worlds for q in w.discord.rest.requests
               if q.status == 400 and not q.scripted and isinstance(q.answer, dict)
               and q.answer.get("code") in REFUSED_BODY_CODES]
    assert not refused, "FakeDiscord refused bodies the bot sent:\n" + "\n".join(refused)
    deprecated = [c for w in worlds for c in w.discord.rest.deprecated_calls]
    assert not deprecated, f"the bot used routes the OpenAPI spec deprecates: {deprecated}"
