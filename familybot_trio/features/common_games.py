"""/common_games: the games every listed member owns (multi-player ones unless `all`).

Who: the caller (always, when linked), up to four Discord users (user1..user4) and a free
`members` text of names, mentions, SteamID64s or profile URLs (Discord's option list is
fixed, so a text option carries "any number"). Anyone who cannot be compared is named in
the reply with the fix: unlinked Discord users (`/link`), accounts outside the family, and
members whose game details are private on Steam.

Owned games come from `store.owned`, refreshed per member with GetOwnedGames when older
than OWNED_TTL_S. A private or failing answer never wipes stored lists: a member with an
older stored list is compared from it (the reply says how old); the store's guard keeps a
list that suddenly shrank. Names and categories come from the batched, cached catalog.

Logger: `familybot_trio.features.common_games`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import trio

from familybot_trio.errors import StoreError, UpstreamError
from familybot_trio.features import _common
from familybot_trio.store import AppId, MemberRecord, OwnedGame
from gateway import _options
from gateway.commands import ArgumentError, CommandContext, boolean, string, user
from gateway.messages import EMBED_DESCRIPTION_MAX, Embed, escape_text, pack_embeds, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.common_games")

#: Owned-games lists younger than this are used without asking Steam (s).
OWNED_TTL_S: Final = 6 * 3600
USER_OPTIONS: Final = ("user1", "user2", "user3", "user4")
MAX_LISTED: Final = 150
COLOR: Final = 0x1B6FA8
LINK_HINT: Final = "run `/link steam:<SteamID64 or profile URL>`"
#: `members` lists at most as many names as the family has members (a Steam Family has at
#: most 6 accounts): each unknown name may cost one ResolveVanityURL call.
MAX_NAMES: Final = 6
#: 6 profile URLs or custom URL names, comma separated, fit comfortably.
MEMBERS_MAX_CHARS: Final = 400


class CompareError(Exception):
    """Some listed people cannot be compared; `problems` names each one with the fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class OwnedList:
    """One member's owned appids as used, and when Steam last gave them (UTC)."""

    member: MemberRecord
    appids: frozenset[AppId]
    fetched_at: dt.datetime


async def resolve_people(app: App, ctx: CommandContext) -> list[MemberRecord]:
    """The caller plus everyone named in user1..user4 and `members`, deduplicated.

    Returns: >= 2 distinct members. Raises: CompareError naming unlinked users, unknown
        names and non-members; UpstreamError (ResolveVanityURL for custom URL names).
    """
    members = {m.steamid: m for m in await app.store.members.all()}
    by_discord = {int(m.discord_id): m for m in members.values() if m.discord_id}
    found: dict[int, MemberRecord] = {}
    problems: list[str] = []
    caller = by_discord.get(ctx.user_id)
    if caller is None:
        problems.append(f"you (<@{ctx.user_id}>) are not linked to a family member: {LINK_HINT}")
    else:
        found[caller.steamid] = caller
    for name in USER_OPTIONS:
        uid = ctx.args.get(name)
        if uid is None:
            continue
        m = by_discord.get(int(uid))  # type: ignore[call-overload]
        if m is None:
            problems.append(f"<@{uid}> (`{name}`) is not linked to a family member: they can "
                            f"{LINK_HINT}")
        else:
            found[m.steamid] = m
    text = str(ctx.args.get("members") or "").strip()
    tokens = list(dict.fromkeys(t for t in re.split(r"\s*,\s*" if "," in text else r"\s+", text)
                                if t)) if text else []
    limit = min(MAX_NAMES, len(members))
    if len(tokens) > limit:  # refused before any lookup: bounded work per command
        raise CompareError([f"`members` lists {len(tokens)} names, but the family has "
                            f"{len(members)} members; name at most {limit}"])
    for token in tokens:
        try:
            sid, m = await _common.resolve_member_ref(app, token, "members")
        except ArgumentError as exc:
            problems.append(str(exc))
            continue
        if m is None:
            problems.append(f"{_options.quoted(token)} (Steam account {sid}) is not in this "
                            "Steam family")
        else:
            found[m.steamid] = m
    if problems:
        raise CompareError(problems)
    if len(found) < 2:
        raise CompareError(["Argument `user1`: name at least one other member to compare with "
                            "(user1-user4, or names in `members`)"])
    return list(found.values())


async def owned_list(app: App, member: MemberRecord) -> OwnedList | None:
    """A member's owned games: stored if fresh, else GetOwnedGames (then stored).

    Returns: the list, or None when Steam shows nothing (private game details) and
        nothing is stored. Raises: UpstreamError / StoreError only when nothing is stored.
    Upstream: IPlayerService/GetOwnedGames/v1.
    """
    now = app.now()
    stored_at = await app.store.owned.last_fetched_at(member.steamid)
    if stored_at is None or (now - stored_at).total_seconds() > OWNED_TTL_S:
        try:
            owned = await app.steam.get_owned_games(member.steamid)
        except UpstreamError as exc:
            if stored_at is None:
                raise
            log.warning("owned games not refreshed, using stored [steamid:%d cause:%s]",
                        member.steamid, exc)
        else:
            if owned.is_visible:
                result = await app.store.owned.replace(
                    member.steamid, [OwnedGame(AppId(int(g.appid)), g.playtime_forever_min)
                                     for g in owned.games], now)
                if result.applied:
                    stored_at = now
            elif stored_at is None:
                return None
    if stored_at is None:
        return None
    games = await app.store.owned.games(member.steamid)
    return OwnedList(member, frozenset(g.appid for g in games), stored_at)


async def owned_lists(app: App, people: Sequence[MemberRecord]) -> list[OwnedList]:
    """Every member's list, fetched side by side.

    Raises: CompareError naming private members and members Steam failed for.
    """
    lists: dict[int, OwnedList] = {}
    problems: list[str] = []

    async def one(m: MemberRecord) -> None:
        try:
            got = await owned_list(app, m)
        except (UpstreamError, StoreError) as exc:
            problems.append(f"**{escape_text(m.name)}**: Steam did not answer ({exc})")
            return
        if got is None:
            problems.append(f"**{escape_text(m.name)}** keeps their game details private "
                            "on Steam: set Profile > Edit Profile > Privacy Settings > Game "
                            "details to Public, or leave them out")
        else:
            lists[m.steamid] = got

    async with trio.open_nursery() as nursery:
        for m in people:
            nursery.start_soon(one, m)
    if problems:
        raise CompareError(problems)
    return [lists[m.steamid] for m in people]


async def common_messages(app: App, ctx: CommandContext) -> list[list[dict]]:
    """The /common_games answer as messages of embeds.

    Raises: CompareError; UpstreamError (catalog); StoreError.
    """
    every = bool(ctx.args.get("all"))
    lists = await owned_lists(app, await resolve_people(app, ctx))
    common = frozenset.intersection(*(ol.appids for ol in lists))
    details = await app.catalog.details(sorted(common), country=app.config.country)
    names = [ol.member.name for ol in lists]
    if every:
        games = [(details[a].name if a in details else f"app {a}", a) for a in common]
    else:
        games = [(d.name, a) for a, d in details.items() if a in common and d.is_multiplayer]
    games.sort(key=lambda g: (g[0].casefold(), g[1]))
    kind = "games" if every else "multi-player or co-op games"
    title = f"{len(games)} {kind} {_common.join_names(names)} all own"
    notes = ["every common game" if every
             else "multi-player and co-op only; add all:true for every game"]
    now = app.now()
    for ol in lists:
        age_h = (now - ol.fetched_at).total_seconds() / 3600
        if age_h * 3600 > OWNED_TTL_S:
            notes.append(f"{escape_text(ol.member.name)}'s list is {age_h:.0f} h old")
    if not games:
        return [[Embed(title=title, description=f"No {kind} in common.", color=COLOR,
                       footer=" · ".join(notes)).to_dict()]]
    lines = [f"• {_common.game_link(n, a)}" for n, a in games[:MAX_LISTED]]
    if len(games) > MAX_LISTED:
        lines.append(f"…and {len(games) - MAX_LISTED} more.")
    chunks = split_lines(lines, EMBED_DESCRIPTION_MAX)
    return pack_embeds([Embed(title=title if i == 0 else None, description=c, color=COLOR,
                              footer=" · ".join(notes) if i == len(chunks) - 1 else None)
                        for i, c in enumerate(chunks)])


def setup(app: App) -> None:
    """Register /common_games."""

    @app.registry.command(
        "common_games", "Games every listed member owns (multi-player ones unless all)",
        options=[string("members", "More members: names, @mentions, SteamID64s or profile "
                        "URLs, comma separated", required=False, max_length=MEMBERS_MAX_CHARS),
                 *(user(n, "A family member to include", required=False) for n in USER_OPTIONS),
                 boolean("all", "List every common game, not only multi-player ones",
                         required=False)])
    async def common_games_command(ctx: CommandContext) -> None:
        try:
            messages = await common_messages(app, ctx)
        except CompareError as exc:
            await ctx.reply("I can't compare libraries yet:\n" + "\n".join(
                f"• {p}" for p in exc.problems), ephemeral=True)
            return
        except (UpstreamError, StoreError) as exc:
            log.warning("common games failed [cause:%s]", exc)
            await ctx.reply(f"Could not compare libraries: {exc}", ephemeral=True)
            return
        for embeds in messages:
            await ctx.reply(embeds=embeds)
