"""Fixtures for upstream client tests: the sandbox on 127.0.0.1:0, clients pointed at it.

Fixture bodies (tests/upstream/fixtures/) are copies of ../shared/fixtures/upstream (see
SOURCES.md there): recorded or documented real answers, used by the parser tests.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import requests
import trio
from trio.testing import MockClock

from familybot_trio import blocking
from familybot_trio.sandbox import Sandbox
from familybot_trio.upstream import AccessTokenStore, SteamWebAPI
from familybot_trio.upstream._http import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"
#: Bodies the sandbox also serves live in its package data; the rest are copied here.
SANDBOX_DATA = Path(blocking.__file__).parent / "sandbox" / "data"

#: Tests on the autojump clock go through sockets and threads: a jump only when no task ran
#: for this long (real seconds), and per-attempt timeouts far beyond any retry wait, so a
#: jump during slow I/O can't be mistaken for a timeout.
AUTOJUMP_THRESHOLD_S = 0.2
TEST_POLICY = RetryPolicy(attempts=3, base_s=1.0, jitter_s=1.0, no_retry_after_s=20.0,
                          timeout_s=500.0)


def fixture_path(rel: str) -> Path:
    """Path of a recorded body: tests/upstream/fixtures first, then the sandbox's data."""
    mine = FIXTURES / rel
    return mine if mine.exists() else SANDBOX_DATA / rel


def fixture_text(rel: str) -> str:
    """A recorded body as text (call from sync tests or a thread: it reads a file)."""
    return fixture_path(rel).read_text(encoding="utf-8")


def fixture_json(rel: str) -> Any:
    """A recorded body, decoded (sync tests only)."""
    return json.loads(fixture_text(rel))


def make_token(*, sub: int = 76561190000000001, exp: int, aud: object = ("web:store",)) -> str:
    """A JWT shaped like Steam's access token (signed with a throwaway test secret)."""
    return jwt.encode({"iss": "r:TEST", "sub": str(sub), "aud": list(aud), "exp": exp},
                      "test-secret-only-for-unit-tests-0123456789", algorithm="HS256")


@pytest.fixture
async def sandbox(nursery: trio.Nursery) -> Sandbox:
    """A started sandbox (seed 1, no latency); the test's nursery cancels it at the end.

    The start-up bound is 60 real seconds on the system clock. On a test's autojump
    MockClock, waiting for the worker thread that builds the family counts as idle, so
    the clock would jump straight to any deadline set here: no bound then (a hang still
    ends at pytest's own limits).
    """
    autojump = isinstance(trio.lowlevel.current_clock(), MockClock)
    with trio.fail_after(math.inf if autojump else 60):
        sb = await nursery.start(Sandbox(latency_ms=0, seed=1).serve)
    return sb


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One httpx client, built in a thread (loading the CA bundle takes ~70 ms)."""
    client = await blocking.run_sync("files", lambda: httpx.AsyncClient(timeout=30))
    async with client:
        yield client


@pytest.fixture
def session() -> requests.Session:
    """One long-lived requests.Session for the steam package."""
    with requests.Session() as s:
        yield s


@pytest.fixture
async def tokens(sandbox: Sandbox, tmp_path: Path) -> AccessTokenStore:
    """A token store holding the sandbox's current access token."""
    store = AccessTokenStore(tmp_path)
    await store.set(sandbox.access_token)
    return store


@pytest.fixture
def steam_api(sandbox: Sandbox, session: requests.Session, tokens: AccessTokenStore
              ) -> SteamWebAPI:
    """SteamWebAPI pointed at the sandbox (http, its host:port)."""
    return SteamWebAPI(session, api_key=sandbox.api_key, tokens=tokens,
                       apihost=sandbox.apihost, https=False, policy=TEST_POLICY)
