"""Suite-wide fixtures. Every trio test runs under the loop-block detector and the
off-the-loop guard (familybot_trio/offloop.py): a store, steam or file call on the trio
thread raises at once and fails the test, however fast it was."""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterator

import pytest
import trio
from hypothesis import settings


from familybot_trio import offloop
from familybot_trio.loopblock import LoopBlockDetector, threshold_from_env

# The off-the-loop guard: a store, steam or file call on the trio thread raises at once.
offloop.enable()

pytest_plugins = ["pytester"]

# Property tests draw the same examples on every run and machine (no example database): a
# case hypothesis finds once then fails every run, never a CI run by chance. Explore new
# examples locally with --hypothesis-profile=explore.
settings.register_profile("suite", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("suite")

#: The step timer judges CPU time on the loop thread, which the machine's load cannot inflate:
#: measured over tests/features, upstream, signin, populate and demo at load average 9 on 2
#: cores, the worst step used 10 ms of CPU while its wall time reached 136 ms. 50 ms of CPU
#: is 5x that; a parse or loop that big belongs in blocking.run_sync("cpu", ...).
SUITE_CPU_MS = threshold_from_env("FAMILYBOT_LOOP_CPU_MS", 50.0)
#: Wall time only catches what neither the guard nor the CPU clock sees (a time.sleep, an
#: unguarded blocking call); loose, because preemption alone reached 136 ms (see above).
SUITE_WALL_MS = threshold_from_env("FAMILYBOT_LOOP_BLOCK_MS", 1000.0)


def _run_under_detector(detector: LoopBlockDetector, fn, *args, clock=None, instruments=(), **kw):
    """pytest-trio's `run` hook: trio.run with the detector, then fail on violations."""
    offloop.take_violations()
    result = trio.run(fn, *args, clock=clock, instruments=[*instruments, detector], **kw)
    refused = offloop.take_violations()
    if refused:  # also those a broad `except Exception` swallowed
        pytest.fail("a blocking call ran on the trio thread (off-the-loop guard, "
                    "familybot_trio/offloop.py):\n" + "\n".join(refused), pytrace=False)
    if detector.violations:
        pytest.fail(
            "a task step held the trio loop too long (set FAMILYBOT_LOOP_BLOCK_MS to change "
            "the threshold):\n" + detector.report(),
            pytrace=False,
        )
    return result


@pytest.fixture(autouse=True)
def _collect_then_freeze() -> None:
    """Collect the garbage of earlier tests, then freeze the heap (sync, before the trio run).

    A full (gen 2) collection walks every tracked object: with the suite's ~100k long-lived
    ones (modules, pytest, the cached sandbox family) each pass took 65-120 ms, measured on
    this machine, before every test and again whenever CPython chose to run one inside a task
    step. gc.freeze() moves what is alive now out of every later pass, so a collection only
    walks what this test builds: 1-9 ms. What the freeze keeps is alive anyway; measured over
    tests/features, a final unfreeze-and-collect found ~2,000 objects of cyclic garbage that
    had been frozen (a few MB held until the process ends). The loop-block detector does not
    count GC pauses against a step either way (familybot_trio/loopblock.py).
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def loop_block_detector(request: pytest.FixtureRequest) -> Iterator[LoopBlockDetector]:
    """Install the loop-block detector in this test's trio run (autouse, every test).

    It times every task step: a step that used more than SUITE_CPU_MS of CPU time on the loop
    thread (FAMILYBOT_LOOP_CPU_MS, default 50) or more than SUITE_WALL_MS of wall time
    (FAMILYBOT_LOOP_BLOCK_MS, default 1000) fails the test and prints the task names. CPU
    time does not grow when another process preempts the loop thread, so the verdict is the
    same on an idle and on a loaded machine: no reruns. Blocking calls are caught by the
    off-the-loop guard instead (familybot_trio/offloop.py), whatever their duration.
    """
    detector = LoopBlockDetector(SUITE_WALL_MS, cpu_threshold_ms=SUITE_CPU_MS)
    if request.node.get_closest_marker("trio") is not None:
        # pytest-trio takes the first `trio` marker that names a runner: put ours first.
        request.node.add_marker(
            pytest.mark.trio(run=functools.partial(_run_under_detector, detector)),
            append=False,
        )
    yield detector
