"""Only the family gets in, and nobody can make the bot do unbounded work.

`FamilyGate` is the app's `gateway.commands.Gate`; the registry asks it before every command:

- **Where**: the family's server (`[discord] guild_id`) and DMs. A command from any other
  server is answered with one short ephemeral refusal (a slash command must be answered) or
  not at all (a `!` message), and logged once per server. Operators should also turn off
  "Public Bot" in the developer portal, so nobody else can invite the bot.
- **Who, in DMs**: family members linked to their Discord account, and admins. A stranger's
  DM gets one short refusal (once per person for `!` messages).
- **Who, per command**: a `members_only` command (`/notify`) only for those linked to a
  family member; anyone else is told to `/link` first.
- **How often**: per person and command a cooldown (`[commands] cooldown_s`,
  `[commands.cooldowns]`), answered with "again in N s"; and at most
  `max_running_per_user` handlers of one person running at once.

Autocomplete answers only those who may run the command (no member names to strangers).
State is in memory: a restart forgets cooldowns, which is harmless.

Logger: `familybot_trio.gatekeeper`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import trio

from familybot_trio.errors import StoreError
from familybot_trio.store import Snowflake
from gateway.commands import Command, CommandContext, Gate

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.gatekeeper")

FOREIGN_GUILD_REPLY: Final = "This bot serves one family's Discord server only."
STRANGER_DM_REPLY: Final = ("I only answer the members of the Steam family I serve. If you "
                            "are one, run `/link` in the family's server first.")
#: A `members_only` command from someone not linked to a family member (an admin too).
NOT_A_MEMBER_REPLY: Final = ("`/{name}` is for family members: link your Discord account to "
                             "your Steam account first (`/link`), then run `/{name}` again.")
#: Remembered users/guilds (refusals logged or sent once) are capped, so a flood of
#: strangers cannot grow memory without bound.
_REMEMBER_MAX: Final = 10_000


class FamilyGate(Gate):
    """The family's access policy (see the module docstring).

    Args: app: the App (reads `app.config.access`, `app.config.admin_ids` and
        `app.store.members`).
    """

    def __init__(self, app: App) -> None:
        self._app = app
        self._last_run: dict[tuple[int, str], float] = {}
        self._running: Counter[int] = Counter()
        self._logged_guilds: set[int] = set()
        self._told_strangers: set[int] = set()
        self._finished = trio.Event()  # set (and replaced) whenever a handler ends

    async def run(self, ctx: CommandContext, command: Command,
                  proceed: Callable[[], Awaitable[None]]) -> None:
        """Refuse, ask to wait, or run `proceed()` counted as one of the user's handlers."""
        if not await self._admits(ctx, command):
            return
        if getattr(command, "members_only", False) and not await self._is_member(ctx.user_id):
            await ctx.reply(NOT_A_MEMBER_REPLY.format(name=command.name), ephemeral=True)
            return
        wait_s = self._cooldown_left(ctx.user_id, command.name)
        if wait_s > 0:
            every = self._app.config.access.cooldown_of(command.name)
            await ctx.reply(f"Try `/{command.name}` again in {math.ceil(wait_s)} s (once every "
                            f"{every:g} s per person).", ephemeral=True)
            return
        cap = self._app.config.access.max_running_per_user
        if self._running[ctx.user_id] >= cap:
            await ctx.reply(f"You already have {cap} commands running; wait until they answer.",
                            ephemeral=True)
            return
        self._last_run[(ctx.user_id, command.name)] = trio.current_time()
        self._running[ctx.user_id] += 1
        try:
            await proceed()
        finally:
            self._running[ctx.user_id] -= 1
            if not self._running[ctx.user_id]:
                del self._running[ctx.user_id]
            self._finished.set()
            self._finished = trio.Event()

    async def wait_handlers_done(self, user_id: int) -> None:
        """Return once no command handler of `user_id` runs: every reply and follow-up of
        their commands has been sent (the demo draws a command's replies together)."""
        while self._running.get(user_id):
            await self._finished.wait()

    async def allows_autocomplete(self, ctx: CommandContext, command: Command) -> bool:
        """Choices only for those `run` would let in (never any refusal sent)."""
        return await self._admits(ctx, command, quiet=True)

    async def _admits(self, ctx: CommandContext, command: Command, *, quiet: bool = False
                      ) -> bool:
        access = self._app.config.access
        if ctx.guild_id is not None:
            if ctx.guild_id == access.guild_id:
                return True
            if ctx.guild_id not in self._logged_guilds and len(self._logged_guilds) < _REMEMBER_MAX:
                self._logged_guilds.add(ctx.guild_id)
                log.warning("a command came from a server that is not the family's, refused "
                            "[guild:%d command:%s family_guild:%s]; set [discord] guild_id and "
                            "turn off Public Bot in the developer portal", ctx.guild_id,
                            command.name, access.guild_id)
            if ctx.is_interaction and not quiet:
                await ctx.reply(FOREIGN_GUILD_REPLY, ephemeral=True)
            return False
        if ctx.is_admin or await self._is_member(ctx.user_id):
            return True
        first = ctx.user_id not in self._told_strangers
        if first and len(self._told_strangers) < _REMEMBER_MAX:
            self._told_strangers.add(ctx.user_id)
            log.info("a DM from someone who is not in the family, refused [user:%d command:%s]",
                     ctx.user_id, command.name)
        if not quiet and (ctx.is_interaction or first):
            await ctx.reply(STRANGER_DM_REPLY, ephemeral=True)
        return False

    async def _is_member(self, user_id: int) -> bool:
        try:
            return await self._app.store.members.by_discord_id(Snowflake(user_id)) is not None
        except StoreError as exc:  # fail closed: a broken store never opens the door
            log.warning("could not check a DM's sender, refused [user:%d cause:%s]", user_id, exc)
            return False

    def _cooldown_left(self, user_id: int, command: str) -> float:
        every = self._app.config.access.cooldown_of(command)
        last = self._last_run.get((user_id, command))
        if every <= 0 or last is None:
            return 0.0
        left = every - (trio.current_time() - last)
        if left <= 0:
            del self._last_run[(user_id, command)]  # keeps the table as small as the busy set
        return left
