"""Deliver one admin report to each of its destinations, telling lasting refusals from outages.

The destinations are the admin_reports channel when one is configured, else each admin's DM
(by Discord user id). A destination is *settled* once it received the report or refused it
for good (403 50007 DMs closed, 50001 missing access, 404 10003 unknown channel, a message
Discord's limits refuse: the classification of familybot_trio._outbox_faults). One that
failed for a while (5xx, 429, a timeout, the Cloudflare pause) is *pending*: the caller may
send it again to the pending destinations only (`skip` the settled ones), so an admin never
gets the same report twice and one admin's closed DMs cannot hold the report back forever.
An admin channel that refuses for good (no access, deleted) is not a place to stop: the
report goes to each admin's DM instead, with the fix for the channel (`deliver`).
Upstream: discord-api-docs resources/user.mdx "Create DM", resources/message.mdx "Create
Message", topics/opcodes-and-status-codes.mdx (JSON error codes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from familybot_trio._outbox_faults import classify
from gateway import HTTPError, Rest
from gateway.messages import CONTENT_MAX

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

    When the admin channel refuses for good because of the channel itself (403: the bot may
    not see it or post there; 404: it no longer exists), the report goes to each admin's DM
    instead, with a note saying why and how to fix the channel: a misconfigured admin channel
    must not silence every report. The channel is then not settled, so a later try goes to
    the channel first again (one request) and, while it still refuses, to the admins not yet
    reached. A report Discord refuses for its content (over the limits) is not sent by DM:
    it would be refused there too.

    Args: rest: the REST client; text: the report (Discord's content limits apply);
        channel_id: [channels] admin_reports, or None for DMs; admin_ids: Discord user ids;
        skip: destinations already settled by an earlier try (not sent again);
        paused_for_s: the REST client's remaining Cloudflare pause (for the classification).
    Returns: Delivery. Never raises for Discord errors or a text over Discord's limits (they
    are logged): a report must not fail a job.
    Upstream: discord-api-docs resources/message.mdx "Create Message", resources/user.mdx
    "Create DM"; topics/opcodes-and-status-codes.mdx (50001 Missing Access, 50013 Missing
    Permissions, 10003 Unknown Channel).
    """
    settled = set(skip)
    pending: set[int] = set()
    dms = [(int(a), lambda a=int(a): _dm_channel(rest, a)) for a in sorted(admin_ids)]
    if channel_id:
        channel = int(channel_id)
        refused = await _send(rest, text, channel, lambda: _noop(channel), settled, pending,
                              "admin_reports", paused_for_s)
        if refused is None:
            return Delivery(frozenset(settled), frozenset(pending))
        settled.discard(channel)
        note = f"(Sent to you directly: the admin reports channel refused it. {refused}.)\n"
        text = note + text if len(note) + len(text) <= CONTENT_MAX else text
        if not dms:
            log.warning("the admin reports channel refused a report for good and no admins "
                        "are configured: the report is lost; fix the channel or set [admins] "
                        "discord_ids [channel:%s]", channel)
        else:
            log.warning("the admin reports channel refused a report for good, sending it to "
                        "the admins by DM [channel:%s admins:%d]", channel, len(dms))
    for dest, open_channel in dms:
        await _send(rest, text, dest, open_channel, settled, pending, "", paused_for_s)
    return Delivery(frozenset(settled), frozenset(pending))


async def _send(rest: Rest, text: str, dest: int, open_channel: Callable[[], Awaitable[int]],
                settled: set[int], pending: set[int], channel_name: str,
                paused_for_s: Callable[[], float]) -> str | None:
    """Send to one destination unless settled; record it in `settled` or `pending`.
    Returns the fix (Failure.reason) when the channel itself refused for good (403 / 404),
    else None."""
    if dest in settled:
        return None
    try:
        await rest.create_message(await open_channel(), content=text)
    except (HTTPError, ValueError) as exc:
        failure = classify(exc, channel_id=dest, channel_name=channel_name,
                           row_kind="admin report", paused_for_s=paused_for_s())
        if failure.kind != "permanent":
            log.warning("could not reach the admins, trying again later "
                        "[destination:%s cause:%s]", dest, exc)
            pending.add(dest)
            return None
        log.warning("an admin report was refused for good there [destination:%s cause:%s]",
                    dest, exc)
        settled.add(dest)
        return failure.reason if failure.cause.startswith(("forbidden:", "gone:")) else None
    settled.add(dest)
    return None


async def _noop(channel_id: int) -> int:
    return channel_id


async def _dm_channel(rest: Rest, user_id: int) -> int:
    return int((await rest.create_dm(user_id))["id"])
