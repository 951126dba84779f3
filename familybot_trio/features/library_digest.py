"""The daily library digest: games that left, extra copies, games no longer shared.

New games get their own announcement (features/new_games.py). The other changes of the
family library — a game gone from it, a member buying a second copy of a game the family
had, a game that stops being shareable — are recorded by the library snapshot itself
(`store.library_events`, in the snapshot's transaction) and posted to the new-games
channel as ONE digest a day, never one message per event. The digest's outbox rows and
the "digested" mark are written in one transaction, so each event is in exactly one digest.

Config: `[new_games] digest = true` (default); false records the events but posts nothing.
Job: `library_digest`, hourly; it posts when events are pending and the last digest is at
least DIGEST_EVERY old (a restart does not make it post early or skip a day).

Logger: `familybot_trio.features.library_digest`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from familybot_trio.features import _common
from familybot_trio.store import LibraryEvent, OutboxDraft
from gateway.messages import EMBED_DESCRIPTION_MAX, Embed, pack_embeds, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.library_digest")

JOB: Final = "library_digest"
KIND: Final = "library_digest"
DIGEST_EVERY: Final = dt.timedelta(days=1)
LAST_DIGEST_KEY: Final = "library_digest.last_at"
COLOR: Final = 0x4A6B8A
#: GetSharedLibraryApps exclude_reason in words (as /owned says it).
EXCLUDE_TEXT: Final[Mapping[int, str]] = {
    1: "the publisher no longer allows Family Sharing", 3: "it became free to play",
    6: "Family Sharing does not lend this kind of app"}
SECTIONS: Final = (("removed", "Left the family library"), ("copy_added", "Extra copies"),
                   ("excluded", "No longer shared"))


def digest_lines(events: Sequence[LibraryEvent], names: Mapping[int, str],
                 members: Mapping[int, str], copies: Mapping[int, int]) -> list[str]:
    """The digest's markdown lines, one section per kind (pure; safe in the writer thread).

    Args: events; names: appid -> game name; members: SteamID64 -> display name;
        copies: appid -> copies the family has now.
    """
    lines: list[str] = []
    for kind, heading in SECTIONS:
        of_kind = [e for e in events if e.kind == kind]
        if not of_kind:
            continue
        lines.append(f"**{heading}**")
        for e in of_kind:
            link = _common.game_link(names.get(int(e.appid), f"App {e.appid}"), e.appid)
            if kind == "copy_added":
                who = _common.join_names(members.get(int(s), str(int(s))) for s in e.owners)
                n = copies.get(int(e.appid))
                lines.append(f"• {link}: {who} bought it too" + (f" ({n} copies now)" if n else ""))
            elif kind == "excluded":
                why = EXCLUDE_TEXT.get(e.exclude_reason,
                                       f"Steam excludes it now (reason {e.exclude_reason})")
                lines.append(f"• {link}: {why}")
            else:
                lines.append(f"• {link}")
    return lines


def digest_drafts(events: Sequence[LibraryEvent], channel_id: int, names: Mapping[int, str],
                  members: Mapping[int, str], copies: Mapping[int, int]
                  ) -> list[OutboxDraft]:
    """The digest as outbox drafts: as many messages as Discord's limits need (pure).

    Dedupe key: `library_digest:<first event id>-<last event id>:<part>`.
    """
    if not events:
        return []
    lines = digest_lines(events, names, members, copies)
    chunks = split_lines(lines, EMBED_DESCRIPTION_MAX)
    n = len(events)
    embeds = [Embed(title="Family library changes" if i == 0 else None, description=chunk,
                    color=COLOR, footer=f"{n} change{'' if n == 1 else 's'} since the last "
                    "digest" if i == len(chunks) - 1 else None)
              for i, chunk in enumerate(chunks)]
    span = f"{events[0].id}-{events[-1].id}"
    return [OutboxDraft(KIND, f"{KIND}:{span}:{part}", channel_id, {"embeds": message})
            for part, message in enumerate(pack_embeds(embeds))]


async def run_digest(app: App, *, force: bool = False) -> int:
    """Post the digest when it is due (or `force`). Returns: outbox rows queued.

    Raises: StoreError; UpstreamError only when names must be fetched and Steam fails
        (nothing is written then; the next run retries).
    """
    channel = app.config.channels.new_games
    if channel is None or not app.config.thresholds.new_games_digest:
        return 0
    now = app.now()
    last = await app.store.state.get(LAST_DIGEST_KEY)
    if not force and last is not None and \
            now - dt.datetime.fromtimestamp(float(last), dt.UTC) < DIGEST_EVERY:
        return 0
    pending = await app.store.library_events.pending()
    if not pending:
        return 0
    appids = list(dict.fromkeys(e.appid for e in pending))
    details = await app.catalog.details(appids, country=app.config.country)
    names = {int(a): d.name for a, d in details.items()}
    members = await _common.member_names(app)
    copies = {int(a.appid): len(a.owner_steamids) for a in await app.store.library.apps()
              if a.appid in set(appids)}
    ids = await app.store.library_events.digest(
        lambda events: digest_drafts(events, int(channel), names, members, copies), now)
    await app.store.state.set(LAST_DIGEST_KEY, now.timestamp(), now)
    log.info("library digest queued [events:%d messages:%d]", len(pending), len(ids))
    return len(ids)


def setup(app: App) -> None:
    """Register the `library_digest` job (hourly check, one digest a day at most)."""

    async def job(a: App) -> None:
        if await run_digest(a):
            a.wake_outbox()

    app.scheduler.add(JOB, run=job, interval_s=3600.0, jitter=0.1, timeout_s=300.0,
                      backoff_base_s=120.0)

