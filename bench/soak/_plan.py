"""The soak's seeded schedule: family changes, faults and restarts, as plain data.

Everything random is decided here from one `random.Random(seed)`, before the run starts,
so a seed names one exact schedule (the bot's own jitter still comes from its own RNG).

Family changes (all days): a new game every 3-9 h (owner at random); now and then a game
announced days ago leaves the library and comes back 1-5 days later (a return within 30 days
is not announced again). From their own RNG (the rest of the schedule stays as it was,
`_bundles_and_owners`): a bundle of BUNDLE_SIZE games bought at once (more than the default
`[new_games] bundle_threshold` of 5: one grouped post naming every game), first within 6-30 h
and then every 3-7 days; and a second owner for a game (`add_owner`), either within a minute
of its purchase (co-owned when it is announced) or 1-3 days later (never announced again).
Faults (until one day before the end, never two Discord REST faults at once):
- Discord REST: an outage (503 on every create-message, 1-30 min), a Cloudflare HTML 429
  (the bot pauses REST for 10 min), a route or global 429, a 403 (50013) on the new-games
  channel for 1-6 h;
- Discord gateway: a resumable close (4000), op 7 reconnect, op 9 invalid session;
- Steam: 503s, 429s with Retry-After, a malformed JSON body on GetSharedLibraryApps;
- hard restarts: the whole App cancelled at a random point and a new one started on the
  same data directory after 0-40 min; and restarts aimed at a post or a transaction
  (bench/soak/_aimed.py, which also moves random restarts out of their windows);
  garbage and refusals from ITAD, Steam and the free-game feeds (bench/soak/_garbage.py).
The Steam access token is renewed every 20 h (as an admin, or the QR sign-in, would).
Wishes and sales (all from the same seed): WISH_POOL catalog games the library never gets.
Member 0 wishes for all of them from the start; every 4-12 h another member adds one to or
drops one from their wishlist (until a day before the end), so the family wishlist grows
and shrinks. A pool game not on sale, whose last sale ended 2+ days ago, goes on sale
(40-80 % off) every 8-20 h for 1.5-3 days (starts until 30 h before the end).
More faults: zombie gateway connections (no heartbeat ACKs until the shard reconnects),
ITAD 429 / 503 / 401 / timeouts, Steam 401s and an expired access token (renewed within
1-6 h), and SQLite busy (another connection holds the write lock for 1-7 real seconds).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from bench.soak import _aimed, _free, _garbage

DAY_S: Final = 86_400.0
HOUR_S: Final = 3_600.0
FIRST_APPID: Final = 5_100_000
#: Kinds of faults the plan injects (each counted in the results).
REST_FAULTS: Final = ("rest_outage", "cloudflare_429", "route_429", "global_429",
                      "channel_403")
GATEWAY_FAULTS: Final = ("gateway_close_4000", "gateway_op7", "gateway_op9", "gateway_zombie")
STEAM_FAULTS: Final = ("steam_503", "steam_429", "steam_malformed", "steam_401",
                       "steam_token_expired")
ITAD_FAULTS: Final = ("itad_429", "itad_503", "itad_401", "itad_timeout")
#: Catalog games wished for and put on sale (appids FIRST_WISH_APPID + i), never owned.
WISH_POOL: Final = 8
FIRST_WISH_APPID: Final = 5_200_000
#: Bundles: appids FIRST_BUNDLE_APPID + i, BUNDLE_SIZE games each (bench/soak/_free.py uses
#: 5_300_000 and up).
FIRST_BUNDLE_APPID: Final = 5_400_000
BUNDLE_SIZE: Final = (6, 9)


@dataclass(frozen=True, slots=True)
class Event:
    """One scheduled change. at_s: simulated seconds after the start; kind; args."""

    at_s: float
    kind: str
    args: tuple = ()


@dataclass(slots=True)
class Plan:
    """The schedule, sorted by time, and the ground truth it implies.

    Attributes: events; new_appids (games that must be announced exactly once, in order);
        names (appid -> name); faults_end_s (no fault starts or lasts past this).
    """

    events: list[Event] = field(default_factory=list)
    new_appids: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    faults_end_s: float = 0.0


def make_plan(days: float, seed: int, *, members: int, wishers: int | None = None) -> Plan:
    """The schedule for `days` simulated days from `seed`.

    Args: members: how many family members own games (owners are picked by index);
        wishers: the first this many members change their wishlists (default: all).
    """
    rng = random.Random(seed)
    end_s = days * DAY_S
    plan = Plan(faults_end_s=max(end_s - DAY_S, 0.0))
    ev = plan.events
    # Family changes.
    t, n = 2 * HOUR_S, 0
    added_at: dict[int, float] = {}
    while t < end_s - 3 * HOUR_S:
        appid = FIRST_APPID + n
        name = f"Soak Game {n:03d}"
        ev.append(Event(t, "add_game", (appid, rng.randrange(members), name)))
        plan.new_appids.append(appid)
        plan.names[appid] = name
        added_at[appid] = t
        n += 1
        if rng.random() < 0.2:  # a game announced long ago leaves, then returns
            old = [a for a, at in added_at.items() if t - at > 2 * DAY_S]
            if old:
                gone = rng.choice(old)
                del added_at[gone]
                back_s = t + rng.uniform(1, 5) * DAY_S
                ev.append(Event(t + 60, "remove_game", (gone,)))
                if back_s < end_s - 3 * HOUR_S:
                    ev.append(Event(back_s, "return_game", (gone, rng.randrange(members))))
        t += rng.uniform(3, 9) * HOUR_S
    # Discord REST faults, one after another.
    t = rng.uniform(1, 4) * HOUR_S
    while t < plan.faults_end_s:
        kind = rng.choice(REST_FAULTS)
        duration_s = {"rest_outage": rng.uniform(60, 30 * 60),
                      "channel_403": rng.uniform(1, 6) * HOUR_S}.get(kind, 0.0)
        duration_s = min(duration_s, plan.faults_end_s - t)
        ev.append(Event(t, kind, (duration_s, rng.uniform(1, 20))))
        if duration_s:
            ev.append(Event(t + duration_s, "rest_recover", (kind,)))
        t += duration_s + 600 + rng.uniform(2, 10) * HOUR_S
    for kinds, gap_h in ((GATEWAY_FAULTS, (4, 16)), (STEAM_FAULTS, (3, 12)),
                         (ITAD_FAULTS, (6, 18)), (("sqlite_busy",), (12, 36))):
        t = rng.uniform(*gap_h) * HOUR_S
        while t < plan.faults_end_s:
            kind = rng.choice(kinds)
            ev.append(Event(t, kind, (rng.randint(1, 6),)))
            if kind == "steam_token_expired":
                ev.append(Event(t + rng.uniform(1, 6) * HOUR_S, "renew_token"))
            elif kind == "sqlite_busy":
                ev[-1] = Event(t, kind, (rng.uniform(1, 7),))
            t += rng.uniform(*gap_h) * HOUR_S
    _wishes_and_sales(rng, ev, end_s, min(members, wishers or members))
    _bundles_and_owners(plan, seed, end_s, members)
    # Hard restarts, and the token renewals.
    t = rng.uniform(8, 30) * HOUR_S
    while t < plan.faults_end_s:
        ev.append(Event(t, "restart", (rng.uniform(0, 40 * 60),)))
        t += rng.uniform(8, 40) * HOUR_S
    t = 20 * HOUR_S
    while t < end_s:
        ev.append(Event(t, "renew_token"))
        t += 20 * HOUR_S
    ev += [Event(*e) for e in _free.plan(end_s, seed)]  # free games (bench/soak/_free.py)
    ev.sort(key=lambda e: e.at_s)
    plan.events = _aimed.aim_restarts(ev, seed, plan.faults_end_s)
    plan.events = sorted(plan.events + [Event(*e) for e in _garbage.plan(plan.faults_end_s, seed)],
                         key=lambda e: e.at_s)
    return plan


def _bundles_and_owners(plan: Plan, seed: int, end_s: float, members: int) -> None:
    """Bundles and second owners (see the module docstring), from an RNG of their own.

    Events: `add_bundle` (first_appid, count, owner index); `add_owner` (appid, owner index).
    A second owner goes only to a game that never leaves the library (a remove and a return
    are their own case), and never to the game's first owner."""
    if members < 2:
        return
    rng = random.Random(f"family:{seed}")
    ev = plan.events
    t, b = rng.uniform(6, 30) * HOUR_S, 0
    while t < end_s - 3 * HOUR_S:
        first, count = FIRST_BUNDLE_APPID + b * 100, rng.randint(*BUNDLE_SIZE)
        ev.append(Event(t, "add_bundle", (first, count, rng.randrange(members))))
        for i in range(count):
            plan.new_appids.append(first + i)
            plan.names[first + i] = f"Soak Bundle {b} Game {i}"
        b += 1
        t += rng.uniform(3, 7) * DAY_S
    removed = {e.args[0] for e in ev if e.kind == "remove_game"}
    games = [e for e in ev if e.kind == "add_game" and e.args[0] not in removed]
    for e in games:
        appid, owner = e.args[0], e.args[1]
        second = (owner + rng.randrange(1, members)) % members
        if rng.random() < 0.15:  # bought by two members at once: one post naming both
            ev.append(Event(e.at_s + 30, "add_owner", (appid, second)))
        elif rng.random() < 0.2:  # a second copy days later: not announced again
            at_s = e.at_s + rng.uniform(1, 3) * DAY_S
            if at_s < end_s - 3 * HOUR_S:
                ev.append(Event(at_s, "add_owner", (appid, second)))


def _wishes_and_sales(rng: random.Random, ev: list[Event], end_s: float, members: int) -> None:
    """Wishlist changes by members 1.. and sales of the WISH_POOL games (see the docstring)."""
    wished = {m: set() for m in range(1, members)}
    t = rng.uniform(1, 6) * HOUR_S
    while members > 1 and t < end_s - DAY_S:
        m, appid = rng.randrange(1, members), FIRST_WISH_APPID + rng.randrange(WISH_POOL)
        kind = "wish_remove" if appid in wished[m] else "wish_add"
        (wished[m].discard if kind == "wish_remove" else wished[m].add)(appid)
        ev.append(Event(t, kind, (m, appid)))
        t += rng.uniform(4, 12) * HOUR_S
    free_at = {FIRST_WISH_APPID + i: 0.0 for i in range(WISH_POOL)}
    t = rng.uniform(2, 12) * HOUR_S
    while t < end_s - 1.25 * DAY_S:
        ready = [a for a, at in free_at.items() if at <= t]
        if ready:
            appid = rng.choice(ready)
            ends = t + rng.uniform(1.5, 3) * DAY_S
            ev.append(Event(t, "sale_start", (appid, rng.randint(40, 80))))
            ev.append(Event(ends, "sale_end", (appid,)))
            free_at[appid] = ends + 2 * DAY_S
        t += rng.uniform(8, 20) * HOUR_S
