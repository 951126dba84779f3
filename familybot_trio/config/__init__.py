"""config.toml plus secrets from the environment, validated into frozen dataclasses.

The file holds everything that is not secret: the family (group id, members and their
Discord links), channel ids, admins, price country and language, schedule intervals,
thresholds, the data directory, limiter overrides, log levels and upstream base URLs (so the
sandbox can stand in for Steam, ITAD, Epic, Reddit and Discord). Secrets come only from the
environment (`FAMILYBOT_DISCORD_TOKEN`, `FAMILYBOT_STEAM_API_KEY`, `FAMILYBOT_ITAD_API_KEY`)
and live in `Secrets`, whose fields never appear in a repr.

Every problem becomes a `ConfigError` naming the file, the dotted key, the bad value and the
fix. All problems are collected: the first is raised and the others are attached as notes,
so one run of `familybot-trio check` lists them all. `load_config` is sync and does file I/O:
call it through `blocking.run_sync("files", load_config, path)`.

Layout: `_records` (Config and its parts, defaults), `_load` (load_config, one helper per
section), `_reader` (the TOML file and the value converters that collect errors),
`_dashboard` (the `[dashboard]` table and FAMILYBOT_DISCORD_CLIENT_SECRET).
"""

from familybot_trio.config._dashboard import DashboardConfig
from familybot_trio.config._load import load_config
from familybot_trio.config._records import (DEFAULT_SCHEDULES_MIN, DEFAULT_UPSTREAMS,
                                            ENV_DISCORD_TOKEN, ENV_ITAD_API_KEY,
                                            ENV_STEAM_API_KEY, Channels, Config, Member,
                                            Schedules, Secrets, Thresholds)

__all__ = ["DEFAULT_SCHEDULES_MIN", "DEFAULT_UPSTREAMS", "DashboardConfig", "ENV_DISCORD_TOKEN", "ENV_ITAD_API_KEY",
           "ENV_STEAM_API_KEY", "Channels", "Config", "Member", "Schedules", "Secrets",
           "Thresholds", "load_config"]
