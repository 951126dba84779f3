"""Short full garbage collections: the Python heap that exists once the bot has started is
frozen (CPython's cyclic GC; for the C heap, see familybot_trio.heap).

CPython's cyclic garbage collector runs a full (generation 2) collection whenever enough
young objects survived into the old generation, and a full collection walks every tracked
object in the process. A running bot holds ~100,000 of them that live until it exits (the
imported modules of trio, httpx, starlette, jinja2, babel...; config, clients, templates),
so each full collection paused every thread, the trio loop included, for 20 ms on an idle
machine and up to 250 ms on a loaded one (bench S8 caught it in the dashboard's p99; the
Discord heartbeat waits through it just the same).

`gc.freeze()` moves every object tracked at that moment into a permanent generation that
collections skip; objects made later are collected as before. `App.run` freezes once start-up
is done and `thaw`s when it ends (the last running App in the process unfreezes, so test
processes that start many Apps get their garbage back).

`freeze` collects first: a frozen object is never collected, so garbage cycles that exist
at the freeze would be kept until the thaw. Without the collection each App started in a
process where another had ended froze the ended App's whole graph (its clients, store,
caches), and once several Apps overlapped there was no thaw: the 30-day soak, which kills
and restarts the App in-process ~50 times, kept every killed App alive (bench/README.md,
"Soak", memory). The collection costs one full pass at start-up: collect and freeze took
57-61 ms for 79,000 objects on the 2-core dev machine, idle, once per App start (the
loop-block detector takes GC pauses out of a step: familybot_trio/loopblock.py).
"""

from __future__ import annotations

import gc

_running = 0


def freeze() -> int:
    """Collect the garbage, then freeze the heap as it is now (call once start-up is done).
    Returns: objects frozen (gc.get_freeze_count())."""
    global _running
    _running += 1
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw() -> None:
    """Undo one `freeze`; the last one unfreezes the heap (gc.unfreeze)."""
    global _running
    _running = max(0, _running - 1)
    if _running == 0:
        gc.unfreeze()
