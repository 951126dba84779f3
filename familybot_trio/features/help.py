"""/help: every command, its options and who may use it, generated from the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.commands import CommandContext
from gateway.messages import Embed, EmbedField

if TYPE_CHECKING:
    from familybot_trio.app import App


def help_embeds(app: App, *, include_admin: bool) -> list[Embed]:
    """One embed listing each command's usage and description (admin ones only for admins).

    Returns: Embeds within Discord's limits (25 fields each; more commands -> more embeds).
    """
    prefix = "!" if app.config.prefix_commands else None
    fields: list[EmbedField] = []
    for command in app.registry.commands:
        if command.admin_only and not include_admin:
            continue
        who = "admins" if command.admin_only else "everyone"
        where = "" if command.dm_allowed else ", server channels only"
        usage = f"`{command.usage('/')}`"
        if prefix:
            usage += f" or `{command.usage(prefix)}`"
        fields.append(EmbedField(name=usage, value=f"{command.description} ({who}{where})"))
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
