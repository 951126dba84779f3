"""The validated configuration as frozen dataclasses, and the defaults behind them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from familybot_trio.config._access import Access
from familybot_trio.config._dashboard import DashboardConfig
from familybot_trio.store.records import MemberRecord, Snowflake  # one definition each

ENV_DISCORD_TOKEN: Final = "FAMILYBOT_DISCORD_TOKEN"
ENV_STEAM_API_KEY: Final = "FAMILYBOT_STEAM_API_KEY"
ENV_ITAD_API_KEY: Final = "FAMILYBOT_ITAD_API_KEY"

#: upstream name -> real base URL; `[upstream]` overrides any of them (the sandbox does).
DEFAULT_UPSTREAMS: Final[Mapping[str, str]] = {
    "steam_webapi": "https://api.steampowered.com",
    "storefront": "https://store.steampowered.com",
    "itad": "https://api.isthereanydeal.com",
    "epic": "https://store-site-backend-static.ak.epicgames.com",
    "reddit": "https://www.reddit.com",
    "steam_auth": "https://login.steampowered.com",
    "discord_rest": "https://discord.com/api/v10",
}

#: schedule job -> default interval in minutes (`[schedules] <job>_min`).
DEFAULT_SCHEDULES_MIN: Final[Mapping[str, float]] = {
    "new_games": 60,
    "wishlist": 360,
    "deals": 720,
    "free_games": 30,
    "token_check": 60,
    "backup": 7 * 24 * 60,
}



@dataclass(frozen=True, slots=True)
class Secrets:
    """Secrets from the environment; repr shows only which ones are set.

    Attributes: discord_token (bot token), steam_api_key (Web API key), itad_api_key;
    each "" when absent and `load_config(require_secrets=False)` allowed that.
    """

    discord_token: str = field(default="", repr=False)
    steam_api_key: str = field(default="", repr=False)
    itad_api_key: str = field(default="", repr=False)

    def __repr__(self) -> str:
        present = [n for n in ("discord_token", "steam_api_key", "itad_api_key") if getattr(self, n)]
        return f"Secrets(set={present})"

    __str__ = __repr__


#: One family member from config: the store's record type (SteamID64, name, Discord id),
#: so the App seeds the store with config.members as they are.
Member = MemberRecord


@dataclass(frozen=True, slots=True)
class Channels:
    """Discord channel ids where each kind of announcement goes (None = feature posts nowhere)."""

    new_games: Snowflake | None = None
    wishlist: Snowflake | None = None
    deals: Snowflake | None = None
    free_games: Snowflake | None = None
    admin_reports: Snowflake | None = None


@dataclass(frozen=True, slots=True)
class Schedules:
    """Intervals of the periodic jobs, in seconds."""

    new_games_s: float = DEFAULT_SCHEDULES_MIN["new_games"] * 60
    wishlist_s: float = DEFAULT_SCHEDULES_MIN["wishlist"] * 60
    deals_s: float = DEFAULT_SCHEDULES_MIN["deals"] * 60
    free_games_s: float = DEFAULT_SCHEDULES_MIN["free_games"] * 60
    token_check_s: float = DEFAULT_SCHEDULES_MIN["token_check"] * 60
    backup_s: float = DEFAULT_SCHEDULES_MIN["backup"] * 60


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds of the features.

    Attributes: wishlist_min_members (a game must be wished by >= this many members);
    deal_min_discount_pct (0-100); historical_low_buffer (a price <= history low x this is
    "near the low", >= 1.0); bundle_threshold (more new games than this at once are announced
    as one summary); new_games_announce_since (UTC date: older acquisitions are not announced);
    free_games_repeat_after_days (`[free_games] repeat_after_days`: a giveaway of a game
    announced before is announced again once this many days have passed since);
    free_games_skip_owned (leave out free games the family library already has);
    free_games_free_weekends (also post free weekends: play free, not keep);
    owned_answer_store_links (`[owned] answer_store_links`: answer a posted Steam store link
    with the /owned card; needs the Message Content intent).
    new_games_digest (post the daily digest of removals, extra copies and exclusions).
    """

    wishlist_min_members: int = 2
    deal_min_discount_pct: int = 30
    historical_low_buffer: float = 1.2
    bundle_threshold: int = 5
    new_games_announce_since: dt.date | None = None
    free_games_repeat_after_days: int = 180
    free_games_skip_owned: bool = False
    free_games_free_weekends: bool = False
    owned_answer_store_links: bool = False
    new_games_digest: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration (secrets only as `secrets`, hidden from repr).

    Attributes: path (the file read); family_group_id; members (config order); channels;
    admin_ids; country (ISO 3166-1 alpha-2, e.g. "US"); language (a locale like "en" or
    "fr_FR", for storefront texts and price formatting); schedules; thresholds; data_dir
    (absolute); prefix_commands; limits (blocking.LIMITS overrides); log_level and
    log_levels (logger name -> level); upstreams (name -> base URL without trailing "/");
    access (`[discord] guild_id`, `[commands]` cooldowns: config/_access.py).
    """

    path: Path
    family_group_id: int
    members: tuple[Member, ...]
    channels: Channels
    admin_ids: frozenset[Snowflake]
    country: str
    language: str
    schedules: Schedules
    thresholds: Thresholds
    data_dir: Path
    prefix_commands: bool
    limits: Mapping[str, int]
    log_level: str
    log_levels: Mapping[str, str]
    upstreams: Mapping[str, str]
    secrets: Secrets = field(default_factory=Secrets, repr=False)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    access: Access = field(default_factory=Access)

    @property
    def db_path(self) -> Path:
        """The SQLite file inside data_dir."""
        return self.data_dir / "familybot.db"

    def member(self, steamid: int) -> Member | None:
        """The member with this SteamID64, or None."""
        return next((m for m in self.members if m.steamid == steamid), None)

    @property
    def log_secrets(self) -> tuple[str, ...]:
        """Every secret the config holds, for `logs.setup_logging(secrets=...)`: the bot
        token, the Steam Web API key, the ITAD key, FAMILYBOT_DISCORD_CLIENT_SECRET and
        `[dashboard] metrics_token` ("" for the unset ones; setup_logging skips them)."""
        s, d = self.secrets, self.dashboard
        return (s.discord_token, s.steam_api_key, s.itad_api_key, d.client_secret,
                d.metrics_token)


__all__ = ["DEFAULT_SCHEDULES_MIN", "DEFAULT_UPSTREAMS", "ENV_DISCORD_TOKEN", "ENV_ITAD_API_KEY",
           "ENV_STEAM_API_KEY", "Channels", "Config", "Member", "Schedules", "Secrets",
           "Thresholds"]
