"""Answers that come too late for the interaction token: to the channel, or a DM.

An interaction token lets the bot answer (edit @original, send follow-ups) for 15 minutes
(interactions/receiving-and-responding.mdx, "Interaction tokens are valid for 15 minutes").
`CommandRegistry` bounds a command's work below that (`COMMAND_BUDGET_S`: past it the work is
cancelled and the user told so, in time). A reply that still comes after the token's life
(`TOKEN_SAFE_S`, a margin below 15 minutes) is not sent to the dead token, where it would be
lost with a 404 / 10015: it goes to the command's channel, or to the user's DMs when it was
meant for their eyes only (ephemeral), with a note saying why.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gateway.commands import CommandContext

log = logging.getLogger("gateway.commands")

#: Discord's interaction token lifetime (s).
INTERACTION_TOKEN_S: Final = 15 * 60.0
#: Replies later than this after the interaction arrived go to the channel / a DM (s).
TOKEN_SAFE_S: Final = INTERACTION_TOKEN_S - 30.0
#: A command's work is cancelled past this, leaving time to say so through the token (s).
COMMAND_BUDGET_S: Final = 14 * 60.0


def late_note(name: str, user_id: int) -> str:
    """The line that explains why an answer arrives as a plain message."""
    return (f"(Answer to `/{name}` for <@{user_id}>: it took longer than Discord's 15 minutes "
            "for command replies, so it comes as a message.)")


async def send_late(ctx: CommandContext, data: dict[str, Any], ephemeral: bool) -> None:
    """Deliver a reply past the token's life: a DM if ephemeral, else the command's channel.

    Args: data: the reply payload (content, embeds, allowed_mentions).
    Raises: HTTPError from Discord (e.g. 50007 when the user does not accept DMs).
    Upstream: POST /users/@me/channels, POST /channels/{channel.id}/messages.
    """
    content = "\n".join(p for p in (late_note(ctx.name, ctx.user_id), data.get("content")) if p)
    channel_id = ctx.channel_id
    if ephemeral:
        channel_id = int((await ctx.rest.create_dm(ctx.user_id))["id"])
    log.warning("interaction token too old for the reply, sending it as a message "
                "[command:%s to:%s]", ctx.name, "dm" if ephemeral else "channel")
    await ctx.rest.create_message(channel_id, content=content[:2000], embeds=data.get("embeds"),
                                  allowed_mentions=data.get("allowed_mentions"))
