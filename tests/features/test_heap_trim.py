"""After a job run the bot gives the heap its workers freed back to the OS (heap.trim)."""

from __future__ import annotations

import ctypes
import platform

import pytest
import trio

from familybot_trio import heap

GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's; elsewhere heap.trim does nothing")
def test_trim_gives_freed_pages_back() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(64 * 1024 - 64) for _ in range(400)]  # below the mmap threshold
    for b in blocks[:-1]:
        libc.free(b)  # freed, but the last block pins the heap top: glibc keeps the pages
    assert heap.trim() is True
    libc.free(blocks[-1])


async def test_every_job_run_ends_with_a_trim(start_world) -> None:
    world = await start_world(features=["new_games"])
    before = world.app.heap_trims
    with trio.fail_after(60):
        for _ in range(2):
            assert (await world.app.scheduler.run_now("new_games")).ok
        while world.app.heap_trims < before + 2:  # the run's record step ends after run_now
            await trio.sleep(0.01)
    await trio.sleep(0.1)
    assert world.app.heap_trims == before + 2  # one trim per run, not more
