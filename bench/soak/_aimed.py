"""Hard restarts aimed at the worst moments of a post (issue 12): the soak's aimed faults.

Random restarts (`restart`) land wherever the App happens to be. These three land where
exactly-once is at stake:

- `restart_before_ack`: FakeDiscord has created the message (it is in the channel) and the
  App is cancelled before it reads the answer (a `FakeRest.before_answer` observer; the
  answer then goes out to a dead connection). The App starts again after 6-15 simulated
  minutes, past Discord's nonce window (the fake's 300 s, the sender's 120 s), so the outbox
  must find the message in the channel (its in-flight check) instead of posting it again.
- `restart_after_ack`: the answer was sent and read, and the App is cancelled as it starts
  to record the message id (its `mark_sent` for that id fails before its statement runs, the
  only moment that is after the answer and before the record whatever the scheduling; the
  message to watch is picked by the same `before_answer` observer); it starts again after
  10-100 s, inside the nonce window, so the repost is deduplicated by its nonce.
- `restart_in_transaction`: the next write transaction of one kind raises inside its worker
  thread right after the statement that names it (SQLite rolls the transaction back), and the
  App is cancelled at that moment: a crash mid-transaction (a trio cancel never stops a running
  thread). Kinds: `library` (INSERT INTO library_apps, the new game and its announcement
  commit together), `announcement` (INSERT INTO outbox), `mark_sent` (UPDATE outbox SET
  sent_at). The hook is the store's existing seam: `offloop.connection_factory`, wrapped for
  the soak's run by `trapping_store()`.

Each is counted as its own fault kind when it happens; an armed restart whose moment does not
come within ARM_S (no post, a long outage) counts `aimed_missed` (a fault outcome) instead;
`restart_before_ack_found_in_channel` counts the restarted App's outbox finding the post.
The plan (`aim_restarts`) puts one of each kind after the first new games, then one every
8-40 h, each at the moment a game is added (so a post follows within a library period), and
keeps the random restarts out of their windows. While an aimed restart is in progress the
plan waits (`settle`), as it does for a random one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final

import trio

from familybot_trio import offloop

KINDS: Final = ("restart_before_ack", "restart_after_ack", "restart_in_transaction")
#: The write transactions restart_in_transaction aims at: the statement after which it fails.
TX_TARGETS: Final = {"library": "INSERT INTO library_apps", "announcement": "INSERT INTO outbox",
                     "mark_sent": "UPDATE outbox SET sent_at"}
#: How long an armed restart waits for its moment (s).
ARM_S: Final = 4 * 3_600.0
#: Down time: before_ack past both nonce windows; after_ack inside them (s).
DOWN_S: Final = {"restart_before_ack": (360.0, 900.0), "restart_after_ack": (10.0, 100.0),
                 "restart_in_transaction": (0.0, 600.0)}
#: What the soak counts apart from the faults (bench/soak/_soak.py OUTCOMES).
OUTCOMES: Final = frozenset({"aimed_missed", "restart_before_ack_found_in_channel"}
                            | {f"{k}_recorded_first" for k in KINDS[:2]}
                            | {f"in_transaction_{t}" for t in TX_TARGETS})
_RANDOM_DOWN_MAX_S: Final = 40 * 60.0  # bench/soak/_plan.py's restart: 0-40 min down
_POST = re.compile(r"/channels/\d+/messages")


# ---------------------------------------------------------------------------- the plan
def aim_restarts(events: list[Any], seed: int, faults_end_s: float) -> list[Any]:
    """The plan's events with aimed restarts added and random restarts moved out of their way.

    Args: events: the plan's Events sorted by time (bench/soak/_plan.Event, kinds as there);
        seed: the plan's seed (an RNG of its own: the rest of the schedule stays as it was);
        faults_end_s: no aimed window lasts past this.
    Returns: a new sorted list. An aimed event's args: (down_s, tx_target or "").
    """
    rng = random.Random(f"aimed:{seed}")
    out = list(events)
    windows: list[tuple[float, float]] = []
    next_ok, n = 0.0, 0
    for e in events:
        # Armed at the instant the game is added (the event sorts just after its add_game),
        # so the next library run that records it is the one aimed at. Armed a minute later,
        # a run in that minute recorded the game first and the armed restart waited for an
        # INSERT that never came: `aimed_missed`, ~1 in 10 of the suite's 2-day seed-4 runs.
        at_s = e.at_s
        end_s = at_s + ARM_S + DOWN_S["restart_before_ack"][1]
        if e.kind != "add_game" or at_s < next_ok or end_s > faults_end_s:
            continue
        kind = KINDS[n % len(KINDS)]
        target = list(TX_TARGETS)[(n // len(KINDS)) % len(TX_TARGETS)] if kind == KINDS[2] else ""
        out.append(dataclasses.replace(e, at_s=at_s, kind=kind,
                                       args=(rng.uniform(*DOWN_S[kind]), target)))
        windows.append((at_s - _RANDOM_DOWN_MAX_S, end_s))
        n += 1
        next_ok = end_s if n < len(KINDS) else end_s + rng.uniform(8, 40) * 3_600.0
    for i, e in enumerate(out):  # a random restart inside a window goes to the window's end
        if e.kind == "restart":
            for lo, hi in windows:
                if lo <= e.at_s < hi:
                    out[i] = e = dataclasses.replace(e, at_s=hi + 60)
    out = [e for e in out if e.kind != "restart" or e.at_s < faults_end_s]
    out.sort(key=lambda e: e.at_s)
    return out


# ---------------------------------------------------------------------------- the store trap
class _StoreTrap:
    """Armed with a statement prefix and a `fire()` (run on the trio thread, returns whether
    it killed the App); the writer connection calls `check(sql, parameters, ran)` before
    (ran=False) and after (ran=True) each statement inside a transaction. Armed `before`, it
    fails the statement before it runs (only one whose parameters hold `param`, if given)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: tuple[str, Callable[[], bool], bool, Any] | None = None

    def arm(self, prefix: str | None, fire: Callable[[], bool] | None = None, *,
            before: bool = False, param: Any = None) -> None:
        with self._lock:
            self._armed = None if prefix is None or fire is None else (prefix, fire, before,
                                                                         param)

    def check(self, sql: str, parameters: Any, ran: bool) -> None:
        with self._lock:
            armed = self._armed
        if armed is None:
            return
        prefix, fire, before, param = armed
        if before == ran or not sql.lstrip().startswith(prefix):
            return
        if param is not None and param not in tuple(parameters or ()):
            return
        if not trio.from_thread.run_sync(fire):  # the App is starting: later
            return
        self.arm(None)
        where = "before" if before else "after"
        raise sqlite3.OperationalError(f"soak: simulated crash inside the transaction, {where} "
                                       f"{prefix}")


TRAP: Final = _StoreTrap()


def _trapped(base: type[sqlite3.Connection]) -> type[sqlite3.Connection]:
    class Trapped(base):  # type: ignore[valid-type,misc]
        def execute(self, sql: str, parameters: Any = (), /) -> Any:  # noqa: D102
            if self.in_transaction:
                TRAP.check(sql, parameters, False)
            cursor = super().execute(sql, parameters)
            if self.in_transaction:
                TRAP.check(sql, parameters, True)
            return cursor

    Trapped.__name__ = f"Soak{base.__name__}"
    return Trapped


@contextlib.contextmanager
def trapping_store() -> Iterator[None]:
    """While the block runs, the store's connections come from a subclass of the factory
    `offloop.connection_factory()` gives (guarded or not) whose execute calls TRAP.after."""
    original = offloop.connection_factory
    classes: dict[type, type] = {}

    def factory() -> type[sqlite3.Connection]:
        base = original()
        if base not in classes:
            classes[base] = _trapped(base)
        return classes[base]

    offloop.connection_factory = factory  # type: ignore[assignment]
    try:
        yield
    finally:
        offloop.connection_factory = original  # type: ignore[assignment]
        TRAP.arm(None)


# ---------------------------------------------------------------------------- at run time
@dataclasses.dataclass(slots=True)
class _Aimer:
    """One soak's aimed-restart state (kept in World.aimed)."""

    armed: str | None = None
    fired: trio.Event = dataclasses.field(default_factory=trio.Event)
    up: trio.Event = dataclasses.field(default_factory=trio.Event)
    restarting: bool = False
    hit: bool = False  # the armed moment came and the App was cancelled there
    nonce: str | None = None  # the post an ack restart hit (checked after the kill)
    hooked: bool = False


def _aimer(w: Any) -> _Aimer:
    if w.aimed is None:
        w.aimed = _Aimer()
    return w.aimed


def _fire(w: Any, a: _Aimer, kind: str) -> bool:
    """Cancel the App now (on the trio thread) if `kind` is armed and the App is up."""
    bot = w.bot
    if a.armed != kind or bot.clock.autojump_threshold == float("inf") or bot._scope is None:
        return False  # not armed for this, or the App is still starting (rate 1)
    bot._scope.cancel()
    a.armed, a.hit = None, True
    a.restarting, a.up = True, trio.Event()  # the plan waits from now on (settle)
    a.fired.set()
    return True


def _hook(w: Any, a: _Aimer) -> None:
    """Register the ack observers on FakeDiscord's REST side (once per soak)."""
    if a.hooked:
        return
    a.hooked = True

    async def before(record: Any) -> None:
        nonce = record.json.get("nonce") if isinstance(record.json, dict) else None
        if (a.armed not in KINDS[:2] or a.nonce is not None or record.method != "POST"
                or record.status != 200 or record.scripted or not nonce
                or not _POST.fullmatch(record.path)):
            return
        if a.armed == "restart_before_ack":
            if _fire(w, a, a.armed):
                a.nonce = str(nonce)
                await w.bot.kill()  # the answer goes out only once the App is gone
            return
        # after_ack: the answer goes out; the App dies as it starts recording this message
        # (its mark_sent for this message id fails before its statement runs).
        a.nonce = str(nonce)
        kind = a.armed
        TRAP.arm(TX_TARGETS["mark_sent"], lambda: _fire(w, a, kind), before=True,
                 param=int(record.answer["id"]))

    w.discord.rest.before_answer.append(before)


async def settle(event: Any, w: Any) -> None:
    """Before any plan event: wait while an aimed restart is in progress; a random restart
    disarms a pending aimed one (they never overlap in the plan; this is the safety net)."""
    a = _aimer(w)
    while a.restarting:
        await a.up.wait()
    if event.kind == "restart" and a.armed is not None:
        a.armed = None
        TRAP.arm(None)
        a.fired.set()  # wakes the waiting task, which sees nothing fired


async def arm(event: Any, w: Any) -> None:
    """Arm one aimed restart (event.kind in KINDS, args (down_s, tx_target)); it happens in
    w.nursery when its moment comes. Counts the kind in w.faults when it happens."""
    a = _aimer(w)
    if a.armed is not None or a.restarting:
        return
    _hook(w, a)
    kind, (down_s, target) = event.kind, event.args
    a.armed, a.fired, a.nonce, a.hit = kind, trio.Event(), None, False
    if kind == "restart_in_transaction":
        TRAP.arm(TX_TARGETS[target], lambda: _fire(w, a, kind))
    w.nursery.start_soon(_restart_when_fired, w, a, kind, down_s, target)


async def _restart_when_fired(w: Any, a: _Aimer, kind: str, down_s: float, target: str) -> None:
    with trio.move_on_after(ARM_S):
        await a.fired.wait()
    if not a.hit:  # the moment never came, or a random restart disarmed it
        a.armed = None
        TRAP.arm(None)
        w.faults["aimed_missed"] += 1
        return
    try:
        await w.bot.kill()
        w.faults[kind] += 1
        w.bot.restarts += 1
        if a.nonce is not None and await _recorded(w.db_path, a.nonce):
            w.faults[f"{kind}_recorded_first"] += 1  # the App recorded the post before dying
        if target:
            w.faults[f"in_transaction_{target}"] += 1
        await trio.sleep(down_s)
        app = await w.bot.start()
        if kind == "restart_before_ack":
            w.nursery.start_soon(_watch_lookup, w, app)
    finally:
        a.restarting = False
        a.up.set()


async def _watch_lookup(w: Any, app: Any) -> None:
    """Count `restart_before_ack_found_in_channel` once the restarted App's outbox found an
    unanswered post in the channel (its in-flight check), within ARM_S."""
    with trio.move_on_after(ARM_S):
        while not app.outbox_sender.stats["found_in_channel"]:
            await trio.sleep(60)
        w.faults["restart_before_ack_found_in_channel"] += 1


async def _recorded(db_path: Any, nonce: str) -> bool:
    """Whether the outbox row with this nonce has sent_at (read from the file directly)."""

    def read() -> bool:
        conn = sqlite3.connect(db_path, timeout=30)
        try:
            row = conn.execute("SELECT sent_at FROM outbox WHERE nonce = ?", (nonce,)).fetchone()
        finally:
            conn.close()
        return row is not None and row[0] is not None

    return await trio.to_thread.run_sync(read)
