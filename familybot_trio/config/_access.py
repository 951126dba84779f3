"""Who the bot serves and how much one person may ask of it: `[discord]` and `[commands]`.

    [discord]
    guild_id = "123456789012345678"   # the family's server; the bot answers nowhere else

    [commands]
    cooldown_s = 3                    # per person and command: one run every 3 s
    max_running_per_user = 2          # commands one person may have running at once
    [commands.cooldowns]              # per-command overrides, in seconds
    common_games = 10

Without `guild_id` the bot answers no server at all, only DMs from family members and
admins (`familybot-trio check` says so). Read by `familybot_trio.config.load_config`; `Access` is `Config.access`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from familybot_trio.store.records import Snowflake

if TYPE_CHECKING:
    from familybot_trio.config._reader import Reader

DEFAULT_COOLDOWN_S: Final = 3.0
#: Commands that fan out to Steam (one call per member or per game) get a longer default.
DEFAULT_COOLDOWNS_S: Final[Mapping[str, float]] = MappingProxyType(
    {"common_games": 10.0, "coop": 10.0, "deals": 10.0, "wishlist": 5.0, "profile": 5.0,
     "new_games": 5.0, "free": 5.0, "link": 10.0})
DEFAULT_MAX_RUNNING_PER_USER: Final = 2
_COOLDOWN_MAX_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class Access:
    """Where and how much the bot answers.

    Attributes: guild_id (the family's server; None = no server, DMs only); cooldown_s
        (default per person and command); cooldowns (command name -> seconds, overrides);
        max_running_per_user (handlers one Discord user may have running at once).
    """

    guild_id: Snowflake | None = None
    cooldown_s: float = DEFAULT_COOLDOWN_S
    cooldowns: Mapping[str, float] = field(default_factory=lambda: DEFAULT_COOLDOWNS_S)
    max_running_per_user: int = DEFAULT_MAX_RUNNING_PER_USER

    def cooldown_of(self, command: str) -> float:
        """Seconds between two runs of `command` by one person (0 = no cooldown)."""
        return self.cooldowns.get(command, self.cooldown_s)


def read_access(r: Reader, data: Mapping[str, Any]) -> Access:
    """`[discord]` and `[commands]` of config.toml, errors collected on `r`."""
    discord = r.table(data, "discord", {"guild_id"})
    raw = discord.get("guild_id")
    guild_id = None
    if raw not in (None, ""):
        text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
        if text.isdigit() and 0 < int(text) < 2**64:
            guild_id = Snowflake(int(text))
        else:
            r.fail("discord.guild_id", raw, "use your server's id in quotes, e.g. "
                   "\"123456789012345678\" (Developer Mode on, right-click the server, Copy "
                   "Server ID)")
    cmds = r.table(data, "commands", {"cooldown_s", "max_running_per_user", "cooldowns"})
    cooldown_s = r.number(cmds, "cooldown_s", "commands.cooldown_s", DEFAULT_COOLDOWN_S,
                          0, _COOLDOWN_MAX_S)
    running = r.integer(cmds, "max_running_per_user", "commands.max_running_per_user",
                        DEFAULT_MAX_RUNNING_PER_USER, lo=1, hi=10)
    # An explicit default applies to every command; the built-in per-command ones only
    # while no default is written.
    cooldowns = dict(DEFAULT_COOLDOWNS_S) if "cooldown_s" not in cmds else {}
    per = cmds.get("cooldowns", {})
    if not isinstance(per, Mapping):
        r.fail("commands.cooldowns", per, "use a table: [commands.cooldowns] then "
               "common_games = 10")
        per = {}
    for name in per:
        cooldowns[name] = r.number(per, name, f"commands.cooldowns.{name}", cooldown_s, 0,
                                   _COOLDOWN_MAX_S)
    return Access(guild_id, cooldown_s, MappingProxyType(cooldowns),
                  running if running is not None else DEFAULT_MAX_RUNNING_PER_USER)
