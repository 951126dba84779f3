"""Simulated weeks of family life and faults against the real bot: `python -m bench.soak`.

The real App runs against the sandbox and FakeDiscord on trio's MockClock with autojump,
so a simulated day costs seconds. Family changes and faults follow a seeded schedule
(`bench.soak._plan`); the orchestrator (`bench.soak._soak`) applies them, restarts the bot
hard at random points, and checks the invariants at the end against the ground truth of
what it changed. Not a test; a short seeded run is (tests/test_soak.py).
"""

from bench.soak._clock import ThreadAwareClock, counting_threads
from bench.soak._soak import SoakOptions, failed, run_soak

__all__ = ["SoakOptions", "ThreadAwareClock", "counting_threads", "failed", "run_soak"]
