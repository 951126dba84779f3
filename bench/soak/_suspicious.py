"""Suspicious answers, a real big change an admin accepts, and Steam timeouts, in the soak.

Planned (`plan_events`, from its own `random.Random`, so the rest of a seed's schedule does
not move):
- "suspicious_streak" (args: what, member index, duration_s): for a few fetches Steam lies
  (`Sandbox.lie_next`, not a change): a linked member's wishlist comes back with 15 % of its
  games (80 -> 12), or the family library with 40 % of its apps. The store's guard must keep
  the cached rows (they are compared at the start and the end of the streak: nothing may
  change while every answer is a lie) and the admins get exactly one kept-aside report per
  streak (familybot_trio/kept_aside.py, in the admin_reports channel).
- "real_wish_clear" (once a run, when it can be judged: an hour in or later and a day
  before the end, see REAL_CLEAR_ROOM_S; so not in runs of a day or less): member 0
  really removes every game but the soak's wish pool from their wishlist (logged in change_log as real). The guard keeps it aside and
  reports it; the soak then accepts it as an admin would (kept_aside.accept_next through
  the running App, what /admin_accept calls) once the report is there, and at the end the
  bot's stored wishlist of member 0 must be the sandbox's.
- "steam_timeout": the next GetSharedLibraryApps hangs (sandbox fault "hang"). The bot's
  per-attempt timeout (SteamWebAPI's RetryPolicy, 20 s, not configurable) runs in real
  seconds: the worker thread blocks and the thread-aware clock waits for it. The attempt
  must time out and be retried (the announcements invariants prove nothing is lost).
  Only in the bench's runs of 3+ days (about every 2-4 days), not in the suite's 2 days.

Results (`results`): kept_aside_reports_expected / _posted / _lost / _duplicated (per
streak: exactly one report between a streak's start and the next streak of its subject, or
the run's end, for each streak that served a lie to the guarded fetch and for the real
change; reports about a subject before its first streak are duplicated too),
failed_fetch_reports_duplicated (a "could not be used" report posted more often than the
bot recorded failure streaks with that text: at most one per failure streak; the streaks
are the store's fetch_anomalies streak starts), kept_rows_changed (streaks during which the stored rows changed),
accepted_change (the real change's check), steam_timeouts_served and
steam_timeouts_retried (a hang that fired and was followed by another library request
within 4 simulated hours: bounded; `steam_timeout_unretried` in failed() when not).
"""

from __future__ import annotations

import collections
import dataclasses
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from bench.soak._plan import DAY_S, FIRST_WISH_APPID, HOUR_S, WISH_POOL, Event
from familybot_trio import kept_aside
from familybot_trio.errors import StoreError
from familybot_trio.ids import SteamID64
from familybot_trio.sandbox.world import CHANNELS
from gateway.testing import FakeDiscord

KINDS = frozenset({"suspicious_streak", "real_wish_clear", "steam_timeout"})
T = TypeVar("T")
#: Share of the real answer a lie keeps: the guard's thresholds (store/_guard.py) call a
#: shrink below half of 10+ rows suspicious.
KEEP = {"wishlist": 0.15, "library": 0.4}
ADMIN = CHANNELS["admin_reports"]
MARK = "looks wrong"  # kept_aside.describe's wording
FAILED_MARK = "could not be used"  # ... for a failed fetch
POOL = frozenset(range(FIRST_WISH_APPID, FIRST_WISH_APPID + WISH_POOL))
LIBRARY = "steam_webapi.GetSharedLibraryApps"
#: A hung library fetch must be followed by another within this (simulated) time: the
#: attempt timed out and the call, or the next run of the job, asked again.
RETRY_WITHIN_S = 4 * HOUR_S
#: The real change is planned only when it can be judged: after the bot's first wishlist
#: fetch (90 s in; before it there is no stored wishlist for the guard to keep, so the
#: emptied one is stored as the first answer and never reported) and with a day left (the
#: wishlist job runs every 6 h +-10 %: one fetch to keep it aside and report it, the accept,
#: one more fetch to store it). A run of 1 day or less has faults_end_s 0: no real change.
REAL_CLEAR_AFTER_S = 1 * HOUR_S
REAL_CLEAR_ROOM_S = DAY_S


@dataclasses.dataclass(slots=True)
class Streak:
    """One planned lie, or the real change (real=True). subject: "library" or
    "wishlist:<steamid>"; rule: the sandbox's Lie (its served counts); changed: the stored
    rows differed at the end; reports_before: the subject's kept-aside reports posted when
    it began (its window runs to the next streak of the subject, or the run's end)."""

    subject: str
    rule: Any = None
    changed: bool = False
    reports_before: int = 0
    real: bool = False


@dataclasses.dataclass(slots=True)
class Tracker:
    """What this module saw during a run (kept on the soak's World)."""

    streaks: list[Streak] = dataclasses.field(default_factory=list)
    real_change: str | None = None  # "wishlist:<steamid>" once it happened
    accepted: bool = False
    #: steam_timeout outcomes: "served" (the hang fired), "retried" (GetSharedLibraryApps
    #: asked again within RETRY_WITHIN_S after it), "unretried" (not: the bot stuck)
    hangs: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


def plan_events(days: float, seed: int, faults_end_s: float, wishers: int) -> list[Event]:
    """The suspicious streaks, the real change and the Steam hangs for one run."""
    rng = random.Random(f"suspicious-{seed}")
    ev: list[Event] = []
    t = rng.uniform(6, 14) * HOUR_S
    while t < faults_end_s:
        what = rng.choice(("wishlist", "library"))
        duration = (rng.uniform(8, 16) if what == "wishlist" else rng.uniform(4, 8)) * HOUR_S
        ev.append(Event(t, "suspicious_streak", (what, rng.randrange(1, wishers), duration)))
        t += duration + rng.uniform(8, 30) * HOUR_S
    clear_s = min(rng.uniform(0.3, 0.5) * days * DAY_S, faults_end_s)
    if clear_s >= REAL_CLEAR_AFTER_S and days * DAY_S - clear_s >= REAL_CLEAR_ROOM_S:
        ev.append(Event(clear_s, "real_wish_clear", (0,)))
    if days >= 3:
        t = rng.uniform(1, 2) * DAY_S
        while t < faults_end_s:
            ev.append(Event(t, "steam_timeout"))
            t += rng.uniform(2, 4) * DAY_S
    return ev


async def apply(event: Event, w: Any) -> None:
    """Make one of this module's events happen (the soak's _faults.apply dispatches here)."""
    tracker: Tracker = w.suspicious
    kind, args = event.kind, event.args
    w.faults[kind] += 1
    if kind == "steam_timeout":
        w.nursery.start_soon(_watch_hang, tracker, w.sandbox,
                             w.sandbox.fail_next(LIBRARY, "hang", n=1))
    elif kind == "suspicious_streak":
        what, member, duration_s = args
        w.nursery.start_soon(_streak, w, tracker, what, w.members[member], duration_s)
    elif kind == "real_wish_clear":
        steamid = w.members[args[0]]
        for appid in list(w.sandbox.family.wishlists.get(steamid, {})):
            if appid not in POOL:
                w.sandbox.remove_from_wishlist(steamid, appid)
        tracker.real_change = f"wishlist:{steamid}"
        tracker.streaks.append(Streak(tracker.real_change, real=True,
                                      reports_before=_count(w, tracker.real_change)))
        w.nursery.start_soon(_accept_when_reported, w, tracker, steamid)


async def _watch_hang(tracker: Tracker, sandbox: Any, rule: Any) -> None:
    """Wait for the hang to fire, then for the next GetSharedLibraryApps request."""
    while rule.remaining > 0:
        await trio.sleep(30)
    tracker.hangs["served"] += 1
    asked = sandbox.counts[LIBRARY]
    with trio.move_on_after(RETRY_WITHIN_S) as scope:
        while sandbox.counts[LIBRARY] <= asked:
            await trio.sleep(10)
    tracker.hangs["unretried" if scope.cancelled_caught else "retried"] += 1


async def on_running_app(w: Any, act: Callable[[Any], Awaitable[T]]) -> T:
    """`await act(app)` on the soak's running App, as an admin or a reader would. A restart
    (planned or aimed) may close that App's store between two looks: then wait for the next
    App and try again, a minute apart. Raises: StoreError after five failures while an App
    runs (a real store failure, not a restart)."""
    failures = 0
    while True:
        app = w.bot.app
        if app is not None and not w.bot.stopped:
            try:
                return await act(app)
            except StoreError:
                failures += 0 if w.bot.stopped else 1  # killed meanwhile: wait for the next
                if failures >= 5:
                    raise
        await trio.sleep(60)


async def _stored(w: Any, subject: str) -> frozenset[int]:
    """The bot's stored rows for `subject`, read through the running App's store."""
    return await on_running_app(w, lambda app: _read_stored(app.store, subject))


async def _read_stored(store: Any, subject: str) -> frozenset[int]:
    if subject == "library":
        return frozenset(int(a.appid) for a in await store.library.apps())
    steamid = SteamID64(int(subject.split(":")[1]))
    return frozenset(int(i.appid) for i in await store.wishlist.items(steamid))


async def _streak(w: Any, tracker: Tracker, what: str, steamid: int, duration_s: float) -> None:
    subject = "library" if what == "library" else f"wishlist:{steamid}"
    streak = Streak(subject, reports_before=_count(w, subject))
    tracker.streaks.append(streak)
    before = await _stored(w, subject)
    streak.rule = w.sandbox.lie_next(
        "GetWishlist" if what == "wishlist" else "GetSharedLibraryApps", keep=KEEP[what],
        steamid=steamid if what == "wishlist" else None, until_s=w.sandbox.now_s() + duration_s)
    await trio.sleep(duration_s)
    streak.changed = await _stored(w, subject) != before


async def _accept_when_reported(w: Any, tracker: Tracker, steamid: int) -> None:
    """Wait (up to a day) for the kept-aside report naming member `steamid`'s wishlist,
    then accept the next wishlist answer as real, as /admin_accept does."""
    name = next(m.persona for m in w.sandbox.family.members if m.steamid == steamid)
    with trio.move_on_after(DAY_S):
        while not any(f"{name}'s wishlist" in text for text in _reports(w.discord)):
            await trio.sleep(600)
    await on_running_app(w, lambda app: kept_aside.accept_next(
        app.store, "wishlist", [steamid], app.now()))
    tracker.accepted = True


def _reports(discord: FakeDiscord, mark: str = MARK) -> list[str]:
    return [m.content or "" for m in discord.messages(ADMIN) if mark in (m.content or "")]


def _names(w: Any) -> dict[str, int]:
    return {m.persona: int(m.steamid) for m in w.sandbox.family.members}


def _count(w: Any, subject: str) -> int:
    """The kept-aside reports about `subject` posted so far."""
    names = _names(w)
    return sum(1 for t in _reports(w.discord) if _subject_of(t, names) == subject)


def _subject_of(text: str, names: dict[str, int]) -> str:
    if "the family library" in text:
        return "library"
    return next((f"wishlist:{sid}" for name, sid in names.items()
                 if f"{name}'s wishlist" in text), "other")


async def finish(w: Any) -> dict[str, Any]:
    """The accepted change's check, read from the bot's store (call before it stops)."""
    tracker: Tracker = w.suspicious
    out: dict[str, Any] = {"happened": tracker.real_change is not None,
                           "accepted": tracker.accepted, "matches": True}
    out["failure_starts"] = await _failure_starts(w)
    if tracker.real_change is not None:
        steamid = int(tracker.real_change.split(":")[1])
        want = frozenset(int(a) for a in w.sandbox.family.wishlists.get(steamid, {}))
        got = await _stored(w, tracker.real_change)
        out.update(expected=len(want), stored=len(got), matches=want == got)
    return out


async def _failure_starts(w: Any) -> list[str]:
    """The failed-fetch report each failure streak the bot recorded should get (the texts
    kept_aside.describe gives the streak starts with no answer), read from the running
    App's store; [] when no App runs."""
    app = w.bot.app
    if app is None:
        return []
    starts, after = [], 0
    while batch := await app.store.state.streak_starts(after_id=after, limit=500):
        starts += [a for a in batch if a.new_count is None]
        after = batch[-1].id
    names = {int(m.steamid): m.name for m in await app.store.members.all()}
    return [kept_aside.describe(a, names) for a in starts]


def _windows(tracker: Tracker, got: collections.Counter[str]) -> list[tuple[str, int, int]]:
    """(subject, expected, posted) per streak: each streak's window runs from its start to
    the next streak of its subject (or the run's end); a lie that was served, or the real
    change, expects exactly one report in it."""
    out = []
    for i, s in enumerate(tracker.streaks):
        nxt = next((n for n in tracker.streaks[i + 1:] if n.subject == s.subject), None)
        served = s.rule.served if s.rule is not None else {}
        want = 1 if s.real or served.get(
            "include_excluded" if s.subject == "library" else "wishlist") else 0
        end = nxt.reports_before if nxt is not None else got[s.subject]
        out.append((s.subject, want, end - s.reports_before))
    return out


def results(w: Any, accepted: dict[str, Any]) -> dict[str, Any]:
    """This module's invariants (see the module docstring)."""
    tracker: Tracker = w.suspicious
    names = _names(w)
    got = collections.Counter(_subject_of(t, names) for t in _reports(w.discord))
    windows = _windows(tracker, got)
    # Reports about a subject before its first streak (or with no streak) were not asked for.
    unasked = sum(min((x.reports_before for x in tracker.streaks if x.subject == s),
                      default=got[s]) for s in got)
    failures = collections.Counter(_reports(w.discord, FAILED_MARK))
    failure_starts = collections.Counter(accepted.pop("failure_starts", []))
    return {
        "suspicious_streaks": sum(1 for s in tracker.streaks if not s.real),
        "kept_aside_reports_expected": sum(want for _, want, _ in windows),
        "kept_aside_reports_posted": sum(got.values()),
        "kept_aside_reports_lost": sum(max(0, want - n) for _, want, n in windows),
        "kept_aside_reports_duplicated": sum(max(0, n - want) for _, want, n in windows)
        + unasked,
        "kept_aside_reports_by_streak": [{"subject": s, "expected": want, "posted": n}
                                         for s, want, n in windows],
        "failed_fetch_reports_posted": sum(failures.values()),
        "failed_fetch_streaks": sum(failure_starts.values()),
        "failed_fetch_reports_duplicated": sum(max(0, n - failure_starts[t])
                                               for t, n in failures.items()),
        "kept_aside_report_samples": [t[:160] for t in _reports(w.discord)][:8],
        "kept_rows_changed": sum(1 for s in tracker.streaks if s.changed),
        "accepted_change": accepted,
        "accepted_change_mismatch": 0 if accepted["matches"] else 1,
        "steam_timeouts_served": tracker.hangs["served"],
        "steam_timeouts_retried": tracker.hangs["retried"],
        "steam_timeout_unretried": tracker.hangs["unretried"],
    }
