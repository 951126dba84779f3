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
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from steam.enums import EType
from steam.steamid import SteamID

from familybot_trio import blocking
from familybot_trio.errors import ConfigError
from familybot_trio.store.records import MemberRecord, Snowflake, SteamID64  # one definition each

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

_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_COUNTRY_RE: Final = re.compile(r"^[A-Z]{2}$")
# A Discord snowflake: 64-bit, in practice 17-20 digits since 2015.
_SNOWFLAKE_MIN: Final = 10**15
_MAX_MEMBERS: Final = 6  # a Steam Family holds at most 6 accounts


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
    as one summary); new_games_announce_since (UTC date: older acquisitions are not announced).
    """

    wishlist_min_members: int = 2
    deal_min_discount_pct: int = 30
    historical_low_buffer: float = 1.2
    bundle_threshold: int = 5
    new_games_announce_since: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration (secrets only as `secrets`, hidden from repr).

    Attributes: path (the file read); family_group_id; members (config order); channels;
    admin_ids; country (ISO 3166-1 alpha-2, e.g. "US"); language (a locale like "en" or
    "fr_FR", for storefront texts and price formatting); schedules; thresholds; data_dir
    (absolute); prefix_commands; limits (blocking.LIMITS overrides); log_level and
    log_levels (logger name -> level); upstreams (name -> base URL without trailing "/").
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

    @property
    def db_path(self) -> Path:
        """The SQLite file inside data_dir."""
        return self.data_dir / "familybot.db"

    def member(self, steamid: int) -> Member | None:
        """The member with this SteamID64, or None."""
        return next((m for m in self.members if m.steamid == steamid), None)


class _Reader:
    """Walks the parsed TOML, converting values and collecting ConfigErrors."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.errors: list[ConfigError] = []

    def fail(self, key: str, value: object, fix: str) -> None:
        self.errors.append(ConfigError(self.path, key, value, fix))

    def table(self, data: Mapping[str, Any], key: str, known: set[str]) -> Mapping[str, Any]:
        """data[key] as a table (missing -> {}); unknown sub-keys are errors."""
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            self.fail(key, value, f"[{key}] must be a table, like `[{key}]` on its own line")
            return {}
        self.unknown(value, known, prefix=f"{key}.")
        return value

    def unknown(self, data: Mapping[str, Any], known: set[str], prefix: str = "") -> None:
        for name in data:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"did you mean `{close[0]}`?" if close else "known keys: " + ", ".join(sorted(known))
                # The value is not shown: a mistyped key may well hold a pasted secret.
                self.fail(f"{prefix}{name}", "<not shown>", f"unknown key; {hint}")

    def integer(self, data: Mapping[str, Any], key: str, dotted: str, default: int | None,
                lo: int | None = None, hi: int | None = None) -> int | None:
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(dotted, value, "write a whole number without quotes")
            return default
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(dotted, value, f"use a number from {lo} to {hi if hi is not None else 'up'}")
            return default
        return value

    def number(self, data: Mapping[str, Any], key: str, dotted: str, default: float,
               lo: float, hi: float) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            self.fail(dotted, value, f"use a number from {lo:g} to {hi:g}")
            return default
        return float(value)

    def snowflake(self, value: object, dotted: str) -> Snowflake | None:
        """A Discord id, written as a string (TOML ints are fine too but JSON tools round them)."""
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not text.isdigit() or not _SNOWFLAKE_MIN <= int(text) < 2**64:
            self.fail(dotted, value, "use a Discord id (17-20 digits, e.g. \"123456789012345678\"); "
                      "enable Developer Mode in Discord and use Copy ID")
            return None
        return Snowflake(int(text))

    def steamid(self, value: object, dotted: str) -> SteamID64 | None:
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        sid = SteamID(int(text)) if text.isdigit() and int(text) < 2**64 else None
        if sid is None or not sid.is_valid() or sid.type != EType.Individual:
            self.fail(dotted, value, "use the 17-digit SteamID64 of a user account "
                      "(starts with 7656119, see steamid.io)")
            return None
        return SteamID64(sid.as_64)

    def url(self, value: object, dotted: str) -> str | None:
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            self.fail(dotted, value, "use an absolute http(s) URL like \"http://127.0.0.1:8080\"")
            return None
        return value.rstrip("/")


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "<file>", str(path),
                          "file not found; copy config.example.toml there and fill it in") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "<file>", str(path),
                          f"cannot read it ({exc.__class__.__name__}: {exc}); "
                          "check permissions and that it is UTF-8 text") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "<syntax>", str(exc),
                          "fix the TOML syntax at that line (https://toml.io)") from exc


def _members(r: _Reader, raw: object) -> tuple[Member, ...]:
    if not isinstance(raw, list) or not raw:
        r.fail("members", raw, "add one [[members]] table per family member "
               "with steamid and name")
        return ()
    if len(raw) > _MAX_MEMBERS:
        r.fail("members", f"{len(raw)} members", f"a Steam Family holds at most {_MAX_MEMBERS}")
    out: list[Member] = []
    for i, item in enumerate(raw):
        key = f"members[{i}]"
        if not isinstance(item, Mapping):
            r.fail(key, item, "each member is a [[members]] table")
            continue
        r.unknown(item, {"steamid", "name", "discord_id"}, prefix=f"{key}.")
        sid = r.steamid(item.get("steamid"), f"{key}.steamid")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            r.fail(f"{key}.name", name, "give the display name the bot uses, e.g. name = \"Alice\"")
            name = None
        did = item.get("discord_id")
        discord_id = r.snowflake(did, f"{key}.discord_id") if did not in (None, "") else None
        if sid is not None and any(m.steamid == sid for m in out):
            r.fail(f"{key}.steamid", item.get("steamid"), "this SteamID64 is listed twice; keep one")
        elif sid is not None and name:
            out.append(Member(sid, name.strip(), discord_id))
    return tuple(out)


def _secrets(path: Path, env: Mapping[str, str], required: bool) -> tuple[Secrets, list[ConfigError]]:
    errors: list[ConfigError] = []
    values: dict[str, str] = {}
    for attr, var in (("discord_token", ENV_DISCORD_TOKEN), ("steam_api_key", ENV_STEAM_API_KEY),
                      ("itad_api_key", ENV_ITAD_API_KEY)):
        value = env.get(var, "")
        if value != value.strip():
            # Never echo a secret: the value shown is a placeholder.
            errors.append(ConfigError(f"{path} (environment)", var, "<hidden>",
                                      "the value has leading/trailing whitespace; remove it"))
        elif not value and required:
            errors.append(ConfigError(f"{path} (environment)", var, "<unset>",
                                      f"export {var}=... before starting (see README)"))
        values[attr] = value.strip()
    return Secrets(**values), errors


_TOP_KEYS: Final = {"family", "members", "channels", "admins", "prices", "schedules", "wishlist",
                    "deals", "new_games", "data_dir", "prefix_commands", "limits", "logging",
                    "upstream"}


def load_config(path: Path, env: Mapping[str, str] = os.environ, *,
                require_secrets: bool = True) -> Config:
    """Read and validate config.toml, then read the secrets from `env`.

    Args: path: the TOML file (relative `data_dir` is resolved against its folder).
        env: where secrets come from (os.environ by default; tests pass a dict).
        require_secrets: False for `demo`, the sandbox and `check`: missing secrets become "".
    Returns: a frozen Config; `config.secrets` holds the secrets (hidden from repr/str).
    Raises: ConfigError naming file, key, value and fix; when several keys are wrong, the
        first is raised and the others are attached as exception notes.
    Cancellation: sync and blocking (reads the file); run it via blocking.run_sync("files", ...).
    """
    path = Path(path)
    data = _load_toml(path)
    r = _Reader(path)
    r.unknown(data, _TOP_KEYS)

    family = r.table(data, "family", {"group_id"})
    group_id = r.integer(family, "group_id", "family.group_id", None, lo=1)
    if group_id is None and "group_id" not in family:
        r.fail("family.group_id", None, "set it to your Steam family group id (a number); "
               "if you do not know it, set any number and run `familybot-trio check`: with "
               "the access token set it prints your family's id")
    members = _members(r, data.get("members"))

    ch = r.table(data, "channels", set(Channels.__slots__))
    channels = Channels(**{k: r.snowflake(v, f"channels.{k}") for k, v in ch.items()
                           if k in Channels.__slots__})
    admins_t = r.table(data, "admins", {"discord_ids"})
    raw_admins = admins_t.get("discord_ids", [])
    if not isinstance(raw_admins, list):
        r.fail("admins.discord_ids", raw_admins, "use a list, e.g. [\"123456789012345678\"]")
        raw_admins = []
    admin_ids = frozenset(a for i, v in enumerate(raw_admins)
                          if (a := r.snowflake(v, f"admins.discord_ids[{i}]")) is not None)

    prices = r.table(data, "prices", {"country", "language"})
    country = prices.get("country", "US")
    if not isinstance(country, str) or not _COUNTRY_RE.match(country):
        r.fail("prices.country", country, "use an ISO 3166-1 alpha-2 code in capitals, e.g. \"US\"")
        country = "US"
    language = prices.get("language", "en")
    try:
        Locale.parse(language)
    except (UnknownLocaleError, ValueError, TypeError):
        r.fail("prices.language", language, "use a locale like \"en\", \"fr\" or \"pt_BR\"")
        language = "en"

    sched = r.table(data, "schedules", {f"{k}_min" for k in DEFAULT_SCHEDULES_MIN})
    schedules = Schedules(**{f"{k}_s": r.number(sched, f"{k}_min", f"schedules.{k}_min",
                                                default, 1, 60 * 24 * 60) * 60
                             for k, default in DEFAULT_SCHEDULES_MIN.items()})

    wl = r.table(data, "wishlist", {"min_members"})
    deals = r.table(data, "deals", {"min_discount_pct", "historical_low_buffer"})
    ng = r.table(data, "new_games", {"announce_since", "bundle_threshold"})
    since = ng.get("announce_since")
    if since is not None and (not isinstance(since, dt.date) or isinstance(since, dt.datetime)):
        r.fail("new_games.announce_since", since, "use a bare TOML date like 2025-01-31 (no quotes)")
        since = None
    d = Thresholds()
    thresholds = Thresholds(
        wishlist_min_members=r.integer(wl, "min_members", "wishlist.min_members",
                                       d.wishlist_min_members, lo=2, hi=_MAX_MEMBERS),
        deal_min_discount_pct=r.integer(deals, "min_discount_pct", "deals.min_discount_pct",
                                        d.deal_min_discount_pct, lo=1, hi=100),
        historical_low_buffer=r.number(deals, "historical_low_buffer",
                                       "deals.historical_low_buffer", d.historical_low_buffer, 1.0, 3.0),
        bundle_threshold=r.integer(ng, "bundle_threshold", "new_games.bundle_threshold",
                                   d.bundle_threshold, lo=1, hi=1000),
        new_games_announce_since=since,
    )

    raw_dir = data.get("data_dir", "data")
    if not isinstance(raw_dir, str) or not raw_dir:
        r.fail("data_dir", raw_dir, "use a folder path, e.g. \"data\" (relative to the config file)")
        raw_dir = "data"
    data_dir = (path.parent / Path(raw_dir).expanduser()).absolute()
    if data_dir.exists() and not data_dir.is_dir():
        r.fail("data_dir", raw_dir, "that path is a file, not a folder; point data_dir at a "
               "folder the bot may create and write (e.g. \"data\")")
    else:
        parent = next((p for p in (data_dir, *data_dir.parents) if p.exists()), None)
        if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            r.fail("data_dir", raw_dir, f"the bot cannot create or write {data_dir} (nearest "
                   f"existing folder: {parent}); create it and give the bot's user write access")

    prefix = data.get("prefix_commands", False)
    if not isinstance(prefix, bool):
        r.fail("prefix_commands", prefix, "use true or false (no quotes)")
        prefix = False

    limits_t = r.table(data, "limits", set(blocking.LIMITS))
    limits = {k: v for k in limits_t
              if k in blocking.LIMITS and (v := r.integer(limits_t, k, f"limits.{k}", None, lo=1, hi=64))}

    logging_t = r.table(data, "logging", {"level", "modules"})
    log_level = str(logging_t.get("level", "INFO")).upper()
    if log_level not in _LOG_LEVELS:
        r.fail("logging.level", logging_t.get("level"), "use one of " + ", ".join(_LOG_LEVELS))
        log_level = "INFO"
    modules = logging_t.get("modules", {})
    log_levels: dict[str, str] = {}
    if not isinstance(modules, Mapping):
        r.fail("logging.modules", modules, "use a table: [logging.modules] then \"gateway.shard\" = \"DEBUG\"")
        modules = {}
    for name, level in modules.items():
        if not isinstance(level, str) or level.upper() not in _LOG_LEVELS:
            r.fail(f"logging.modules.{name}", level, "use one of " + ", ".join(_LOG_LEVELS))
        else:
            log_levels[name] = level.upper()

    up = r.table(data, "upstream", set(DEFAULT_UPSTREAMS))
    upstreams = dict(DEFAULT_UPSTREAMS)
    for k, v in up.items():
        if k in DEFAULT_UPSTREAMS and (url := r.url(v, f"upstream.{k}")) is not None:
            upstreams[k] = url

    secrets, secret_errors = _secrets(path, env, require_secrets)
    errors = r.errors + secret_errors
    if errors:
        first = errors[0]
        for other in errors[1:]:
            first.add_note(str(other))
        raise first
    assert group_id is not None  # checked above; keeps type checkers happy
    return Config(path=path, family_group_id=group_id, members=members, channels=channels,
                  admin_ids=admin_ids, country=country, language=language, schedules=schedules,
                  thresholds=thresholds, data_dir=data_dir, prefix_commands=prefix,
                  limits=MappingProxyType(limits), log_level=log_level,
                  log_levels=MappingProxyType(log_levels),
                  upstreams=MappingProxyType(upstreams), secrets=secrets)
