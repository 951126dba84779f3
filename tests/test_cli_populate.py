"""`populate`: batches of <= 100, interrupted and resumed with nothing lost or fetched twice."""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import trio

from familybot_trio.cli import _clients as _cli_clients
from familybot_trio.cli import _populate as _cli_populate
from familybot_trio.errors import StoreError
from familybot_trio.store import AppId, Store
from familybot_trio.upstream.tokens import AccessTokenStore
from tests._cli_helpers import BotProcess, assert_no_secret, env_of, run_cli, start_world

TIMEOUT_S = 120
UPSTREAM = ("steam_webapi", "itad", "storefront")


def _upstream(counts: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in counts.items() if k.startswith(UPSTREAM)})


async def _stored_appids(store: Store, appids: list[AppId]) -> set[int]:
    return {int(a) for a in await store.catalog.details(appids)}


async def test_populate_interrupted_then_resumed_loses_nothing_fetches_nothing_twice(
        tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            config = world.config
            await AccessTokenStore(config.data_dir).set(world.sandbox.access_token)
            world.sandbox.reset_counts()
            async with Store.open_ctx(config.db_path) as store:
                async with _cli_clients.open_clients(config, store) as clients:
                    with trio.CancelScope() as first_run:
                        async def stop_after_three(n: int) -> None:
                            if n == 3:
                                first_run.cancel()     # like Ctrl-C between batches
                        await _cli_populate.populate(config, store, clients, _cli_clients.now_utc,
                                                     after_batch=stop_after_three)
                    assert first_run.cancelled_caught
                    first = _upstream(world.sandbox.counts)
                    wanted = await _cli_populate.wanted_appids(config, store)
                    assert len(wanted) > 5 * _cli_populate.BATCH_SIZE  # several batches to do
                    done = set(await store.state.get(_cli_populate.KEY_CATALOG))
                    assert len(done) == 3 * _cli_populate.BATCH_SIZE

                    world.sandbox.reset_counts()
                    progress: list[tuple[str, int, int]] = []
                    report = await _cli_populate.populate(
                        config, store, clients, _cli_clients.now_utc,
                        progress=lambda *a: progress.append(a))
                    second = _upstream(world.sandbox.counts)

                    # nothing lost: every wanted app has details (unknown apps aside)
                    stored = await _stored_appids(store, wanted)
                    unknown = await store.cache.get_many(
                        f"unknown:{config.country}", [str(a) for a in wanted],
                        _cli_clients.now_utc())
                    assert stored | {int(k) for k in unknown} == set(wanted)
                    assert set(await store.state.get(_cli_populate.KEY_CATALOG)) == set(wanted)

                    # nothing fetched twice: the second run did not refetch the first's work
                    assert second["steam_webapi.GetSharedLibraryApps"] == 0
                    assert second["steam_webapi.GetOwnedGames"] == 0
                    assert second["steam_webapi.GetWishlist"] == 0
                    batches = math.ceil(len(wanted) / _cli_populate.BATCH_SIZE)
                    assert first["steam_webapi.GetItems"] == 3
                    assert first["steam_webapi.GetItems"] + second["steam_webapi.GetItems"] \
                        == batches
                    assert report.batches == batches - 3
                    assert progress[-1] == ("catalog", len(wanted), len(wanted))

                    # a third run has nothing left to ask upstream
                    world.sandbox.reset_counts()
                    await _cli_populate.populate(config, store, clients, _cli_clients.now_utc)
                    assert sum(_upstream(world.sandbox.counts).values()) == 0
            nursery.cancel_scope.cancel()


async def test_a_bad_item_does_not_roll_back_its_batch(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            config = world.config
            await AccessTokenStore(config.data_dir).set(world.sandbox.access_token)
            async with Store.open_ctx(config.db_path) as store:
                real_put = store.catalog.put_details
                bad: list[int] = []

                async def put_refusing_one(rows: list) -> int:
                    if not bad:
                        bad.append(int(rows[1].appid))   # the 2nd app of the 1st batch
                    if any(int(r.appid) == bad[0] for r in rows):
                        raise StoreError("app_details refused the row (simulated constraint)")
                    return await real_put(rows)

                monkeypatch.setattr(store.catalog, "put_details", put_refusing_one)
                async with _cli_clients.open_clients(config, store) as clients:
                    report = await _cli_populate.populate(config, store, clients,
                                                          _cli_clients.now_utc)
                monkeypatch.undo()
                wanted = await _cli_populate.wanted_appids(config, store)
                first_batch = wanted[:_cli_populate.BATCH_SIZE]
                stored = await _stored_appids(store, first_batch)
                assert bad[0] not in stored
                assert len(stored) >= len(first_batch) - 5   # the others of that batch are in
                assert any(str(bad[0]) in s for s in report.skipped)
                anomalies = await store.state.anomalies()
                assert any(a.subject == str(bad[0]) for a in anomalies)
            nursery.cancel_scope.cancel()


async def test_populate_command_end_to_end(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            await AccessTokenStore(world.config.data_dir).set(world.sandbox.access_token)
            r = await run_cli(world, "populate")
            assert r.code == 0, r.err
            assert "populated:" in r.out and "members" in r.out
            assert "catalog" in r.err          # the progress bars
            async with Store.open_ctx(world.config.db_path) as store:
                counts = await store.row_counts()
            assert counts["app_details"] > 500 and counts["wishlist_items"] > 0
            assert counts["owned_games"] > 0 and counts["prices"] > 0
            assert any("catalog batch stored" in r.getMessage() for r in caplog.records)
            assert_no_secret(world, caplog.records, r.out, r.err)
            nursery.cancel_scope.cancel()


async def test_populate_ctrl_c_stops_after_the_batch_in_flight_and_resumes(tmp_path: Path
                                                                         ) -> None:
    """A real SIGINT to a `populate` process: exit 130, the batch in flight is stored, and
    the next run asks upstream only for what is left (each GetItems batch fetched once)."""
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            await AccessTokenStore(world.config.data_dir).set(world.sandbox.access_token)
            world.sandbox.endpoint_latency_ms["steam_webapi.GetItems"] = 150  # time to Ctrl-C
            world.sandbox.reset_counts()
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "familybot_trio", "populate", "--config",
                 str(world.config.path)],
                env={**os.environ, **env_of(world), "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            run = BotProcess(proc)
            nursery.start_soon(run.pump)
            try:
                await run.wait_for_log("catalog batch stored [batch:2 ")
                proc.send_signal(signal.SIGINT)
                assert await proc.wait() == 130, "\n".join(run.lines[-20:])
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await run.eof.wait()
            assert any("progress is saved" in ln for ln in run.lines)
            first = world.sandbox.counts["steam_webapi.GetItems"]
            async with Store.open_ctx(world.config.db_path) as store:
                done = await store.state.get(_cli_populate.KEY_CATALOG)
                wanted = await _cli_populate.wanted_appids(world.config, store)
            assert 2 <= first < math.ceil(len(wanted) / _cli_populate.BATCH_SIZE)
            assert len(done) == first * _cli_populate.BATCH_SIZE   # every fetched batch stored

            world.sandbox.endpoint_latency_ms.clear()
            world.sandbox.reset_counts()
            r = await run_cli(world, "populate")
            assert r.code == 0, r.err
            second = world.sandbox.counts
            assert second["steam_webapi.GetOwnedGames"] == 0      # members were done
            assert first + second["steam_webapi.GetItems"] == math.ceil(
                len(wanted) / _cli_populate.BATCH_SIZE)
            async with Store.open_ctx(world.config.db_path) as store:
                assert set(await store.state.get(_cli_populate.KEY_CATALOG)) == set(wanted)
            nursery.cancel_scope.cancel()


async def test_populate_after_the_library_job_changes_nothing_the_job_would_not(
        tmp_path: Path) -> None:
    """The same question and the same records as the new_games job: no app is marked as
    removed (which the daily digest would post) and app types stay words."""
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            config = world.config
            await AccessTokenStore(config.data_dir).set(world.sandbox.access_token)
            async with Store.open_ctx(config.db_path) as store:
                async with _cli_clients.open_clients(config, store) as clients:
                    await _cli_populate.populate(config, store, clients, _cli_clients.now_utc)
                    before = {a.appid: a for a in await store.library.apps()}
                    assert before and all(a.app_type == "game" for a in before.values())
                    assert any(a.exclude_reason != 0 for a in before.values())  # excluded kept
                    # a second populate (as after the bot's own job) removes nothing
                    await store.state.set(_cli_populate.KEY_LIBRARY, None, _cli_clients.now_utc())
                    await _cli_populate.populate(config, store, clients, _cli_clients.now_utc)
                    assert {a.appid for a in await store.library.apps()} == set(before)
                    assert await store.library_events.pending() == []
            nursery.cancel_scope.cancel()
