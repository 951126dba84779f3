"""The outbox as admins see it: list, retry and drop announcement rows.

Plain async functions over an open `Store`, shared by `/admin_outbox`, the
`familybot-trio outbox list|retry|drop` command and the dashboard. They never post: a row
made due again is picked up by the running bot's sender (at its next pass, at most
`outbox_sender.POLL_S` later; call `app.wake_outbox()` after `retry_outbox` inside the bot).

    rows = await list_outbox(store, status="failed")
    for entry in rows:
        print(format_entry(entry, now=now, channel_names=names))
    await retry_outbox(store, [rows[0].id])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from familybot_trio.store import OutboxId, OutboxRow, Store
from familybot_trio.store.outbox import STATUSES

__all__ = ["STATUSES", "OutboxEntry", "channel_names", "drop_outbox", "format_entry",
           "list_outbox", "retry_outbox"]

#: Longest error text shown per row in a list (the store keeps up to 500 characters).
ERROR_SHOWN_CHARS: Final = 160


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One row as shown to admins.

    Attributes: id; kind ("new_game", "deal", ...); dedupe_key; channel_id; status
        ("pending", "failed", "dropped", "sent"); created_at, next_attempt_at, failed_at
        (aware UTC or None); attempts (requests sent for it); last_error (what went wrong
        and the fix, or None); message_id (once sent).
    """

    id: OutboxId
    kind: str
    dedupe_key: str
    channel_id: int
    status: str
    created_at: dt.datetime
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    failed_at: dt.datetime | None
    message_id: int | None

    @classmethod
    def of(cls, row: OutboxRow) -> OutboxEntry:
        """The admin view of a stored row."""
        return cls(row.id, row.kind, row.dedupe_key, int(row.channel_id), row.status,
                   row.created_at, row.attempts, row.last_error, row.next_attempt_at,
                   row.failed_at, None if row.message_id is None else int(row.message_id))

    def age_s(self, now: dt.datetime) -> float:
        """Seconds since the row was queued."""
        return (now - self.created_at).total_seconds()


async def list_outbox(store: Store, *, status: str = "unsent", limit: int = 100
                      ) -> list[OutboxEntry]:
    """Rows in one state, oldest first.

    Args: store: an open Store; status: one of STATUSES ("unsent" = pending + failed, the
        default; "pending", "failed", "dropped", "sent"); limit: max rows (>= 1).
    Returns: OutboxEntry list.
    Raises: ValueError for an unknown status or a limit below 1 (the message lists the
        choices); StoreError.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    return [OutboxEntry.of(r) for r in await store.outbox.rows(status, limit=limit)]


async def retry_outbox(store: Store, ids: Sequence[int] | None = None) -> list[OutboxId]:
    """Make failed or dropped rows due now (the sender posts them at its next pass).

    Args: ids: outbox row ids; None = every failed row.
    Returns: the ids made due (already sent or unknown ids are left out).
    Raises: StoreError.
    """
    return await store.outbox.retry(None if ids is None else [OutboxId(i) for i in ids])


async def drop_outbox(store: Store, ids: Sequence[int], now: dt.datetime) -> list[OutboxId]:
    """Never post these rows; their dedupe keys stay used, so nothing re-queues them.

    Args: ids: outbox row ids (at least one); now: aware UTC, kept as dropped_at.
    Returns: the ids dropped (sent, already dropped or unknown ids are left out).
    Raises: ValueError when ids is empty; StoreError.
    """
    if not ids:
        raise ValueError("name the rows to drop by id (see `outbox list`)")
    return await store.outbox.drop([OutboxId(i) for i in ids], now)


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def format_entry(entry: OutboxEntry, *, now: dt.datetime,
                 channel_names: Mapping[int, str] | None = None) -> str:
    """One line: `#12 failed new_game #deals age 2.0 h, 3 attempts: <last error>`.

    Args: now: aware UTC; channel_names: channel id -> config name ("deals") for display.
    """
    name = (channel_names or {}).get(entry.channel_id)
    where = f"#{name}" if name else f"channel {entry.channel_id}"
    line = (f"#{entry.id} {entry.status} {entry.kind} {where} age {_age(entry.age_s(now))}, "
            f"{entry.attempts} attempt{'s' if entry.attempts != 1 else ''}")
    if entry.last_error and entry.status != "sent":
        error = entry.last_error
        if len(error) > ERROR_SHOWN_CHARS:
            error = error[:ERROR_SHOWN_CHARS - 1] + "…"
        line += f": {error}"
    return line


def channel_names(channels: object) -> dict[int, str]:
    """Channel id -> its config name, from a `config.Channels` (ids that are unset skipped)."""
    names = ("new_games", "wishlist", "deals", "free_games", "admin_reports")
    return {int(getattr(channels, n)): n for n in names if getattr(channels, n, None)}
