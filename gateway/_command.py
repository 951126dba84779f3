"""A declared command (`Command`), and the hook between a command arriving and its handler
running: `Gate` (default: everyone), plus the refusal of secrets pasted outside a DM.

The registry calls `Gate.run(ctx, command, proceed)` for every slash and prefix command
before anything else (admin-only and DM checks, option parsing, the handler all happen in
`proceed`), and `Gate.allows_autocomplete` before asking a command's autocomplete. An app
subclasses it with its own policy: which servers and users it serves, cooldowns, how many
handlers one user may have running. gateway itself knows no such policy.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from gateway._options import Option
from gateway.errors import HTTPError

if TYPE_CHECKING:
    from gateway.commands import CommandContext

log = logging.getLogger("gateway.commands")

#: Discord error code of a message that is already gone.
UNKNOWN_MESSAGE: Final = 10008
#: Application Integration Types: GUILD_INSTALL (the only way this bot is installed).
GUILD_INSTALL: Final = 0
#: Permissions bit MANAGE_GUILD: who sees admin commands in the picker by default.
MANAGE_GUILD: Final = 1 << 5

Handler = Callable[["CommandContext"], Awaitable[None]]
#: autocomplete(ctx, option_name, partial_value) -> choices (str, (name, value) or dicts)
Autocomplete = Callable[["CommandContext", str, str], Awaitable[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class Command:
    """A registered command: what /help lists and what Discord is sent."""

    name: str
    description: str
    handler: Handler
    options: tuple[Option, ...] = ()
    admin_only: bool = False
    dm_allowed: bool = True
    autocomplete: Autocomplete | None = None
    #: Its options carry a secret (a token, a cookie): DMs only; a `!` message elsewhere is
    #: deleted and its poster told why, whoever they are.
    secret: bool = False
    #: Only the app's members may run it (the app's Gate enforces it; /help says so).
    members_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The CHAT_INPUT application command JSON.

        The app is installed to a guild only (integration_types [0] GUILD_INSTALL), so its
        contexts are GUILD (0) and BOT_DM (1); PRIVATE_CHANNEL (2) needs a user install
        (Interaction Context Types). Admin commands carry default_member_permissions
        MANAGE_GUILD, so members do not see them in the picker; the bot still checks its
        admin list itself (Application Command Permissions Object).
        """
        out: dict[str, Any] = {
            "name": self.name, "description": self.description, "type": 1,
            "options": [o.to_dict() for o in self.options],
            "contexts": [1] if self.secret else [0, 1] if self.dm_allowed else [0],
            "integration_types": [GUILD_INSTALL]}
        if self.admin_only:
            out["default_member_permissions"] = MANAGE_GUILD  # OpenAPI: integer
        return out

    def usage(self, prefix: str = "/") -> str:
        """One-line usage, e.g. `/price game:<text> [count:<1-10>]`."""
        return " ".join([f"{prefix}{self.name}", *(o.usage() for o in self.options)])




class Gate:
    """Who may run what, decided before a handler runs (the app's policy; default: everyone).

    `run(ctx, command, proceed)` either answers `ctx` itself (a refusal, a cooldown note) or
    awaits `proceed()` (admin-only and DM checks, option parsing, the handler); it may wrap it
    (counting running handlers per user). `allows_autocomplete` answers autocomplete
    (a refused user gets no choices).
    """

    async def run(self, ctx: CommandContext, command: Command,
                  proceed: Callable[[], Awaitable[None]]) -> None:
        """Run the command (the default gate lets everyone in)."""
        await proceed()

    async def allows_autocomplete(self, ctx: CommandContext, command: Command) -> bool:
        """True when `ctx`'s user may see autocomplete choices of `command`."""
        return True


async def refuse_pasted_secret(ctx: CommandContext, command: Command, prefix: str) -> None:
    """A secret-carrying command used outside a DM: delete the `!` message (when we may) and
    tell the poster why, whoever they are (a non-admin's paste is as exposed as an admin's).

    Never raises for Discord errors (a missing Manage Messages permission is logged and the
    reply asks the poster to delete it). Upstream: DELETE /channels/{id}/messages/{id}.
    """
    deleted = False
    message_id = getattr(ctx, "_message_id", None)
    if not ctx.is_interaction and message_id:
        try:
            await ctx.rest.delete_message(ctx.channel_id, int(message_id))
            deleted = True
        except HTTPError as exc:
            deleted = exc.code == UNKNOWN_MESSAGE  # already gone
            if not deleted:
                log.warning("could not delete a pasted secret [command:%s channel:%d cause:%s]",
                            command.name, ctx.channel_id, exc)
    log.warning("a secret was posted outside a DM, refused [command:%s user:%d deleted:%s]",
                command.name, ctx.user_id, deleted)
    note = ("I deleted your message. " if deleted else
            "Delete your message now. " if not ctx.is_interaction else "")
    await ctx.reply(f"{'' if ctx.is_interaction else 'Not saved: '}`{prefix}{command.name}` carries a secret, so it is DM only "
                    f"(send it to me in a direct message); everyone in this channel could "
                    f"read it. {note}If it was a real token or cookie, sign out of Steam in "
                    "that browser to revoke it.", ephemeral=True)
