"""Fixtures for store tests: a fresh migrated database in a temp folder per test."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from familybot_trio.store import Store

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open Store on tmp_path/fb.db, closed after the test."""
    async with Store.open_ctx(tmp_path / "fb.db") as s:
        yield s
