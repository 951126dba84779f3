"""The sandbox in a child process, and a proxy with the parts of `Sandbox` the bench reads.

Why a process: the sandbox does real Python work per request (building a 2,000-app library
body, GetItems for 100 apps). In the bot's process that work would take the GIL from the
bot's loop and from FakeDiscord's thread, and show up as the bot's lateness. Real upstreams
run elsewhere; so does this one.

Protocol over a multiprocessing Pipe: the child answers ("info",) with a snapshot (urls,
keys, access token, family facts), ("total",) with its request count, ("reset",) by zeroing
its counters, ("close",) by stopping.
"""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import dataclass
from typing import Any

import trio


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What write_config reads of a member: steamid (SteamID64), persona."""

    steamid: int
    persona: str


@dataclass(frozen=True, slots=True)
class FamilyInfo:
    """A read-only snapshot of the sandbox family (SteamID64 -> appids for wishlists)."""

    family_groupid: str
    members: list[MemberInfo]
    wishlists: dict[int, list[int]]
    library: frozenset[int]


def _child(conn: Any, latency_ms: float) -> None:
    from familybot_trio.sandbox import Sandbox

    sandbox = Sandbox(latency_ms=latency_ms, rate_limits=False)

    async def main() -> None:
        token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            await nursery.start(sandbox.serve)
            fam = sandbox.family
            conn.send({"urls": dict(sandbox.urls), "apihost": sandbox.apihost,
                       "api_key": sandbox.api_key, "itad_key": sandbox.itad_key,
                       "access_token": sandbox.access_token,
                       "family": FamilyInfo(
                           fam.family_groupid,
                           [MemberInfo(int(m.steamid), m.persona) for m in fam.members],
                           {int(s): [int(a) for a in wl] for s, wl in fam.wishlists.items()},
                           frozenset(int(a) for a in fam.library))})
            done = trio.Event()

            def serve_pipe() -> None:
                while True:
                    msg = conn.recv()
                    if msg[0] == "total":
                        conn.send(trio.from_thread.run_sync(sandbox.total_requests,
                                                            trio_token=token))
                    elif msg[0] == "reset":
                        trio.from_thread.run_sync(sandbox.reset_counts, trio_token=token)
                        conn.send(None)
                    else:
                        trio.from_thread.run_sync(done.set, trio_token=token)
                        return

            threading.Thread(target=serve_pipe, daemon=True).start()
            await done.wait()
            nursery.cancel_scope.cancel()
        conn.send(None)

    trio.run(main)


class SandboxProcess:
    """A Sandbox (rate limits off) served by a spawned child process.

    Attributes after start(): urls, apihost, api_key, itad_key, access_token, family
    (FamilyInfo). Every method blocks: call through `blocking.run_sync`, except the two
    counters, which are quick pipe round trips (~0.1 ms) and are also offered async.
    """

    def __init__(self, *, latency_ms: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._lock = threading.Lock()
        self._proc = ctx.Process(target=_child, args=(child, latency_ms), daemon=True,
                                 name="bench-sandbox")
        self.urls: dict[str, str] = {}
        self.apihost = self.api_key = self.itad_key = self.access_token = ""
        self.family: FamilyInfo

    def start(self) -> None:
        """Spawn the child and wait for its snapshot (blocking; up to 60 s)."""
        self._proc.start()
        if not self._conn.poll(60):
            raise RuntimeError("the bench sandbox process did not start within 60 s")
        info = self._conn.recv()
        self.urls, self.apihost = info["urls"], info["apihost"]
        self.api_key, self.itad_key = info["api_key"], info["itad_key"]
        self.access_token, self.family = info["access_token"], info["family"]

    def _ask(self, *msg: Any) -> Any:
        with self._lock:
            self._conn.send(msg)
            return self._conn.recv()

    def total_requests(self) -> int:
        """Requests the sandbox received since the last reset (blocking round trip)."""
        return int(self._ask("total"))

    def reset_counts(self) -> None:
        """Zero the sandbox's counters (blocking round trip)."""
        self._ask("reset")

    def close(self) -> None:
        """Stop the child (blocking; kills it after 10 s)."""
        try:
            self._ask("close")
        except (EOFError, OSError):
            pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
