"""`python -m bench.soak [--days 30] [--seed N] [--out FILE] [--no-tracemalloc]`.

Runs one soak (see bench/soak/__init__.py), prints the invariants and writes them to FILE
(default bench/results/soak.json; a run per seed is kept under "runs" by seed). Exit 1 when
an invariant fails: an announcement lost or doubled, an unhandled exception, or outbox rows
left a day after the last fault ended.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Final

import trio

from bench.soak._clock import ThreadAwareClock
from bench.soak._soak import SoakOptions, failed, run_soak

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results" / "soak.json"


#: --days bounds: an hour (shorter plans nothing) to a year (a 30-day run takes ~10 min).
MIN_DAYS: Final = 1 / 24
MAX_DAYS: Final = 366.0
_PLAIN_NUMBER: Final = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _days(text: str) -> float:
    """argparse type of `--days`: a plain number of simulated days, MIN_DAYS to MAX_DAYS. Raises:
    argparse.ArgumentTypeError (exit 2 with the usage line) for anything else."""
    try:
        days = float(text) if _PLAIN_NUMBER.fullmatch(text.strip()) else math.nan
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and MIN_DAYS <= days <= MAX_DAYS):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of days: days must be a plain number from 1/24 (an "
            "hour) to 366 (a year) "
            "(--days 2 is the suite's run, 30 the bench's)")
    return days


def main(argv: list[str] | None = None) -> int:
    """Run the soak with the command line `argv` (default sys.argv[1:]). Returns: the exit
    status (0: every invariant holds, 1: one fails). Raises: SystemExit(2) for a wrong
    command line (argparse's usage error, e.g. `--days 0`)."""
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--days", type=_days, default=30.0,
                   help="simulated days, 1/24 to 366 (default 30)")
    p.add_argument("--seed", type=int, default=1, help="schedule seed (default 1)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file ({DEFAULT_OUT})")
    p.add_argument("--no-tracemalloc", action="store_true", help="skip memory tracing (faster)")
    args = p.parse_args(argv)
    # The bot's own warnings are expected here and not printed, but they must still reach
    # the soak's counting handler (WARNING and up): a root level of CRITICAL would hide them.
    logging.basicConfig(level=logging.WARNING, handlers=[logging.NullHandler()])
    opts = SoakOptions(days=args.days, seed=args.seed, trace_memory=not args.no_tracemalloc)
    clock = ThreadAwareClock()
    with tempfile.TemporaryDirectory(prefix="familybot-soak-") as tmp:
        results = trio.run(run_soak, opts, Path(tmp), clock, clock=clock)
    results["failed_invariants"] = failed(results)
    print(json.dumps(results, indent=2))
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        saved = json.loads(out.read_text())
    except (OSError, ValueError):
        saved = {}
    runs = saved.get("runs", {})
    runs[f"seed_{args.seed}_days_{args.days:g}"] = results
    out.write_text(json.dumps({"runs": dict(sorted(runs.items()))}, indent=2) + "\n")
    return 1 if results["failed_invariants"] else 0


if __name__ == "__main__":
    sys.exit(main())
