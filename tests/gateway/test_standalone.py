"""gateway/ is a general Discord client: it imports nothing of familybot_trio.

The arrow runs one way (familybot_trio -> gateway). Blocking work reaches the gateway as a
`run_sync` callable from its caller (gateway._threads), so the gateway can be used, tested
and read on its own.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from typing import Any

import trio

from familybot_trio import blocking
from gateway import _threads
from gateway.codec import THREAD_THRESHOLD_BYTES
from gateway.testing._gateway_server import FakeGateway
from tests import _imports
from tests.gateway._shard_helpers import TOKEN, running_shard


def test_no_gateway_module_imports_familybot_trio() -> None:
    modules = _imports.module_files("gateway")
    assert "gateway.shard" in modules and "gateway.testing" in modules  # the walk sees them
    wrong = [f"{_imports.where(e)} imports {e.target}"
             for e in _imports.edges(["gateway"])
             if e.target == "familybot_trio" or e.target.startswith("familybot_trio.")]
    assert not wrong, ("gateway/ must not import familybot_trio (pass what it needs in, e.g. "
                       "a run_sync callable):\n" + "\n".join(wrong))


async def test_importing_every_gateway_module_loads_no_familybot_trio() -> None:
    names = sorted(_imports.module_files("gateway"))
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'familybot_trio'))")
    with trio.fail_after(60):
        done = await blocking.run_sync("files", functools.partial(
            subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True,
            cwd=_imports.ROOT, check=False))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"gateway pulled in: {done.stdout}"


async def test_shard_and_fake_gateway_run_big_frames_through_the_given_run_sync() -> None:
    calls: dict[str, list[str]] = {"shard": [], "fake": []}

    def recording(who: str):
        async def run_sync(fn: Any, *args: object) -> Any:
            calls[who].append(getattr(fn, "__name__", repr(fn)))
            return await _threads.default_run_sync(fn, *args)
        return run_sync

    fake = FakeGateway(token=TOKEN, allowed_intents=0, guild_ids=(), run_sync=recording("fake"))
    with trio.fail_after(30):
        async with running_shard(fake=fake, run_sync=recording("shard")) as h:
            await h.fake.send_big_dispatch(2 * THREAD_THRESHOLD_BYTES)
            await h.wait_for_event("GUILD_CREATE")
    assert calls["fake"], "FakeGateway built/deflated its big frame on the loop"
    assert calls["shard"], "Shard decoded a big frame without the run_sync it was given"


async def test_default_run_sync_runs_in_a_thread_under_its_own_limiter() -> None:
    import threading

    loop_thread = threading.get_ident()
    assert await _threads.default_run_sync(threading.get_ident) != loop_thread
    limiter = _threads._limiter.get()
    assert limiter.total_tokens == _threads.DEFAULT_THREADS
