"""Suite-wide fixtures. Every trio test runs under the loop-block detector."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
import trio

from familybot_trio.loopblock import LoopBlockDetector

pytest_plugins = ["pytester"]


def _run_under_detector(detector: LoopBlockDetector, fn, *args, clock=None, instruments=(), **kw):
    """pytest-trio's `run` hook: trio.run with the detector, then fail on violations."""
    result = trio.run(fn, *args, clock=clock, instruments=[*instruments, detector], **kw)
    if detector.violations:
        pytest.fail(
            "a task step held the trio loop too long (set FAMILYBOT_LOOP_BLOCK_MS to change "
            "the threshold):\n" + detector.report(),
            pytrace=False,
        )
    return result


@pytest.fixture(autouse=True)
def loop_block_detector(request: pytest.FixtureRequest) -> Iterator[LoopBlockDetector]:
    """Install the loop-block detector in this test's trio run (autouse, every test).

    It times every task step in real time; any step over the threshold (default 50 ms,
    FAMILYBOT_LOOP_BLOCK_MS) fails the test and prints the task names.

    On a shared 2-core machine another process can preempt the loop thread mid-step, which
    reads as a long step. A test that failed only that way is run again (pytest-rerunfailures,
    `--only-rerun "held the trio loop"`, see pyproject.toml): a real blocking call blocks
    every time and still fails; a one-off preemption does not.
    """
    detector: LoopBlockDetector | None = getattr(request.node, "_loop_block_detector", None)
    if detector is not None:  # a rerun: pytest-trio keeps the runner it wrapped first
        detector.reset()
    else:
        detector = request.node._loop_block_detector = LoopBlockDetector()
        if request.node.get_closest_marker("trio") is not None:
            # pytest-trio takes the first `trio` marker that names a runner: put ours first.
            request.node.add_marker(
                pytest.mark.trio(run=functools.partial(_run_under_detector, detector)),
                append=False,
            )
    yield detector
