"""Fetches the guard kept aside: tell the admins once per streak, and let them accept one.

The store's guard (store/_guard.py) keeps the cached rows when a fetch looks wrong (a big
wishlist that comes back nearly empty, a library that shrinks by half) and records a
`fetch_anomalies` row. `report_kept_aside(app)` runs after every schedule job: each
anomaly that starts a streak (the first for its subject, or the first since a fetch of that
subject was accepted; decided when the anomaly is recorded) is reported once, oldest first: whose data, what came back, what was kept, and the
command that accepts it. `accept_next(store, what, ...)` makes the next answer for those
subjects be stored as real (for `/admin_accept`, `familybot-trio accept` and the dashboard).
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import trio

from familybot_trio.store import FetchAnomaly, Store
from familybot_trio.store._guard import accept_key

if TYPE_CHECKING:
    from familybot_trio.app import App

__all__ = ["KINDS", "PARTIAL_KEY", "REPORTED_KEY", "accept_next", "report_kept_aside", "describe"]

log = logging.getLogger("familybot_trio.kept_aside")

#: What an admin can accept -> the guard's kind. The library has one subject ("family");
#: wishlists and owned games have one per member (SteamID64).
KINDS: Final = {"library": "library", "wishlist": "wishlist", "owned": "owned_games"}
#: kv key: the id of the last fetch_anomalies row looked at for reports.
REPORTED_KEY: Final = "kept_aside.reported_id"
#: kv key: {"id": anomaly id, "done": destinations settled} for a report some destinations
#: (an admin's DM in an outage) have not taken yet; the next pass sends it to the rest only.
PARTIAL_KEY: Final = "kept_aside.partial"
#: Streak starts read at a time (oldest first, after the last reported id; a pass reads on
#: until none is left, so none is skipped).
BATCH: Final = 50
#: App -> the lock that keeps its report passes one at a time.
_LOCKS: weakref.WeakKeyDictionary[App, trio.Lock] = weakref.WeakKeyDictionary()


async def accept_next(store: Store, what: str, steamids: Sequence[int] | None,
                      now: dt.datetime) -> list[str]:
    """Accept the next fetch of `what` for these members (or the family library) as real.

    Args: what: "library", "wishlist" or "owned"; steamids: members (SteamID64) for
        wishlist / owned, None = every member; ignored for the library; now: aware UTC.
    Returns: the subjects accepted ("family", or SteamID64s as text).
    Raises: ValueError for an unknown `what` (the message lists the choices); StoreError.
    """
    kind = KINDS.get(what)
    if kind is None:
        raise ValueError(f"cannot accept {what!r}; choose one of {', '.join(KINDS)}")
    if kind == "library":
        subjects = ["family"]
    elif steamids is None:
        subjects = [str(m.steamid) for m in await store.members.all()]
    else:
        subjects = [str(int(s)) for s in steamids]
    for subject in subjects:
        await store.state.set(accept_key(kind, subject), True, now)
    log.info("next fetch accepted as real [kind:%s subjects:%d]", kind, len(subjects))
    return subjects


def describe(anomaly: FetchAnomaly, names: dict[int, str]) -> str:
    """The admin report for one kept-aside fetch: whose, what came back, what was kept (and,
    for a suspicious answer, the /admin_accept that stores it; a failed fetch has nothing
    to accept)."""
    what = {"library": "library", "owned_games": "owned games"}.get(anomaly.kind, anomaly.kind)
    if anomaly.subject.isdigit():
        name = names.get(int(anomaly.subject), f"SteamID64 {anomaly.subject}")
        whose, member = f"{name}'s {what}", f" member:{name}"
    else:
        whose, member = f"the family {what}", ""
    what_cmd = next((k for k, v in KINDS.items() if v == anomaly.kind), anomaly.kind)
    if anomaly.new_count is None:  # a failed fetch (state.record_fetch_failure): no answer
        return (f"Steam's answer for {whose} could not be used: {anomaly.reason}. I kept the "
                "cached data and try again at the next run; I say so again only after a "
                "fetch worked.")
    offered = "" if anomaly.new_count is None else f" ({anomaly.new_count} rows came back)"
    kept = "" if anomaly.previous_count is None else f"the {anomaly.previous_count} cached rows"
    return (f"Steam's answer for {whose} looks wrong: it {anomaly.reason}{offered}. I kept "
            f"{kept or 'the cached data'} and will keep doing so while the answers look like "
            f"this. If the change is real, run `/admin_accept what:{what_cmd}{member}`.")


async def report_kept_aside(app: App) -> int:
    """Report the streak starts recorded after the last one reported, oldest first.

    One pass at a time per App (jobs end concurrently; two passes would both see the same
    unreported anomaly while Discord is slow). A report counts as done once each destination
    (the admin channel, or each admin's DM) took it or refused it for good (DMs closed); one
    an outage kept from some destination waits for the next pass, which sends it to those
    only, and the later reports wait behind it: late, never lost, never twice to an admin.
    Returns: reports sent. Raises: StoreError (report_admin never raises).
    """
    lock = _LOCKS.get(app)
    if lock is None:
        lock = _LOCKS[app] = trio.Lock()
    async with lock:
        return await _report_pass(app)


async def _report_pass(app: App) -> int:
    store = app.store
    last = int(await store.state.get(REPORTED_KEY, 0) or 0)
    names: dict[int, str] | None = None
    sent = 0
    while batch := await store.state.streak_starts(after_id=last, limit=BATCH):
        if names is None:
            names = {int(m.steamid): m.name for m in await store.members.all()}
        for anomaly in batch:
            partial = await store.state.get(PARTIAL_KEY) or {}
            skip = partial.get("done", []) if partial.get("id") == anomaly.id else []
            delivery = await app.report_admin_to(describe(anomaly, names), skip)
            if not delivery.done:
                log.info("kept-aside report not delivered everywhere, the next job run tries "
                         "the rest again [kind:%s subject:%s pending:%d]", anomaly.kind,
                         anomaly.subject, len(delivery.pending))
                await store.state.set(PARTIAL_KEY, {"id": anomaly.id,
                                                    "done": sorted(delivery.settled)}, app.now())
                return sent
            sent += 1
            last = anomaly.id
            await store.state.set(REPORTED_KEY, last, app.now())
            if partial:
                await store.state.set(PARTIAL_KEY, None, app.now())
    return sent
