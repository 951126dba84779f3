"""/link, /unlink, /admin_link and /members: who is in the family and which Discord user is whom.

config.toml's [[members]] is the source of truth for who is in the family (the App syncs
the members table from it at start). A member's `discord_id` in config is a link made by
the operator. Otherwise `/link` only *asks*: it checks the Steam account really is an
unlinked member, keeps a pending request and tells the admins, and an admin answers with
`/admin_link action:approve|deny user:@them` (`remove` undoes any link). Why approval and
not a code in the Steam profile: a family's admin knows every member's face, answering
takes one command in Discord, and nobody (children's accounts included) must edit and
restore a public Steam profile; a stranger in the server can ask, but never gets in alone.
An admin's own /link links at once. One member, one Discord account: the link is one
conditional UPDATE (`store.members.claim`), so of two racing approvals exactly one wins.

Logger: `familybot_trio.features.members`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from familybot_trio.errors import StoreError, UpstreamError
from familybot_trio.features import _common
from familybot_trio.store import Snowflake, SteamID64
from gateway.commands import ArgumentError, CommandContext, string, user
from gateway.messages import Embed, escape_text, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.members")


#: kv key of a pending /link request of one Discord user: {"steamid": int, "at": iso time}.
REQUEST_KEY: Final = "link_request:{discord_id}"
ADMIN_ACTIONS: Final = (("approve", "approve"), ("deny", "deny"), ("remove", "remove"))


async def link(app: App, ctx: CommandContext, steam: str) -> str:
    """Ask to link the caller's Discord account to the family member `steam` refers to
    (admins: link at once).

    Args: steam: SteamID64, profile URL (/profiles/ or /id/) or custom URL name.
    Returns: the confirmation text (linked, or asked the admins).
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
    if not ctx.is_admin:
        await app.store.state.set(REQUEST_KEY.format(discord_id=ctx.user_id),
                                  {"steamid": int(steamid), "at": app.now().isoformat()},
                                  app.now())
        log.info("link requested, waiting for an admin [steamid:%d discord:%d]", steamid,
                 ctx.user_id)
        await app.report_admin(
            f"<@{ctx.user_id}> asks to be linked to **{escape_text(member.name)}** "
            f"(`{steamid}`). If that is them: `/admin_link action:approve user:<@{ctx.user_id}>`"
            f"; if not: `/admin_link action:deny user:<@{ctx.user_id}>`.")
        return (f"Asked the admins to confirm that you are **{escape_text(member.name)}**; "
                "until one does, your Discord account is not linked.")
    linked = await app.store.members.claim(steamid, Snowflake(ctx.user_id))
    if linked is None:
        raise ArgumentError("steam", f"**{escape_text(member.name)}** was linked to someone "
                            "else a moment ago")
    log.info("member linked [steamid:%d discord:%d]", steamid, ctx.user_id)
    return f"Linked you to **{escape_text(linked.name)}** (`{linked.steamid}`)."


async def admin_link(app: App, action: str, discord_id: int) -> str:
    """/admin_link: approve or deny a pending /link request, or remove a link.

    Args: action: "approve" | "deny" | "remove"; discord_id: the Discord user.
    Returns: the text for the admin. Raises: StoreError.
    """
    key = REQUEST_KEY.format(discord_id=discord_id)
    request = await app.store.state.get(key)
    if action == "remove":
        member = await app.store.members.by_discord_id(Snowflake(discord_id))
        await app.store.state.set(key, None, app.now())
        if member is None:
            return f"<@{discord_id}> is not linked to any member; nothing to remove."
        await app.store.members.link_discord(member.steamid, None)
        log.info("admin removed a link [steamid:%d discord:%d]", member.steamid, discord_id)
        note = (" config.toml names this Discord id for the member too: remove it there, or "
                "the link returns at the next restart." if any(
                    m.steamid == member.steamid and m.discord_id for m in app.config.members)
                else "")
        return f"Removed the link of <@{discord_id}> to **{escape_text(member.name)}**.{note}"
    if request is None:
        return f"<@{discord_id}> has no pending `/link` request."
    await app.store.state.set(key, None, app.now())
    steamid = SteamID64(int(request["steamid"]))
    if action == "deny":
        log.info("admin denied a link request [steamid:%d discord:%d]", steamid, discord_id)
        return f"Denied: <@{discord_id}> stays unlinked."
    member = await app.store.members.claim(steamid, Snowflake(discord_id))
    if member is None:
        return (f"Not linked: member `{steamid}` is linked to someone else already (or left "
                "the family); `remove` that link first if it is wrong.")
    log.info("admin approved a link [steamid:%d discord:%d]", steamid, discord_id)
    return f"Linked <@{discord_id}> to **{escape_text(member.name)}** (`{steamid}`)."


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

    @app.registry.command(
        "admin_link", "Approve or deny someone's /link request, or remove a link",
        admin_only=True, options=[string("action", "approve, deny or remove",
                                         choices=ADMIN_ACTIONS),
                                  user("user", "The Discord user")])
    async def admin_link_command(ctx: CommandContext) -> None:
        try:
            text = await admin_link(app, str(ctx.args["action"]), int(ctx.args["user"]))
        except StoreError as exc:
            text = f"Could not change the link: {exc}"
        await ctx.reply(text, ephemeral=True)

    @app.registry.command("unlink", "Remove the link between your Discord and Steam accounts")
    async def unlink_command(ctx: CommandContext) -> None:
        await ctx.reply(await unlink(app, ctx), ephemeral=True)

    @app.registry.command("members", "List the family members, their SteamID64 and links")
    async def members_command(ctx: CommandContext) -> None:
        await ctx.reply(embeds=await members_embeds(app))
