"""/profile: a Steam account at a glance (persona, status, current game, recent games).

The account may be named as a family member (name or Discord mention), a SteamID64, a
profile URL or a custom URL name; without an argument the caller's own linked account is
shown. The summary and the recent games are fetched side by side; recent games are best
effort (a private profile or a failing call still shows the summary).

Logger: `familybot_trio.features.profile`.
Upstream: ISteamUser/GetPlayerSummaries/v2, IPlayerService/GetRecentlyPlayedGames/v1,
ISteamUser/ResolveVanityURL/v1 (custom URL names).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import trio

from familybot_trio import links
from familybot_trio.errors import UpstreamError
from familybot_trio.features import _common
from familybot_trio.store import MemberRecord, Snowflake, SteamID64
from familybot_trio.upstream.models import PlayerSummary, RecentGame
from gateway.commands import ArgumentError, CommandContext, string
from gateway.messages import Embed, EmbedField, escape_text

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.profile")

#: EPersonaState (GetPlayerSummaries `personastate`) -> what we show.
PERSONA_STATES: Final = {0: "Offline (or invisible)", 1: "Online", 2: "Busy", 3: "Away",
                         4: "Snooze", 5: "Looking to trade", 6: "Looking to play"}
RECENT_GAMES: Final = 3


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f} h"


def profile_embed(app: App, summary: PlayerSummary, recent: tuple[RecentGame, ...] | None,
                  member: MemberRecord | None) -> Embed:
    """The profile embed.

    Args: summary: the player's public summary; recent: recently played games (None = the
        call failed, () = none or private); member: the family member, if one.
    Returns: one Embed (persona as title linking the profile, avatar as thumbnail).
    """
    state = PERSONA_STATES.get(summary.personastate, f"state {summary.personastate}")
    fields = [EmbedField("Status", state, inline=True)]
    if summary.game_name:
        playing = (_common.game_link(summary.game_name, summary.game_appid)
                   if summary.game_appid else escape_text(summary.game_name))
        fields.append(EmbedField("Playing now", playing, inline=True))
    if recent is None:
        value = "Steam did not answer; try again later."
    elif not recent:
        value = "Nothing in the last two weeks (or the game details are private)."
    else:
        value = "\n".join(
            f"• {_common.game_link(g.name or f'app {g.appid}', g.appid)}: "
            f"{_hours(g.playtime_2weeks_min)} in 2 weeks, {_hours(g.playtime_forever_min)} total"
            for g in recent)
    fields.append(EmbedField("Recently played", value))
    who = f"family member {escape_text(member.name)}" if member else "not in the family"
    return Embed(title=escape_text(summary.personaname or summary.steamid),
                 url=links.steam_profile(int(summary.steamid), summary.profileurl),
                 thumbnail_url=summary.avatarfull or None,
                 fields=tuple(fields), footer=f"SteamID64 {summary.steamid} · {who}")


async def fetch_profile(app: App, steamid: SteamID64
                        ) -> tuple[PlayerSummary | None, tuple[RecentGame, ...] | None]:
    """Summary and recent games side by side.

    Returns: (summary or None when Steam knows no such public profile, recent games or None
        when that call failed). Raises: UpstreamError when the summary call fails.
    """
    out: dict[str, object] = {}

    async def summary() -> None:
        try:
            out["summary"] = (await app.steam.get_player_summaries([steamid])).get(steamid)
        except UpstreamError as exc:  # re-raised below, outside the nursery (no group)
            out["error"] = exc

    async def recent() -> None:
        try:
            out["recent"] = await app.steam.get_recently_played_games(steamid,
                                                                      count=RECENT_GAMES)
        except UpstreamError as exc:  # best effort: the summary alone is still useful
            log.warning("recent games unavailable [steamid:%d cause:%s]", steamid, exc)
            out["recent"] = None

    async with trio.open_nursery() as nursery:
        nursery.start_soon(summary)
        nursery.start_soon(recent)
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["summary"], out["recent"]  # type: ignore[return-value]


async def resolve_target(app: App, ctx: CommandContext, text: str | None
                         ) -> tuple[SteamID64, MemberRecord | None]:
    """The account /profile shows: `text` resolved, or the caller's linked member.

    Raises: ArgumentError naming `member`; UpstreamError (ResolveVanityURL).
    """
    if text:
        return await _common.resolve_member_ref(app, text, "member")
    own = await app.store.members.by_discord_id(Snowflake(ctx.user_id))
    if own is None:
        raise ArgumentError("member", "name someone, or link yourself first with "
                            "`/link steam:<SteamID64 or profile URL>`")
    return own.steamid, own


def setup(app: App) -> None:
    """Register /profile."""

    @app.registry.command(
        "profile", "Show a Steam profile: status, current game, recent games",
        options=[string("member", "Member name, @mention, SteamID64, profile URL or custom "
                        "URL name (default: you)", required=False)])
    async def profile_command(ctx: CommandContext) -> None:
        try:
            text = ctx.args.get("member")
            steamid, member = await resolve_target(app, ctx, str(text) if text else None)
            summary, recent = await fetch_profile(app, steamid)
        except ArgumentError as exc:
            await ctx.reply(f"{exc}\nUsage: `/profile [member:<name | SteamID64 | URL>]`",
                            ephemeral=True)
            return
        except UpstreamError as exc:
            await ctx.reply(f"Steam did not answer: {exc}", ephemeral=True)
            return
        if summary is None:
            await ctx.reply(f"Steam has no public profile for `{steamid}`.", ephemeral=True)
            return
        await ctx.reply(embeds=[profile_embed(app, summary, recent, member)])
