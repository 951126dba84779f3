"""What the bot keeps aside, for admins: /admin_outbox and /admin_accept.

/admin_outbox: the announcements waiting or refused, and retry / drop them.

- `/admin_outbox` (or `action:list`): pending and failed rows, oldest first: id, kind,
  channel, age, attempts and the last error with its fix. It takes no `id` (the list is
  short; an id is refused with a reply saying so rather than silently ignored).
- `/admin_outbox action:retry [id:N]`: post a failed (or dropped) row again at once; without
  an id, every failed row.
- `/admin_outbox action:drop id:N`: never post that row (its announcement stays "used").

The same operations as `familybot-trio outbox list|retry|drop` and the dashboard
(familybot_trio.outbox).

/admin_accept what:<library|wishlist|owned> [member]: Steam's next answer for the family
library, or for that member's wishlist / owned games (every member's without `member`), is
stored even if the guard would keep it aside (a wishlist someone really emptied). The same
as `familybot-trio accept` (familybot_trio.kept_aside). Replies are ephemeral.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from familybot_trio.features import _common
from familybot_trio.kept_aside import KINDS, accept_next
from familybot_trio.outbox import (
    channel_names,
    drop_outbox,
    format_entry,
    list_outbox,
    retry_outbox,
)
from gateway._options import integer, string
from gateway.commands import CommandContext

if TYPE_CHECKING:
    from familybot_trio.app import App

ACTIONS: Final = ("list", "retry", "drop")
#: Rows listed in one reply (the rest are counted).
LIST_MAX: Final = 25


async def admin_outbox(app: App, ctx: CommandContext) -> None:
    """Run one /admin_outbox action and reply (ephemeral). Raises: StoreError."""
    action = str(ctx.args.get("action") or "list")
    row_id = ctx.args.get("id")
    store, now = app.store, app.now()
    if action == "retry":
        done = await retry_outbox(store, None if row_id is None else [int(row_id)])
        app.wake_outbox()
        text = (f"Retrying {len(done)} announcement(s): {', '.join(f'#{i}' for i in done)}."
                if done else "Nothing to retry (no failed rows, or that id is sent or unknown).")
        await ctx.reply(text, ephemeral=True)
        return
    if action == "drop":
        if row_id is None:
            await ctx.reply("Say which row to drop: `/admin_outbox action:drop id:N` (ids are in "
                            "`/admin_outbox`).", ephemeral=True)
            return
        done = await drop_outbox(store, [int(row_id)], now)
        await ctx.reply(f"Dropped #{row_id}; it will not be posted." if done else
                        f"#{row_id} is already sent, dropped or unknown.", ephemeral=True)
        return
    if row_id is not None:  # list shows every row: an id here is a mistaken command
        await ctx.reply(f"`action:list` takes no id; it shows every waiting row. To act on "
                        f"#{row_id}: `/admin_outbox action:retry id:{row_id}` or "
                        f"`action:drop id:{row_id}`.", ephemeral=True)
        return
    rows = await list_outbox(store, limit=LIST_MAX + 1)
    if not rows:
        await ctx.reply("No announcements are waiting.", ephemeral=True)
        return
    names = channel_names(app.config.channels)
    lines = [format_entry(e, now=now, channel_names=names) for e in rows[:LIST_MAX]]
    if len(rows) > LIST_MAX:
        lines.append("… and more; `familybot-trio outbox list` shows them all.")
    await ctx.reply_lines(["Announcements waiting or refused (oldest first):", *lines],
                          ephemeral=True)


async def admin_accept(app: App, ctx: CommandContext) -> None:
    """Accept the next fetch of `what` (for `member`, or everyone) and reply (ephemeral).

    Raises: ArgumentError for an unknown member (the registry answers it); StoreError.
    """
    what = str(ctx.args["what"])
    ref = ctx.args.get("member")
    steamids, who = None, "every member"
    if ref is not None and what != "library":
        steamid, member = await _common.resolve_member_ref(app, str(ref), "member")
        steamids, who = [int(steamid)], member.name if member else f"SteamID64 {steamid}"
    await accept_next(app.store, what, steamids, app.now())
    target = "the family library" if what == "library" else f"the {what} of {who}"
    await ctx.reply(f"Steam's next answer for {target} will be stored as it comes, even if it "
                    "looks wrong. It is fetched at the next scheduled run (or use "
                    "`/admin_refresh`).", ephemeral=True)


def setup(app: App) -> None:
    """Register /admin_outbox and /admin_accept."""

    @app.registry.command(
        "admin_accept", "Store Steam's next answer even if it looks wrong (a real big change)",
        admin_only=True,
        options=[string("what", "Which data", choices=tuple((k, k) for k in KINDS)),
                 string("member", "Member name, @mention or SteamID64 (default: everyone)",
                        required=False)])
    async def _admin_accept(ctx: CommandContext) -> None:
        await admin_accept(app, ctx)

    @app.registry.command(
        "admin_outbox", "Announcements waiting or refused; retry or drop them", admin_only=True,
        options=[string("action", "list (default), retry or drop", required=False,
                        choices=tuple((a, a) for a in ACTIONS)),
                 integer("id", "Outbox row id (from the list; retry and drop)", required=False,
                         min_value=1)])
    async def _admin_outbox(ctx: CommandContext) -> None:
        await admin_outbox(app, ctx)
