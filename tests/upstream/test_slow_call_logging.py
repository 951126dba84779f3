"""Every upstream call logs its duration; a slow one logs a WARNING naming what it waited for."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import trio
from trio.testing import MockClock

from familybot_trio.sandbox import Fault, Sandbox
from familybot_trio.upstream import Storefront
from familybot_trio.upstream.models import AppId
from tests._clocks import thread_aware_autojump
from tests.upstream.conftest import AUTOJUMP_THRESHOLD_S, TEST_POLICY


@pytest.fixture
def io_clock() -> Iterator[MockClock]:
    with thread_aware_autojump(AUTOJUMP_THRESHOLD_S) as clock:  # waits for threads
        yield clock


async def test_fast_call_logs_its_duration_at_debug(
        sandbox: Sandbox, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="familybot_trio.upstream")
    store = Storefront(http, sandbox.urls["storefront"], policy=TEST_POLICY)
    with trio.fail_after(30):
        await store.prices([AppId(892970)], country="US")
    done = [r for r in caplog.records if " done [upstream:storefront ok:True ms:" in r.getMessage()]
    assert len(done) == 1 and done[0].levelno == logging.DEBUG


async def test_slow_call_warns_and_names_the_retry_wait(
        sandbox: Sandbox, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture,
        io_clock: MockClock) -> None:
    caplog.set_level(logging.DEBUG, logger="familybot_trio.upstream")
    sandbox.fail_next("storefront", Fault.SERVER_ERROR, n=1)
    store = Storefront(http, sandbox.urls["storefront"], policy=TEST_POLICY)
    with trio.fail_after(60):
        await store.prices([AppId(892970)], country="US")
    slow = [r for r in caplog.records if "mostly waiting for retry backoff" in r.getMessage()]
    assert len(slow) == 1 and slow[0].levelno == logging.WARNING
    assert "ok:True" in slow[0].getMessage()
