"""/admin_dashboard: a one-time sign-in link to the web dashboard, or end every session.

- `/admin_dashboard` (DM only, admins): a link that signs the admin in once, within 10
  minutes, for setups where Discord OAuth2 cannot reach the dashboard (no public URL).
  In a server channel the link would be visible to everyone, so the command refuses there.
- `/admin_dashboard action:revoke`: end every dashboard session and unused link (the same
  as `familybot-trio dashboard revoke`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from gateway._options import string
from gateway.commands import CommandContext

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.dashboard")

ACTIONS: Final = (("link", "link"), ("revoke", "revoke"))


async def revoke_all(app: App) -> int:
    """End every dashboard session and unused link. Returns: sessions ended.

    Shared by /admin_dashboard revoke and the CLI. Raises: StoreError.
    """
    ended = await app.store.sessions.end_all()
    log.info("dashboard sessions revoked [sessions:%d]", ended)
    return ended


async def admin_dashboard(app: App, ctx: CommandContext) -> None:
    """The command: a one-time link (DM only) or revoke."""
    if str(ctx.args.get("action") or "link") == "revoke":
        ended = await revoke_all(app)
        await ctx.reply(f"Ended {ended} dashboard sessions; everyone signs in again.",
                        ephemeral=True)
        return
    if not ctx.is_dm:
        await ctx.reply("Sign-in links are sent only in a DM (anyone in this channel could use "
                        "one). DM me `/admin_dashboard`.", ephemeral=True)
        return
    if app.dashboard is None:
        await ctx.reply("The dashboard is off. Set `[dashboard] enabled = true` in the config "
                        "and restart the bot.", ephemeral=True)
        return
    url = await app.dashboard.signin_link(ctx.user_id)
    log.info("dashboard sign-in link sent [user:%d]", ctx.user_id)
    await ctx.reply(f"Your dashboard sign-in link (works once, for 10 minutes): <{url}>",
                    ephemeral=True)


def setup(app: App) -> None:
    """Register /admin_dashboard."""
    @app.registry.command("admin_dashboard", "A one-time dashboard sign-in link (DM), or "
                          "revoke every session", admin_only=True,
                          options=[string("action", "link (default) or revoke",
                                          required=False, choices=ACTIONS)])
    async def admin_dashboard_command(ctx: CommandContext) -> None:
        await admin_dashboard(app, ctx)
