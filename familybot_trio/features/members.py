"""/link, /unlink and /members: who is in the family and which Discord user is whom.

config.toml's [[members]] is the source of truth for who is in the family (the App syncs
the members table from it at start). `/link` only connects the *caller's* Discord account
to one of those members, after checking the Steam account really is a member: linking
never enrols a stranger and never renames anyone (the reference bot's `!register` did
both, P36). A link made here survives restarts unless config.toml names another Discord id
for that member.

Logger: `familybot_trio.features.members`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from familybot_trio.errors import StoreError, UpstreamError
from familybot_trio.features import _common
from familybot_trio.store import Snowflake
from gateway.commands import ArgumentError, CommandContext, string
from gateway.messages import Embed, escape_text, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.members")


async def link(app: App, ctx: CommandContext, steam: str) -> str:
    """Link the caller's Discord account to the family member `steam` refers to.

    Args: steam: SteamID64, profile URL (/profiles/ or /id/) or custom URL name.
    Returns: the confirmation text.
    Raises: ArgumentError naming `steam` (unparseable, unknown custom URL, not a family
        member, linked to someone else); UpstreamError (ResolveVanityURL failed); StoreError.
    Upstream: ISteamUser/ResolveVanityURL/v1 (custom URL names only).
    """
    steamid = await _common.resolve_steam_ref(app, steam, "steam")
    members = await app.store.members.all()
    member = next((m for m in members if m.steamid == steamid), None)
    if member is None:
        raise ArgumentError("steam", f"Steam account {steamid} is not in this Steam family; "
                            "only family members can be linked (an admin adds members to "
                            "[[members]] in config.toml)")
    if member.discord_id == ctx.user_id:
        return (f"You are already linked to **{escape_text(member.name)}** "
                f"(`{member.steamid}`).")
    if member.discord_id is not None:
        raise ArgumentError("steam", f"**{escape_text(member.name)}** is already linked to "
                            f"<@{member.discord_id}>; they can run `/unlink` first")
    current = next((m for m in members if m.discord_id == ctx.user_id), None)
    if current is not None:
        raise ArgumentError("steam", f"you are linked to **{escape_text(current.name)}** "
                            "already; run `/unlink` first")
    linked = await app.store.members.link_discord(steamid, Snowflake(ctx.user_id))
    log.info("member linked [steamid:%d discord:%d]", steamid, ctx.user_id)
    return f"Linked you to **{escape_text(linked.name)}** (`{linked.steamid}`)."


async def unlink(app: App, ctx: CommandContext) -> str:
    """Remove the caller's link. Returns: the confirmation text. Raises: StoreError."""
    member = await app.store.members.by_discord_id(Snowflake(ctx.user_id))
    if member is None:
        return "You are not linked to any family member; nothing to undo."
    await app.store.members.link_discord(member.steamid, None)
    log.info("member unlinked [steamid:%d discord:%d]", member.steamid, ctx.user_id)
    note = ""
    if any(m.steamid == member.steamid and m.discord_id for m in app.config.members):
        note = (" config.toml also names your Discord id for this member, so the link "
                "returns at the next restart unless an admin removes it there.")
    return f"Unlinked you from **{escape_text(member.name)}**.{note}"


async def members_embeds(app: App) -> list[Embed]:
    """Every member: name, SteamID64, linked Discord user or "not linked".

    Returns: embeds (one per 4,096 characters of lines). Raises: StoreError.
    """
    members = await app.store.members.all()
    lines = [f"• **{escape_text(m.name)}** · `{m.steamid}` · "
             + (f"<@{m.discord_id}>" if m.discord_id else "not linked (`/link`)")
             for m in members]
    if not lines:
        lines = ["No members yet: add [[members]] to config.toml."]
    linked = sum(1 for m in members if m.discord_id)
    chunks = split_lines(lines, 4096)
    return [Embed(title=f"Family members ({len(members)}, {linked} linked)" if i == 0 else None,
                  description=chunk) for i, chunk in enumerate(chunks)][:10]


def setup(app: App) -> None:
    """Register /link, /unlink and /members."""

    @app.registry.command(
        "link", "Link your Discord account to your Steam account in the family",
        options=[string("steam", "Your SteamID64, steamcommunity.com profile URL or custom "
                        "URL name")])
    async def link_command(ctx: CommandContext) -> None:
        try:
            text = await link(app, ctx, str(ctx.args["steam"]))
        except ArgumentError as exc:
            await ctx.reply(f"{exc}\nUsage: `/link steam:<SteamID64 | profile URL | custom "
                            "URL name>`", ephemeral=True)
            return
        except (UpstreamError, StoreError) as exc:
            await ctx.reply(f"Could not link you: {exc}", ephemeral=True)
            return
        await ctx.reply(text, ephemeral=True)

    @app.registry.command("unlink", "Remove the link between your Discord and Steam accounts")
    async def unlink_command(ctx: CommandContext) -> None:
        await ctx.reply(await unlink(app, ctx), ephemeral=True)

    @app.registry.command("members", "List the family members, their SteamID64 and links")
    async def members_command(ctx: CommandContext) -> None:
        await ctx.reply(embeds=await members_embeds(app))
