"""S7: /owned autocomplete latency over the 2,000-app sandbox library and every wishlist.

`python -m bench.autocomplete [--quick] [--out DIR]` (also run by `python -m bench --only S7`).

Ours: the real bot (sandbox.world.World: FakeDiscord + sandbox + App, in this process)
with the library and wishlists stored and the name index built, as after the bot's first
hour. Each sample is one keystroke: an autocomplete INTERACTION_CREATE dispatched by
FakeDiscord until FakeDiscord has received the callback (type 8) with the choices, so it
includes the gateway frame, the registry, the index search and the REST callback.
FakeDiscord shares the bot's loop here, so its own work counts against us (conservative).

Baseline (same run, same data): what a bot without an index does per keystroke, a store
query of every cached name (the catalog cache table, decoded) and a linear case-insensitive
substring match sorted by position, timed in-process with no Discord round trip at all.

Keystrokes: 20 library and wishlist names picked with a fixed seed, typed one character at
a time up to 12 characters. Figures: p50/p99 in ms, and the ratio baseline p99 / ours p99
(> 1: ours is faster).
"""

from __future__ import annotations

import functools
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import trio

from bench._cli import scenario_main
from bench.scenarios import p99

from familybot_trio.sandbox.world import DISCORD_IDS, World
from familybot_trio.upstream import codec

NAMES: Final = 20
MAX_PREFIX: Final = 12
FEATURES: Final = ("new_games", "wishlist", "owned")


def keystrokes(names: list[str], *, quick: bool) -> list[str]:
    """Prefixes of seeded-random names, one per keystroke."""
    rng = random.Random(7)
    picked = rng.sample(sorted(names), min(len(names), 5 if quick else NAMES))
    return [n[:i] for n in picked for i in range(1, min(len(n), MAX_PREFIX) + 1)]


def _naive_search(rows: list[tuple[str, str]], text: str) -> list[tuple[str, int]]:
    """The baseline's match: decode every cached record, substring match, sort, top 25."""
    q = text.casefold()
    hits = []
    for key, value in rows:
        name = codec.loads(value).name
        pos = name.casefold().find(q)
        if pos >= 0:
            hits.append((pos, name, int(key)))
    hits.sort()
    return [(n, a) for _, n, a in hits[:25]]


async def s7_autocomplete(quick: bool = False) -> dict[str, Any]:
    """Run S7; returns the figures (ms) and sample counts."""
    with tempfile.TemporaryDirectory(prefix="fb-s7-") as tmp:
        async with trio.open_nursery() as nursery:
            world: World = await nursery.start(functools.partial(
                World.start, Path(tmp), features=list(FEATURES)))
            for job in ("new_games", "wishlist", "owned_index"):
                outcome = await world.app.scheduler.run_now(job)
                if not outcome.ok:
                    raise RuntimeError(f"{job} failed: {outcome}")
            names = list(await _index_names(world))
            typed = keystrokes(names, quick=quick)
            before = world.sandbox.total_requests()
            ours_ms = []
            for text in typed:
                t0 = time.perf_counter()
                handle = await world.discord.send_interaction(
                    "owned", {"game": text}, focused="game", user_id=DISCORD_IDS[1])
                await handle.wait_choices()
                ours_ms.append((time.perf_counter() - t0) * 1000)
            upstream = world.sandbox.total_requests() - before
            base_ms = []
            for text in typed:
                t0 = time.perf_counter()
                rows = await world.app.store.run_read(lambda c: c.execute(
                    "SELECT key, value FROM cache WHERE namespace = ?",
                    (f"details:{world.config.country}",)).fetchall())
                _naive_search(rows, text)
                base_ms.append((time.perf_counter() - t0) * 1000)
            await world.stop()
    ours, base = p99(ours_ms), p99(base_ms)
    return {"s7_autocomplete_p50_ms": round(statistics.median(ours_ms), 3),
            "s7_autocomplete_p99_ms": round(ours, 3),
            "s7_baseline_p99_ms": round(base, 3),
            "s7_ratio_vs_baseline": round(base / ours, 2) if ours else None,
            "s7_keystrokes": len(typed), "s7_index_names": len(names),
            "s7_upstream_requests": upstream}


async def _index_names(world: World) -> list[str]:
    rows = await world.app.store.run_read(lambda c: c.execute(
        "SELECT value FROM cache WHERE namespace = ?",
        (f"details:{world.config.country}",)).fetchall())
    return [codec.loads(v).name for (v,) in rows]


def main() -> None:
    """CLI: print the S7 figures and write DIR/s7.json."""
    scenario_main("python -m bench.autocomplete", __doc__, "s7", "5 names instead of 20", s7_autocomplete)


if __name__ == "__main__":
    main()
