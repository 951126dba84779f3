"""The off-the-loop guard proves "nothing blocks the loop" by construction, not by timing.

Each test places one blocking call on the trio thread, the way a careless change would (a
store read without its worker thread, a steam call without run_sync, a file helper called
directly), and checks it raises at once naming the call site, every time, however fast the
call would have been. The same calls through blocking.run_sync pass. Each test takes the
refusals it caused (`offloop.take_violations()`), so the suite's own check stays quiet.
"""

from __future__ import annotations

import os

import threading
from pathlib import Path

import pytest
import requests
import trio

from familybot_trio import _secretfile, blocking, offloop
from familybot_trio.store import Store
from familybot_trio.store import _db
from familybot_trio.upstream.steam_webapi import SteamWebAPI


def test_the_suite_runs_with_the_guard_on() -> None:
    assert offloop.enabled()


async def test_a_store_read_on_the_loop_raises_naming_the_site(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    store = await Store.open(tmp_path / "bot.db")
    try:
        assert await store.members.all() == []  # through its worker thread: fine

        async def on_the_loop(_limiter: str, fn, *args, **kw):  # run_sync, minus the thread
            return fn(*args)

        monkeypatch.setattr(_db.blocking, "run_sync", on_the_loop)
        with pytest.raises(offloop.BlockingOnLoop) as info:
            await store.members.all()
        monkeypatch.undo()
        assert "sqlite3 execute ran on the trio thread at familybot_trio/store/_db.py" in str(
            info.value)
        assert "blocking.run_sync" in str(info.value)
        assert len(offloop.take_violations()) == 1
    finally:
        await store.aclose()


async def test_a_connection_handed_to_the_loop_refuses_every_use(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "bot.db")
    try:
        conn = await blocking.run_sync("sqlite_read", store._db._take_reader, "test")
        for use in (lambda: conn.execute("SELECT 1"), lambda: conn.cursor().execute("SELECT 1"),
                    lambda: conn.commit()):
            with pytest.raises(offloop.BlockingOnLoop, match="on the trio thread at tests/"):
                use()
        rows = await blocking.run_sync("sqlite_read", lambda: conn.execute("SELECT 1"))
        with pytest.raises(offloop.BlockingOnLoop, match="sqlite3 fetchall"):
            rows.fetchall()  # a cursor made in a thread still refuses to fetch on the loop
        assert len(offloop.take_violations()) == 4
        await blocking.run_sync("sqlite_read", store._db._give_back, conn)
    finally:
        await store.aclose()


async def test_a_steam_call_on_the_loop_raises_before_any_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[object] = []

    class Recording(requests.adapters.BaseAdapter):
        def send(self, request, *a, **kw):
            sent.append(request)
            raise requests.ConnectionError("no network in tests")

        def close(self) -> None:
            pass

    session = requests.Session()
    session.mount("http://", Recording())
    api = SteamWebAPI(session, api_key="k", apihost="127.0.0.1:9", https=False)
    # Through its worker thread the guard lets the request out (it fails: no network).
    with pytest.raises(Exception, match="cannot reach the Steam Web API"):
        await api.get_player_summaries([76561197960287930])
    assert sent and offloop.take_violations() == []
    sent.clear()

    async def on_the_loop(_limiter: str, fn, *args, **kw):
        return fn(*args)

    monkeypatch.setattr("familybot_trio.upstream.steam_webapi.blocking.run_sync", on_the_loop)
    with pytest.raises(offloop.BlockingOnLoop) as info:
        await api.get_player_summaries([76561197960287930])
    assert "requests GET (steam package) ran on the trio thread at " \
           "familybot_trio/upstream/steam_webapi.py" in str(info.value)
    assert sent == []  # refused before anything went out
    assert len(offloop.take_violations()) == 1


async def test_a_file_read_on_the_loop_raises_naming_the_site(tmp_path: Path) -> None:
    path = tmp_path / "token"
    await blocking.run_sync("files", _secretfile.write_atomic, path, "x")
    assert await blocking.run_sync("files", _secretfile.read_or_none, path) == "x"
    with pytest.raises(offloop.BlockingOnLoop) as info:
        _secretfile.read_or_none(path)
    assert str(info.value).startswith("file read (read_or_none) ran on the trio thread at "
                                      "tests/test_offloop.py:")
    with pytest.raises(offloop.BlockingOnLoop, match="file write"):
        _secretfile.write_atomic(path, "y")
    assert len(offloop.take_violations()) == 2
    assert await blocking.run_sync("files", _secretfile.read_or_none, path) == "x"


async def test_a_swallowed_refusal_is_still_recorded(tmp_path: Path) -> None:
    try:
        _secretfile.read_or_none(tmp_path / "missing")
    except Exception:  # a broad handler in app code cannot hide it from the suite
        pass
    assert [v.split(" ran ")[0] for v in offloop.take_violations()] == ["file read (read_or_none)"]


def test_outside_trio_and_in_worker_threads_the_guard_stays_quiet(tmp_path: Path) -> None:
    assert _secretfile.read_or_none(tmp_path / "missing") is None  # no trio run here
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(
        _secretfile.read_or_none(tmp_path / "missing")))
    thread.start()
    thread.join()
    assert out == [None] and offloop.take_violations() == []


async def test_a_guard_failure_fails_the_test(pytester: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's hook fails a test that left a refusal, even one it caught itself."""
    # The inner run imports tests.conftest: the project root must be on its path (the
    # installed package holds familybot_trio and gateway only, not tests/).
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p))
    pytester.makeconftest("from tests.conftest import *  # noqa: F403\n")
    pytester.makepyfile(test_caught="""
        from familybot_trio import _secretfile

        async def test_swallowed(tmp_path):
            try:
                _secretfile.read_or_none(tmp_path / "x")
            except Exception:
                pass
    """)
    result = await blocking.run_sync("files", lambda: pytester.runpytest_subprocess(
        "-p", "trio", "-o", "trio_mode=true", "-o", "addopts="))
    result.assert_outcomes(failed=1)
    assert "a blocking call ran on the trio thread" in result.stdout.str()
