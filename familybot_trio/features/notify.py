"""/notify: personal alerts by DM, each member for themselves only.

`/notify [discount:<1-100, 0 off>] [lowest:<bool>] [library:<bool>] [free:<bool>]
[quiet:<HH:MM-HH:MM or off>] [timezone:<IANA name>]` changes the caller's own settings
(the caller is found by their linked Discord id; nobody can change another member's) and
shows them; with no options it only shows them. Running it also resumes alerts paused
because the member's DMs were closed. Every alert is off until turned on.

The alerts themselves are found by the `personal_alerts` job and sent through the outbox
(see features/_alerts.py): exactly once, retried, in quiet hours held until they end.

Logger: `familybot_trio.features.notify`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from familybot_trio.errors import StoreError
from familybot_trio.features import _alerts
from familybot_trio.store import AlertSettings
from gateway.commands import ArgumentError, CommandContext, boolean, integer, string
from gateway.messages import Embed, EmbedField

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.notify")

JOB: Final = "personal_alerts"
INTERVAL_S: Final = 15 * 60.0
_QUIET = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
NOT_LINKED: Final = ("Personal alerts are for family members: link your Discord account to "
                     "your Steam account first (`/link`), then run `/notify` again.")


def parse_quiet(text: str) -> tuple[int | None, int | None]:
    """"22:00-07:00" -> (1320, 420) minutes after midnight; "off" -> (None, None).

    Raises: ArgumentError naming `quiet`.
    """
    if text.strip().lower() in ("off", "none", "no", ""):
        return None, None
    m = _QUIET.fullmatch(text)
    if not m:
        raise ArgumentError("quiet", "write the quiet hours as HH:MM-HH:MM (e.g. 22:00-07:00) "
                            "or `off`")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ArgumentError("quiet", "hours go from 00 to 23 and minutes from 00 to 59")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ArgumentError("quiet", "the start and end of the quiet hours are the same")
    return start, end


def parse_timezone(text: str) -> str:
    """An IANA time zone name ("Europe/Berlin"), checked. Raises: ArgumentError."""
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ArgumentError("timezone", "use an IANA time zone name such as Europe/Berlin, "
                            "America/New_York or UTC") from None
    return name


def apply_options(st: AlertSettings, args: dict[str, object]) -> AlertSettings:
    """The settings with the given options changed (unpaused). Raises: ArgumentError."""
    changes: dict[str, object] = {"paused": False}
    if args.get("discount") is not None:
        pct = int(args["discount"])  # type: ignore[call-overload]
        changes["discount_pct"] = None if pct == 0 else pct
    for option, attr in (("lowest", "at_low"), ("library", "on_library"), ("free", "on_free")):
        if args.get(option) is not None:
            changes[attr] = bool(args[option])
    if args.get("quiet") is not None:
        changes["quiet_start"], changes["quiet_end"] = parse_quiet(str(args["quiet"]))
    if args.get("timezone") is not None:
        changes["timezone"] = parse_timezone(str(args["timezone"]))
    return replace(st, **changes)  # type: ignore[arg-type]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def settings_embed(st: AlertSettings) -> Embed:
    """The member's current settings as an embed."""
    def onoff(flag: bool) -> str:
        return "on" if flag else "off"
    quiet = (f"{_hhmm(st.quiet_start)}-{_hhmm(st.quiet_end)} ({st.timezone})"
             if st.quiet_start is not None and st.quiet_end is not None else "none")
    fields = (
        EmbedField("Wished game on sale", f"at least {st.discount_pct} % off"
                   if st.discount_pct is not None else "off", inline=True),
        EmbedField("At its historical low", onoff(st.at_low), inline=True),
        EmbedField("Joins the family library", onoff(st.on_library), inline=True),
        EmbedField("Free to keep", onoff(st.on_free), inline=True),
        EmbedField("Quiet hours", quiet, inline=True),
    )
    note = ("Paused: your DMs were closed. Allow DMs and run /notify to resume."
            if st.paused else "Alerts come by DM; in quiet hours they wait until the end.")
    return Embed(title="Your personal alerts", color=_alerts.COLOR, fields=fields, footer=note)


def setup(app: App) -> None:
    """Register /notify and the `personal_alerts` job (every 15 minutes)."""

    async def job(a: App) -> None:
        await _alerts.run_alerts(a)

    app.scheduler.add(JOB, run=job, interval_s=INTERVAL_S, jitter=0.1, timeout_s=300.0,
                      backoff_base_s=60.0)
    app.outbox_refusal_hooks[_alerts.KIND] = _alerts.on_refused

    @app.registry.command(
        "notify", "Your own alerts by DM: sales, historical lows, library, free games",
        options=[
            integer("discount", "DM me when a wished game is at least this % off (0 = off)",
                    required=False, min_value=0, max_value=100),
            boolean("lowest", "DM me when a wished game is at its historical low",
                    required=False),
            boolean("library", "DM me when a game I wish for joins the family library",
                    required=False),
            boolean("free", "DM me when a game I wish for is free to keep", required=False),
            string("quiet", "Quiet hours, e.g. 22:00-07:00 (alerts wait), or off",
                   required=False),
            string("timezone", "Your time zone for quiet hours, e.g. Europe/Berlin",
                   required=False),
        ], members_only=True)
    async def notify_command(ctx: CommandContext) -> None:
        try:
            member = await app.store.members.by_discord_id(ctx.user_id)
            if member is None:
                await ctx.reply(NOT_LINKED, ephemeral=True)
                return
            st = await app.store.alerts.get(member.steamid)
            if any(v is not None for v in ctx.args.values()) or st.paused:
                st = await app.store.alerts.put(apply_options(st, dict(ctx.args)), app.now())
        except ArgumentError as exc:
            await ctx.reply(str(exc), ephemeral=True)
            return
        except StoreError as exc:
            log.warning("notify failed [cause:%s]", exc)
            await ctx.reply("Could not read or save your settings right now; try again in a "
                            "minute.", ephemeral=True)
            return
        await ctx.reply(embeds=[settings_embed(st)], ephemeral=True)
