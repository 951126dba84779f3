"""The blocking policy and the loop-block detector."""

from __future__ import annotations

import threading
import time

import pytest
import trio

from familybot_trio import blocking
from familybot_trio.loopblock import LoopBlockDetector


async def test_run_sync_runs_off_the_loop_thread_under_the_named_limiter() -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[int, int]] = []
    lim = blocking.limiter("steam_webapi")

    def work() -> int:
        seen.append((threading.get_ident(), lim.borrowed_tokens))
        time.sleep(0.01)
        return 7

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(blocking.run_sync, "steam_webapi", work)
    assert len(seen) == 10
    assert all(tid != loop_thread for tid, _ in seen)
    assert max(b for _, b in seen) <= blocking.LIMITS["steam_webapi"]
    assert await blocking.run_sync("files", lambda: 7) == 7


async def test_limiters_are_per_run_and_unknown_names_are_refused() -> None:
    assert blocking.limiter("sqlite_write").total_tokens == 1
    with pytest.raises(KeyError, match="unknown limiter"):
        blocking.limiter("nope")


def test_detector_catches_a_blocking_step_and_names_the_task() -> None:
    detector = LoopBlockDetector(threshold_ms=20)

    async def main() -> None:
        async def sleeper() -> None:
            time.sleep(0.06)  # deliberately blocks the loop

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleeper, name="the-blocker")

    trio.run(main, instruments=[detector])
    assert [v.task_name for v in detector.violations] == ["the-blocker"]
    assert detector.max_step_ms >= 60
    assert "the-blocker" in detector.report()


def test_detector_is_quiet_when_work_goes_to_a_thread() -> None:
    detector = LoopBlockDetector(threshold_ms=20)

    async def main() -> None:
        await blocking.run_sync("files", time.sleep, 0.06)

    trio.run(main, instruments=[detector])
    assert detector.violations == []


def test_the_suite_fixture_fails_a_trio_test_that_blocks(pytester: pytest.Pytester) -> None:
    """The autouse fixture in tests/conftest.py really fails a blocking test."""
    import pathlib

    conftest = pathlib.Path(__file__).with_name("conftest.py").read_text()
    pytester.makeconftest(conftest.replace('pytest_plugins = ["pytester"]', ""))
    pytester.makeini("[pytest]\ntrio_mode = true\n")
    pytester.makepyfile(
        test_inner="""
import time, trio
async def test_blocks():
    time.sleep(0.08)
async def test_fine():
    await trio.sleep(0)
"""
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*held the trio loop*", "*<test 'test_blocks'>*"])


def test_a_one_off_slow_step_is_rerun_but_a_real_block_still_fails(
        pytester: pytest.Pytester, tmp_path) -> None:
    """The suite's rerun rule: only loop-block failures rerun, and a real block fails again."""
    import pathlib

    conftest = pathlib.Path(__file__).with_name("conftest.py").read_text()
    pytester.makeconftest(conftest.replace('pytest_plugins = ["pytester"]', ""))
    pytester.makeini("[pytest]\ntrio_mode = true\n"
                     "addopts = --reruns 2 --only-rerun 'held the trio loop'\n")
    counter = tmp_path / "count"
    pytester.makepyfile(
        test_inner=f"""
import pathlib, time
N = pathlib.Path({str(counter)!r})
async def test_slow_once():
    n = int(N.read_text()) if N.exists() else 0
    N.write_text(str(n + 1))
    if n == 0:
        time.sleep(0.08)
async def test_blocks_every_time():
    time.sleep(0.08)
async def test_plain_failure_is_not_rerun():
    assert False
"""
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1, failed=2)
    assert result.parseoutcomes().get("rerun") == 3  # 1 for the one-off, 2 for the real block
    assert counter.read_text() == "2"
