"""/help: every command, its options and who may use it, generated from the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.commands import Command, CommandContext
from gateway.messages import Embed, EmbedField

if TYPE_CHECKING:
    from familybot_trio.app import App


def who_of(command: Command) -> str:
    """Who may run `command` and where, from its registry flags (what the registry and the
    app's gate enforce): "admins", "family members" or "everyone", then ", DM only" for a
    secret-carrying command or ", server channels only" when DMs are refused."""
    who = "admins" if command.admin_only else \
        "family members" if command.members_only else "everyone"
    return who + (", DM only" if command.secret else
                  "" if command.dm_allowed else ", server channels only")


def help_embeds(app: App, *, include_admin: bool) -> list[Embed]:
    """One embed listing each command's usage and description (admin ones only for admins).

    Returns: Embeds within Discord's limits (25 fields each; more commands -> more embeds).
    """
    prefix = "!" if app.config.prefix_commands else None
    fields: list[EmbedField] = []
    for command in app.registry.commands:
        if command.admin_only and not include_admin:
            continue
        usage = f"`{command.usage('/')}`"
        if prefix:
            usage += f" or `{command.usage(prefix)}`"
        fields.append(EmbedField(name=usage, value=f"{command.description} ({who_of(command)})"))
    embeds = []
    for start in range(0, len(fields), 25):
        embeds.append(Embed(title="familybot commands" if start == 0 else None,
                            fields=tuple(fields[start:start + 25])))
    return embeds


def setup(app: App) -> None:
    """Register /help."""

    @app.registry.command("help", "List every command, its options and who may use it")
    async def help_command(ctx: CommandContext) -> None:
        await ctx.reply(embeds=help_embeds(app, include_admin=ctx.is_admin), ephemeral=True)
