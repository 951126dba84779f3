"""Applying the soak plan's events to the world: the sandbox, FakeDiscord, the database, the bot.

`apply(event, ctx)` makes one planned change or fault happen and counts it in
`ctx.faults` (family changes are counted there too and split off in the results). Faults
that need watching (a zombie gateway connection) run in `ctx.nursery` and record their
outcome in `ctx.faults` ("zombie_detected", "zombie_undetected").
"""

from __future__ import annotations

import collections
import sqlite3
import threading
import time
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from bench.soak import _aimed, _free, _garbage, _suspicious
from bench.soak._plan import FIRST_BUNDLE_APPID, Event
from familybot_trio.sandbox import Sandbox
from familybot_trio.sandbox.world import CHANNELS
from gateway.testing import FakeDiscord

NEW_GAMES = CHANNELS["new_games"]
_ITAD = {"itad_429": "429_retry_after", "itad_503": "503", "itad_401": "401",
         "itad_timeout": "hang"}
_STEAM = {"steam_503": "503", "steam_429": "429_retry_after", "steam_401": "401"}


@dataclass(slots=True)
class World:
    """What the events act on. bot: the soak's _Bot (start/kill/app); members: SteamID64s
    in member order; db_path: the bot's SQLite file; heartbeat_s: the gateway's interval;
    busy_hold_scale: multiplies the sqlite_busy hold (real seconds)."""

    bot: Any
    sandbox: Sandbox
    discord: FakeDiscord
    members: list[int]
    db_path: Path
    heartbeat_s: float
    nursery: trio.Nursery
    faults: collections.Counter[str]
    busy_hold_scale: float = 1.0
    lock_holders: list[threading.Thread] = dataclasses.field(default_factory=list)
    aimed: Any = None  # bench/soak/_aimed.py's state for this soak
    suspicious: Any = None  # bench/soak/_suspicious.py's Tracker
    garbage: list = dataclasses.field(default_factory=list)  # bench/soak/_garbage.py's rules


async def apply(event: Event, w: World) -> None:
    """Apply one planned event (see bench/soak/_plan.py for the kinds)."""
    kind, args = event.kind, event.args
    sb, rest, bot = w.sandbox, w.discord.rest, w.bot
    await _aimed.settle(event, w)  # an aimed restart in progress: wait until the App is up
    messages = "/messages"
    if kind in _suspicious.KINDS:
        return await _suspicious.apply(event, w)
    elif kind == "add_game":
        appid, owner, name = args
        sb.add_library_app(appid, w.members[owner], name=name)
    elif kind == "remove_game":
        sb.remove_library_app(args[0])
    elif kind == "add_bundle":  # bought together: the same library run sees them all
        first, count, owner = args
        for i in range(count):
            sb.add_library_app(first + i, w.members[owner],
                               name=f"Soak Bundle {(first - FIRST_BUNDLE_APPID) // 100} Game {i}")
    elif kind == "add_owner":
        sb.add_library_app(args[0], w.members[args[1]])
    elif kind == "return_game":
        sb.add_library_app(args[0], w.members[args[1]])
    elif kind == "wish_add":
        sb.add_to_wishlist(w.members[args[0]], args[1])
    elif kind == "wish_remove":
        sb.remove_from_wishlist(w.members[args[0]], args[1])
    elif kind == "sale_start":
        sb.start_sale(*args)
    elif kind == "sale_end":
        sb.end_sale(args[0])
    elif kind == "renew_token":
        token = sb.issue_access_token()
        if bot.app is not None:
            await bot.app.tokens.set(token)
    elif kind == "restart":
        w.faults["restart"] += 1
        bot.restarts += 1
        await bot.kill()
        await trio.sleep(args[0])
        await bot.start()
        return
    elif kind in _aimed.KINDS:
        await _aimed.arm(event, w)  # counted when it happens
        return
    elif kind == "rest_outage":
        rest.fail_next("POST", messages, 503, times=10**9)
    elif kind == "channel_403":
        rest.fail_next("POST", f"/channels/{NEW_GAMES}/messages", 403, times=10**9,
                       body={"code": 50013, "message": "Missing Permissions"})
    elif kind == "rest_recover":
        rest.clear_faults()
        return
    elif kind == "cloudflare_429":
        rest.cloudflare_next("POST", messages)
    elif kind in ("route_429", "global_429"):
        rest.rate_limit_next("POST", messages, scope="user" if kind == "route_429" else "global",
                             retry_after=args[1], times=2)
    elif kind == "gateway_zombie":
        if w.discord.gateway.withhold_acks:
            return  # one zombie at a time
        w.discord.gateway.withhold_acks = True
        w.nursery.start_soon(_watch_zombie, w)
    elif kind.startswith("gateway_"):
        try:
            if kind == "gateway_close_4000":
                await w.discord.gateway.close_connection(4000, "soak: resumable close")
            elif kind == "gateway_op7":
                await w.discord.gateway.send_op(7)
            else:
                await w.discord.gateway.send_op(9, False)
        except (RuntimeError, AssertionError, trio.BrokenResourceError,
                trio.ClosedResourceError):
            return  # no live connection at that moment: nothing injected
    elif kind in _STEAM:
        sb.fail_next("steam_webapi", _STEAM[kind], n=args[0], retry_after_s=30)
    elif kind == "steam_malformed":
        sb.fail_next("steam_webapi", "malformed_json", n=1)
    elif kind == "steam_token_expired":
        sb.expire_access_token()  # a planned renew_token follows within 1-6 h
    elif kind in _ITAD:
        sb.fail_next("itad", _ITAD[kind], n=1 if kind == "itad_timeout" else args[0],
                     retry_after_s=30)
    elif kind == "sqlite_busy":
        # A second connection holds the write lock for args[0] real seconds, in a plain
        # thread (never on the loop, and not counted by the thread-aware clock, so simulated
        # time goes on meanwhile): the bot's store calls in that window wait for the lock
        # (BUSY_TIMEOUT_MS, 5 s, during which their own threads hold the clock) and may fail.
        holder = threading.Thread(target=_hold_write_lock,
                                  args=(w.db_path, args[0] * w.busy_hold_scale),
                                  name="soak-sqlite-busy", daemon=True)
        holder.start()
        w.lock_holders.append(holder)
    elif kind in _free.KINDS:
        _free.apply(kind, args, sb)
    elif kind == _garbage.KIND:
        w.faults[_garbage.apply(args, w)] += 1
        return
    w.faults[kind] += 1


async def _watch_zombie(w: World) -> None:
    """Wait for the shard to notice the missing ACKs and connect again (identify or
    resume), then ACK again. Not within 6 heartbeat intervals: "zombie_undetected"."""
    gw = w.discord.gateway
    before = gw.identify_count + gw.resume_count
    try:
        with trio.move_on_after(6 * w.heartbeat_s) as scope:
            while gw.identify_count + gw.resume_count == before:
                await trio.sleep(w.heartbeat_s / 10)
        w.faults["zombie_undetected" if scope.cancelled_caught else "zombie_detected"] += 1
    finally:
        gw.withhold_acks = False


def _hold_write_lock(db_path: Path, hold_s: float) -> None:
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(hold_s)
        conn.execute("ROLLBACK")
    finally:
        conn.close()
