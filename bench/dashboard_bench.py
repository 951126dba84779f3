"""S8: the dashboard's library page over the 2,000-app sandbox family, filtered and sorted.

`python -m bench.dashboard_bench [--quick] [--out DIR]` (also `python -m bench --only S8`).

The real bot (sandbox.world.World: FakeDiscord + sandbox + App in this process) with
`[dashboard] enabled`, the library stored by the new_games job and the app details written
to the store the way `familybot-trio populate` writes them (cli._populate.to_app_details).
An admin signs in with a one-time link; then each sample is one GET of the library page
with a filter and a sort (name search, owner, minimum copies, type, each sort order, both
directions, several pages). The figure is the server's own time per request, from the
`Server-Timing: app;dur=` header (request in to response start: store reads, filtering,
template rendering), p50 and p99 in ms. `s8_max_step_ms` is the longest step any task of
the run held the loop during the samples (the S1 loop figure, measured here too).
"""

from __future__ import annotations

import functools
import random
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import httpx
import trio

from bench._cli import scenario_main
from bench.scenarios import p99

from familybot_trio import blocking
from familybot_trio.loopblock import LoopBlockDetector
from familybot_trio.sandbox.world import World

FEATURES: Final = ("new_games", "dashboard")
DASHBOARD: Final = '[dashboard]\nenabled = true\nlisten = "127.0.0.1:0"\n'


def queries(world: World, n: int) -> list[dict[str, str]]:
    """`n` seeded-random library queries: a search, a filter and a sort each."""
    rng = random.Random(8)
    owners = [str(m.steamid) for m in world.sandbox.family.members]
    words = ["a", "e", "the", "of", "war", "sim", "2", "dark", "s"]
    out = []
    for i in range(n):
        q: dict[str, str] = {"sort": rng.choice(["name", "copies", "acquired", "appid"]),
                             "excluded": rng.choice(["hide", "all", "only"])}
        if rng.random() < 0.7:
            q["q"] = rng.choice(words)
        if rng.random() < 0.5:
            q["owner"] = rng.choice(owners)
        if rng.random() < 0.5:
            q["copies"] = str(rng.choice([1, 2, 3]))
        if rng.random() < 0.5:
            q["desc"] = "1"
        if i % 5 == 0:
            q["page"] = str(rng.choice([0, 1, 2]))
        out.append(q)
    return out


async def _populate_details(world: World) -> int:
    """Write app details to the store as `populate` does (its own converter)."""
    from familybot_trio.cli._populate import to_app_details

    app = world.app
    ids = [a.appid for a in await app.store.library.apps()]
    rows = []
    for start in range(0, len(ids), 100):
        got = await app.catalog.details(ids[start:start + 100], country=app.config.country)
        rows += [to_app_details(d, app.now()) for d in got.values()]
    await app.store.catalog.put_details(rows)
    return len(ids)


async def s8_dashboard(quick: bool = False) -> dict[str, Any]:
    """Run S8; returns the figures (ms) and sample counts."""
    detector = LoopBlockDetector(threshold_ms=1e9)
    with tempfile.TemporaryDirectory(prefix="fb-s8-") as tmp:
        async with trio.open_nursery() as nursery:
            world: World = await nursery.start(functools.partial(
                World.start, Path(tmp), features=list(FEATURES), extra_config=DASHBOARD))
            outcome = await world.app.scheduler.run_now("new_games")
            if not outcome.ok:
                raise RuntimeError(f"new_games failed: {outcome}")
            apps = await _populate_details(world)
            dash = world.app.dashboard
            link = await dash.signin_link(world.admin_id)
            client = await blocking.run_sync("files", lambda: httpx.AsyncClient(
                base_url=dash.url, timeout=60.0))
            async with client:
                page = await client.get(link)
                csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
                await client.post(httpx.URL(link).path, data={"csrf": csrf})
                for q in queries(world, 5):  # warm-up: first template use, caches
                    await client.get("/", params=q)
                server_ms, wall_ms = [], []
                trio.lowlevel.add_instrument(detector)
                try:
                    for q in queries(world, 40 if quick else 300):
                        t0 = time.perf_counter()
                        resp = await client.get("/", params=q)
                        wall_ms.append((time.perf_counter() - t0) * 1000)
                        if resp.status_code != 200:
                            raise RuntimeError(f"library page answered {resp.status_code}")
                        server_ms.append(float(
                            resp.headers["server-timing"].partition("dur=")[2]))
                finally:
                    trio.lowlevel.remove_instrument(detector)
            await world.stop()
    return {"s8_page_p50_ms": round(statistics.median(server_ms), 2),
            "s8_page_p99_ms": round(p99(server_ms), 2),
            "s8_page_wall_p99_ms": round(p99(wall_ms), 2),
            "s8_max_step_ms": round(detector.max_step_ms, 2),
            "s8_samples": len(server_ms), "s8_library_apps": apps}


def main() -> None:
    """CLI: print the S8 figures and write DIR/s8.json."""
    scenario_main("python -m bench.dashboard_bench", __doc__, "s8", "40 samples instead of 300", s8_dashboard)


if __name__ == "__main__":
    main()
