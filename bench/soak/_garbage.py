"""Garbage and refusals the rest of the plan does not inject: ITAD and the
Steam Web API answering a truncated JSON body, an HTML error page with status 200 or a 502, and
the free-game feeds (Epic's freeGamesPromotions, r/FreeGameFindings) answering 503, 429 or
garbage.

Plan (`plan`, from its own `random.Random`, so the other parts' schedules do not move): one
fault every 4-14 h until the faults end, the upstream and the fault drawn from `FAULTS`,
for the next 1-3 requests. Each is counted as "<upstream>_<fault>" (e.g. "epic_html").
What it checks is the soak's usual invariants: a garbage answer is a failed fetch, never an
announcement lost, doubled or made up (a free game read from an HTML page), and never an
unhandled exception.
"""

from __future__ import annotations

import random
from typing import Any, Final

HOUR_S: Final = 3_600.0
KIND: Final = "upstream_fault"
#: Sandbox counter-name prefix -> the faults drawn for it (sandbox/_knobs.py Fault values).
FAULTS: Final = {
    "itad": ("malformed_json", "html"),
    "steam_webapi": ("html", "502"),
    "epic": ("503", "malformed_json", "html"),
    "reddit": ("429_retry_after", "503", "html"),
}


def plan(faults_end_s: float, seed: int) -> list[tuple[float, str, tuple]]:
    """The upstream faults of one soak: (at_s, KIND, (upstream, fault, n)) each, for
    _plan.Event (this module does not import _plan, which imports it)."""
    rng = random.Random(f"garbage-{seed}")
    out: list[tuple[float, str, tuple]] = []
    t = rng.uniform(2, 8) * HOUR_S
    while t < faults_end_s:
        upstream = rng.choice(sorted(FAULTS))
        out.append((t, KIND, (upstream, rng.choice(FAULTS[upstream]), rng.randint(1, 3))))
        t += rng.uniform(4, 14) * HOUR_S
    return out


def apply(args: tuple, w: Any) -> str:
    """Arm the fault on the sandbox (kept in `w.garbage` to count what was served); returns
    the name it is counted under."""
    upstream, fault, n = args
    name = f"{upstream}_{fault}"
    w.garbage.append((name, n, w.sandbox.fail_next(upstream, fault, n=n, retry_after_s=60)))
    return name


def results(w: Any) -> dict:
    """upstream_faults_served: name -> answers the bot actually got garbage for (a fault
    armed late in a quiet hour may wait for the next request of its upstream)."""
    served: dict[str, int] = {}
    for name, n, rule in w.garbage:
        served[name] = served.get(name, 0) + n - rule.remaining
    return {"upstream_faults_served": dict(sorted(served.items()))}
