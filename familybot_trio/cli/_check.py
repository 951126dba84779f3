"""`familybot-trio check`: try every credential against its service and print a table.

Each check is one small coroutine that returns a detail text or raises; the runner turns
that into a row (OK / FAIL / SKIP) with what to fix. Checks run one after another (they are
few, and a family operator reads the table top to bottom). Nothing here prints a secret:
error texts come from our error classes, which never carry one.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TextIO

import trio

from familybot_trio.cli import _clients
from familybot_trio.cli._clients import Clients
from familybot_trio.config import Config
from familybot_trio.errors import ConfigError, FamilybotError, TokenExpired, Unauthorized
from familybot_trio.store.records import AppId
from familybot_trio.upstream.tokens import SET_HINT
from gateway.errors import GatewayError, HTTPError

#: Each check gets at most this long (s): a hanging service is a failed check, not a hang.
CHECK_TIMEOUT_S: Final = 30.0
#: An access token with fewer hours left than this is reported as a warning.
TOKEN_WARN_HOURS: Final = 2.0
#: What to do about a missing or dead access token: the QR sign-in first (README: the main
#: way; the bot renews the token itself afterwards), pasting one as the fallback.
RENEW_HINT: Final = ("sign the bot in with `familybot-trio steam login` (a QR code for the "
                     "Steam app; the bot renews the token itself from then on); as a "
                     f"fallback, {SET_HINT}")
#: What to do when Discord refuses the bot token (`check` and `run` say the same).
TOKEN_REFUSED_FIX: Final = ("Discord refused the bot token: put the current one (developer "
                            "portal -> Bot -> Reset Token) in FAMILYBOT_DISCORD_TOKEN, without a "
                            "\"Bot \" prefix")
#: A cheap ITAD lookup: Team Fortress 2 is known to every price database.
ITAD_PROBE_APPID: Final = AppId(440)


class Skip(Exception):
    """The check does not apply (e.g. no ITAD key configured); message says why."""


@dataclass(frozen=True, slots=True)
class CheckRow:
    """One line of the table. status: "OK", "WARN", "FAIL" or "SKIP"; required: a FAIL
    here makes `check` exit non-zero."""

    name: str
    status: str
    detail: str
    required: bool


async def run_checks(config: Config) -> list[CheckRow]:
    """Try each credential and configured channel against its service.

    Args: config: loaded with require_secrets=False (missing secrets become FAIL rows).
    Returns: the rows in display order.
    Upstream: Discord GET /gateway/bot, GET /channels/{id}/messages/pins; Steam
        ISteamUser/GetPlayerSummaries/v2 (key), IFamilyGroupsService/GetFamilyGroupForUser/v1
        (access token); ITAD lookup/id/shop/61/v1.
    Cancellation: safe; clients are closed.
    """
    async with _clients.open_clients(config) as c:
        plan: list[tuple[str, bool, Callable[[], Awaitable[str]]]] = [
            ("discord token", True, functools.partial(_discord_token, config, c)),
            ("steam web api key", True, functools.partial(_steam_key, config, c)),
            ("steam access token", True, functools.partial(_access_token, config, c)),
            ("itad key", False, functools.partial(_itad_key, c)),
            ("discord server", False, functools.partial(_guild, config)),
        ]
        for name in CHANNELS:
            cid = getattr(config.channels, name)
            if cid is not None:
                plan.append((f"channel {name}", True, functools.partial(_channel, config, c, cid)))
        return [await _run_one(name, required, probe) for name, required, probe in plan]


#: The config.channels fields checked, in display order.
CHANNELS: Final = ("new_games", "wishlist", "deals", "free_games", "admin_reports")


async def _run_one(name: str, required: bool, probe: Callable[[], Awaitable[str]]) -> CheckRow:
    """One probe as a row: its detail (OK, or WARN when it starts "warning:"), SKIP or FAIL."""
    try:
        with trio.fail_after(CHECK_TIMEOUT_S):
            detail = await probe()
        return CheckRow(name, "WARN" if detail.startswith("warning:") else "OK", detail, required)
    except Skip as exc:
        return CheckRow(name, "SKIP", str(exc), required)
    except trio.TooSlowError:
        return CheckRow(name, "FAIL", f"no answer within {CHECK_TIMEOUT_S:.0f} s; "
                        "check the network and the [upstream] URL", required)
    except (FamilybotError, GatewayError) as exc:
        return CheckRow(name, "FAIL", str(exc), required)


# ------------------------------------------------------------------ the probes
async def _guild(config: Config) -> str:
    guild_id = config.access.guild_id
    if guild_id is None:
        return ("warning: [discord] guild_id is not set, so the bot answers in no server, "
                "only DMs from members and admins; set it to the family's server id")
    return (f"answers only in server {guild_id} (and DMs from members and admins); "
            "keep \"Public Bot\" off in the developer portal")


async def _discord_token(config: Config, c: Clients) -> str:
    if not config.secrets.discord_token:
        raise Unauthorized("FAMILYBOT_DISCORD_TOKEN is not set; copy the bot token "
                           "from the developer portal (Bot -> Reset Token)")
    try:
        info = await c.rest.get_gateway_bot()
    except HTTPError as exc:
        if exc.status != 401:
            raise
        raise Unauthorized(f"{exc}; {TOKEN_REFUSED_FIX}") from None
    limit = info.get("session_start_limit", {})
    return (f"token accepted; {info.get('shards', 1)} shard(s), "
            f"{limit.get('remaining', '?')}/{limit.get('total', '?')} sessions left today")


async def _steam_key(config: Config, c: Clients) -> str:
    if not config.secrets.steam_api_key:
        raise Unauthorized("FAMILYBOT_STEAM_API_KEY is not set; get one at "
                           "https://steamcommunity.com/dev/apikey")
    ids = [m.steamid for m in config.members]
    found = await c.steam.get_player_summaries(ids)
    missing = [str(i) for i in ids if i not in found]
    if missing:
        return ("warning: key works, but Steam knows no profile for " + ", ".join(missing)
                + "; check those steamid values")
    return f"key works; {len(found)} member profile(s) found"


async def _access_token(config: Config, c: Clients) -> str:
    """The saved access token works for the family (GetFamilyGroupForUser).

    A missing, expired or refused token fails with RENEW_HINT: `steam login` first (the
    README's main way: a QR sign-in that renews itself), `token set` as the fallback.
    """
    token = await c.tokens.load()
    if token is None:
        raise Unauthorized(f"no access token saved; {RENEW_HINT}")
    if token.is_expired():
        raise Unauthorized(f"the access token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC; "
                           f"{RENEW_HINT}")
    try:
        membership = await c.steam.get_family_group_for_user(token.steamid)
    except TokenExpired:
        raise Unauthorized("Steam refused the access token (revoked, or its owner signed out "
                           f"everywhere); {RENEW_HINT}") from None
    left_h = token.expires_in_hours()
    group = getattr(membership, "family_groupid", None)
    text = f"token of {token.steamid} works; expires in {left_h:.1f} h"
    if group is not None and int(group) != config.family_group_id:
        # Every family call would fail with HTTP 400: this is a required fix.
        raise ConfigError(str(config.path), "family.group_id", config.family_group_id,
                          f"the access token's owner {token.steamid} is in family "
                          f"group {group}: set `group_id = {group}` under [family]")
    if left_h < TOKEN_WARN_HOURS:
        return (f"warning: {text}; renew it soon: `familybot-trio steam login` (renews "
                "itself from then on), or `familybot-trio token set`")
    return text


async def _itad_key(c: Clients) -> str:
    if c.itad is None:
        raise Skip("FAMILYBOT_ITAD_API_KEY not set: prices come without historical lows")
    found = await c.itad.lookup_steam_apps([ITAD_PROBE_APPID])
    hit = found.get(ITAD_PROBE_APPID)
    return "key works" + ("" if hit and hit.itad_id else " (probe app not found)")


async def _channel(config: Config, c: Clients, channel_id: int) -> str:
    if not config.secrets.discord_token:
        raise Skip("needs the Discord token")
    pins = await c.rest.get_pinned_messages(channel_id)
    return f"bot can read channel {channel_id} ({len(pins)} pinned)"


def print_table(rows: list[CheckRow], out: TextIO) -> None:
    """Print rows as an aligned table, then a one-line verdict."""
    width = max((len(r.name) for r in rows), default=10)
    for r in rows:
        out.write(f"{r.name:<{width}}  {r.status:<4}  {r.detail}\n")
    failed = [r for r in rows if r.status == "FAIL" and r.required]
    out.write(f"\n{len(failed)} required check(s) failed\n" if failed else "\nall required checks passed\n")


def exit_code(rows: list[CheckRow]) -> int:
    """0 when every required check passed, 1 otherwise."""
    return 1 if any(r.status == "FAIL" and r.required for r in rows) else 0


async def check_cmd(config: Config) -> int:
    """`check`: the credential table; 1 when a required check failed."""
    rows = await run_checks(config)
    print_table(rows, sys.stdout)
    return exit_code(rows)
