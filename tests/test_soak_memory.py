"""The soak's memory figures (bench/soak/_memory.py): live traced memory is attributed to
the bot or to the fakes by the most recent project frame of each allocation, and the
`memory_bot_not_flat` invariant reads the bot's growth only."""

from __future__ import annotations

import tracemalloc

import pytest

from bench.soak import _memory
from bench.soak._plan import DAY_S


def _allocator(relpath: str):
    """A function whose code lives (by its traceback) at ROOT/relpath and keeps 1 MiB."""
    code = compile("def make():\n    return [bytearray(1024) for _ in range(1024)]\n",
                   _memory.ROOT + relpath, "exec")
    scope: dict = {}
    exec(code, scope)  # noqa: S102 (our own two lines, compiled under a project path)
    return scope["make"]


@pytest.fixture
def tracing():
    tracemalloc.start(_memory.FRAMES)
    yield
    tracemalloc.stop()


def test_each_allocation_counts_for_who_made_it(tracing) -> None:
    log = _memory.MemoryLog(enabled=True)
    log.at(0.5 * DAY_S)  # before day 1: no sample
    assert log.samples == {}
    log.at(1.2 * DAY_S)
    kept = [_allocator("gateway/testing/_fake_records.py")(),
            _allocator("familybot_trio/sandbox/_log.py")()]
    log.at(10 * DAY_S)
    kept.append(_allocator("familybot_trio/features/_cache.py")())
    log.end(30.0)
    r = log.results()
    fakes, bot = r["memory_fakes_kb"], r["memory_bot_kb"]
    assert set(r["memory_kb"]) == {"day_1_kb", "day_5_kb", "day_10_kb", "end_kb"}
    # where the bot grew after day 10: the allocating project frame, top first
    site, kb = next(iter(r["memory_bot_top_growth_sites_kb"].items()))
    assert site == "familybot_trio/features/_cache.py:2" and kb >= 1024, r
    assert fakes["day_10_kb"] - fakes["day_1_kb"] >= 2 * 1024  # both fakes' MiB
    assert abs(bot["day_10_kb"] - bot["day_1_kb"]) < 256  # none of it is the bot's
    assert r["memory_bot_growth_day_10_to_end_kb"] >= 1024  # the bot's own MiB, later
    assert r["memory_bot_growth_kb_per_day"] == pytest.approx(
        r["memory_bot_growth_day_10_to_end_kb"] / 20, abs=0.1)
    assert r["memory_growth_day_10_to_end_kb"] >= 1024
    assert len(kept) == 3


def test_the_invariant_reads_the_bots_rate_only() -> None:
    limit = _memory.BOT_GROWTH_LIMIT_KB_PER_DAY
    assert _memory.failed({"memory_bot_growth_kb_per_day": limit + 1}) == ["memory_bot_not_flat"]
    assert _memory.failed({"memory_bot_growth_kb_per_day": limit,
                           "memory_growth_day_10_to_end_kb": 10**6}) == []
    assert _memory.failed({"memory_bot_growth_kb_per_day": None}) == []  # < 10 days run


def test_without_tracemalloc_nothing_is_sampled() -> None:
    log = _memory.MemoryLog(enabled=False)
    log.at(11 * DAY_S)
    log.end(30.0)
    r = log.results()
    assert r["memory_kb"] == {} and r["memory_bot_growth_kb_per_day"] is None
