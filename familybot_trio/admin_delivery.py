"""Deliver one admin report to each of its destinations, telling lasting refusals from outages.

The destinations are the admin_reports channel when one is configured, else each admin's DM
(by Discord user id). A destination is *settled* once it received the report or refused it
for good (403 50007 DMs closed, 50001 missing access, 404 10003 unknown channel, a message
Discord's limits refuse: the classification of familybot_trio._outbox_faults). One that
failed for a while (5xx, 429, a timeout, the Cloudflare pause) is *pending*: the caller may
send it again to the pending destinations only (`skip` the settled ones), so an admin never
gets the same report twice and one admin's closed DMs cannot hold the report back forever.
Upstream: discord-api-docs resources/user.mdx "Create DM", resources/message.mdx "Create
Message", topics/opcodes-and-status-codes.mdx (JSON error codes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from familybot_trio._outbox_faults import classify
from gateway import HTTPError, Rest

__all__ = ["Delivery", "deliver"]

log = logging.getLogger("familybot_trio.admin_delivery")


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where one report went. Attributes: settled: destinations (channel id, or admin user id
    for DMs) that received it or refused it for good, including the skipped ones; pending:
    destinations that failed for a while (try them again later)."""

    settled: frozenset[int]
    pending: frozenset[int]

    @property
    def done(self) -> bool:
        """True when no destination is pending: the report counts as delivered."""
        return not self.pending


async def deliver(rest: Rest, text: str, *, channel_id: int | None, admin_ids: Iterable[int],
                  skip: Iterable[int] = (),
                  paused_for_s: Callable[[], float] = lambda: 0.0) -> Delivery:
    """Send `text` to the admin channel, or as a DM to each admin not in `skip`.

    Args: rest: the REST client; text: the report (Discord's content limits apply);
        channel_id: [channels] admin_reports, or None for DMs; admin_ids: Discord user ids;
        skip: destinations already settled by an earlier try (not sent again);
        paused_for_s: the REST client's remaining Cloudflare pause (for the classification).
    Returns: Delivery. Never raises for Discord errors or a text over Discord's limits (they
    are logged): a report must not fail a job.
    """
    settled = set(skip)
    pending: set[int] = set()
    if channel_id:
        targets: list[tuple[int, Callable[[], Awaitable[int]]]] = [
            (int(channel_id), lambda: _noop(int(channel_id)))]
    else:
        targets = [(int(a), lambda a=int(a): _dm_channel(rest, a)) for a in sorted(admin_ids)]
    for dest, channel in targets:
        if dest in settled:
            continue
        try:
            await rest.create_message(await channel(), content=text)
        except (HTTPError, ValueError) as exc:
            failure = classify(exc, channel_id=dest, channel_name="admin_reports" if channel_id
                               else "", row_kind="admin report", paused_for_s=paused_for_s())
            if failure.kind == "permanent":
                log.warning("an admin report was refused for good, not sent there again "
                            "[destination:%s cause:%s]", dest, exc)
            else:
                log.warning("could not reach the admins, trying again later "
                            "[destination:%s cause:%s]", dest, exc)
                pending.add(dest)
                continue
        settled.add(dest)
    return Delivery(frozenset(settled), frozenset(pending))


async def _noop(channel_id: int) -> int:
    return channel_id


async def _dm_channel(rest: Rest, user_id: int) -> int:
    return int((await rest.create_dm(user_id))["id"])
