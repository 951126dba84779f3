"""`load_config`: config.toml and the environment into a validated `Config`, one section each.

Walks the parsed TOML with `_reader.Reader`, which collects every problem; the first is
raised with the others attached as notes. Sync and blocking (reads the file).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from babel import Locale, UnknownLocaleError

from familybot_trio import blocking, offloop
from familybot_trio.config._access import read_access
from familybot_trio.config._dashboard import read_dashboard
from familybot_trio.config._reader import Reader, load_toml
from familybot_trio.config._records import (DEFAULT_SCHEDULES_MIN, DEFAULT_UPSTREAMS,
                                            ENV_DISCORD_TOKEN, ENV_ITAD_API_KEY,
                                            ENV_STEAM_API_KEY, Channels, Config, Member,
                                            Schedules, Secrets, Thresholds)
from familybot_trio.errors import MISSING, ConfigError
from familybot_trio.store.records import Snowflake

_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_COUNTRY_RE: Final = re.compile(r"^[A-Z]{2}$")
_MAX_MEMBERS: Final = 6  # a Steam Family holds at most 6 accounts


def member_key(index: int) -> str:
    """How errors name the index-th (0-based) `[[members]]` table: counted from 1."""
    return f"[[members]] #{index + 1}"


def _members(r: Reader, raw: object) -> tuple[Member, ...]:
    if raw is None:
        r.fail("members", MISSING, "add one [[members]] table per family member "
               "with steamid and name")
        return ()
    if not isinstance(raw, list) or not raw:
        r.fail("members", raw, "add one [[members]] table per family member "
               "with steamid and name")
        return ()
    if len(raw) > _MAX_MEMBERS:
        r.fail("members", f"{len(raw)} members", f"a Steam Family holds at most {_MAX_MEMBERS}")
    out: list[Member] = []
    for i, item in enumerate(raw):
        key = member_key(i)
        if not isinstance(item, Mapping):
            r.fail(key, item, "each member is a [[members]] table")
            continue
        r.unknown(item, {"steamid", "name", "discord_id"}, prefix=f"{key} ")
        sid = None
        if "steamid" not in item:
            r.fail(f"{key} steamid", MISSING, "add the member's 17-digit SteamID64, e.g. "
                   "steamid = \"76561198000000001\" (see steamid.io)")
        else:
            sid = r.steamid(item["steamid"], f"{key} steamid")
        name = item.get("name")
        if "name" not in item:
            r.fail(f"{key} name", MISSING, "give the display name the bot uses, e.g. "
                   "name = \"Alice\"")
        elif not isinstance(name, str) or not name.strip():
            r.fail(f"{key} name", name, "give the display name the bot uses, e.g. name = \"Alice\"")
            name = None
        did = item.get("discord_id")
        discord_id = r.snowflake(did, f"{key} discord_id") if did not in (None, "") else None
        if sid is not None and any(m.steamid == sid for m in out):
            r.fail(f"{key} steamid", item.get("steamid"), "this SteamID64 is listed twice; keep one")
        elif sid is not None and isinstance(name, str) and name.strip():
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
            errors.append(ConfigError(f"{path} (environment)", var, MISSING,
                                      f"export {var}=... before starting (see README)"))
        values[attr] = value.strip()
    return Secrets(**values), errors


_TOP_KEYS: Final = {"family", "members", "channels", "admins", "prices", "schedules", "wishlist",
                    "deals", "new_games", "data_dir", "prefix_commands", "limits", "logging",
                    "upstream", "free_games", "dashboard", "discord", "commands", "owned"}


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
    offloop.check("file read (load_config)", helper=True)
    path = Path(path)
    data = load_toml(path)
    r = Reader(path)
    r.unknown(data, _TOP_KEYS)
    group_id = _family_group_id(r, data)
    members = _members(r, data.get("members"))
    channels, admin_ids = _channels(r, data), _admin_ids(r, data)
    country, language = _prices(r, data)
    schedules, thresholds = _schedules(r, data), _thresholds(r, data)
    data_dir = _data_dir(r, data, path)
    prefix = data.get("prefix_commands", False)
    if not isinstance(prefix, bool):
        r.fail("prefix_commands", prefix, "use true or false (no quotes)")
        prefix = False
    limits_t = r.table(data, "limits", set(blocking.LIMITS))
    limits = {k: v for k in limits_t
              if k in blocking.LIMITS and (v := r.integer(limits_t, k, f"limits.{k}", None, lo=1, hi=64))}
    log_level, log_levels = _logging(r, data)
    upstreams = _upstreams(r, data)

    dashboard = read_dashboard(r, data, env)
    access = read_access(r, data)
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
                  upstreams=MappingProxyType(upstreams), secrets=secrets, dashboard=dashboard,
                  access=access)


# ------------------------------------------------------------------ one section each
def _family_group_id(r: Reader, data: Mapping[str, Any]) -> int | None:
    family = r.table(data, "family", {"group_id"})
    group_id = r.integer(family, "group_id", "family.group_id", None, lo=1)
    if group_id is None and "group_id" not in family:
        r.fail("family.group_id", MISSING, "set it to your Steam family group id (a number); "
               "if you do not know it, set any number and run `familybot-trio check`: with "
               "the access token set it prints your family's id")
    return group_id


def _channels(r: Reader, data: Mapping[str, Any]) -> Channels:
    ch = r.table(data, "channels", set(Channels.__slots__))
    return Channels(**{k: r.snowflake(v, f"channels.{k}") for k, v in ch.items()
                       if k in Channels.__slots__})


def _admin_ids(r: Reader, data: Mapping[str, Any]) -> frozenset[Snowflake]:
    admins_t = r.table(data, "admins", {"discord_ids"})
    raw_admins = admins_t.get("discord_ids", [])
    if not isinstance(raw_admins, list):
        r.fail("admins.discord_ids", raw_admins, "use a list, e.g. [\"123456789012345678\"]")
        raw_admins = []
    return frozenset(a for i, v in enumerate(raw_admins)
                     if (a := r.snowflake(v, f"admins.discord_ids[{i}]")) is not None)


def _prices(r: Reader, data: Mapping[str, Any]) -> tuple[str, str]:
    """(country, language) of `[prices]`."""
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
    return country, language


def _schedules(r: Reader, data: Mapping[str, Any]) -> Schedules:
    sched = r.table(data, "schedules", {f"{k}_min" for k in DEFAULT_SCHEDULES_MIN})
    return Schedules(**{f"{k}_s": r.number(sched, f"{k}_min", f"schedules.{k}_min",
                                           default, 1, 60 * 24 * 60) * 60
                        for k, default in DEFAULT_SCHEDULES_MIN.items()})


def _thresholds(r: Reader, data: Mapping[str, Any]) -> Thresholds:
    """`[wishlist]`, `[deals]`, `[new_games]` and `[free_games]`."""
    wl = r.table(data, "wishlist", {"min_members"})
    deals = r.table(data, "deals", {"min_discount_pct", "historical_low_buffer"})
    ng = r.table(data, "new_games", {"announce_since", "bundle_threshold", "digest"})
    fg = r.table(data, "free_games", {"repeat_after_days", "skip_owned", "free_weekends"})
    owned = r.table(data, "owned", {"answer_store_links"})
    since = ng.get("announce_since")
    if since is not None and (not isinstance(since, dt.date) or isinstance(since, dt.datetime)):
        r.fail("new_games.announce_since", since, "use a bare TOML date like 2025-01-31 (no quotes)")
        since = None
    d = Thresholds()
    return Thresholds(
        wishlist_min_members=r.integer(wl, "min_members", "wishlist.min_members",
                                       d.wishlist_min_members, lo=2, hi=_MAX_MEMBERS),
        deal_min_discount_pct=r.integer(deals, "min_discount_pct", "deals.min_discount_pct",
                                        d.deal_min_discount_pct, lo=1, hi=100),
        historical_low_buffer=r.number(deals, "historical_low_buffer",
                                       "deals.historical_low_buffer", d.historical_low_buffer, 1.0, 3.0),
        bundle_threshold=r.integer(ng, "bundle_threshold", "new_games.bundle_threshold",
                                   d.bundle_threshold, lo=1, hi=1000),
        new_games_announce_since=since,
        free_games_repeat_after_days=r.integer(fg, "repeat_after_days",
                                               "free_games.repeat_after_days",
                                               d.free_games_repeat_after_days, lo=1, hi=3650),
        free_games_skip_owned=r.boolean(fg, "skip_owned", "free_games.skip_owned",
                                        d.free_games_skip_owned),
        free_games_free_weekends=r.boolean(fg, "free_weekends", "free_games.free_weekends",
                                           d.free_games_free_weekends),
        owned_answer_store_links=r.boolean(owned, "answer_store_links",
                                           "owned.answer_store_links",
                                           d.owned_answer_store_links),
        new_games_digest=r.boolean(ng, "digest", "new_games.digest", d.new_games_digest),
    )


def _data_dir(r: Reader, data: Mapping[str, Any], path: Path) -> Path:
    """`data_dir`, absolute (relative to the config file's folder); checks it can be written."""
    raw_dir = data.get("data_dir", "data")
    if not isinstance(raw_dir, str) or not raw_dir:
        r.fail("data_dir", raw_dir, "use a folder path, e.g. \"data\" (relative to the config file)")
        raw_dir = "data"
    data_dir = (path.parent / Path(raw_dir).expanduser()).absolute()
    problem = _data_dir_problem(data_dir)
    if problem:
        r.fail("data_dir", raw_dir, f"{problem}; point data_dir at a folder the bot's user "
               "may create and write (e.g. \"data\", relative to the config file)")
    return data_dir


def _data_dir_problem(data_dir: Path) -> str | None:
    """What stops the bot from creating or writing `data_dir`, or None.

    A missing folder is probed by creating (and removing) a temporary folder in its nearest
    existing parent: permission bits say nothing for root or on /proc and read-only mounts.
    """
    if data_dir.exists():
        if not data_dir.is_dir():
            return f"{data_dir} is a file, not a folder"
        if not os.access(data_dir, os.W_OK | os.X_OK):
            return f"the bot's user cannot write {data_dir}; give it write access"
        return None
    parent = next((p for p in data_dir.parents if p.exists()), None)
    if parent is None:
        return f"no part of {data_dir} exists"
    if not parent.is_dir():
        return f"{parent} is a file, so no folder can be made under it"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".familybot-probe-", dir=parent))
    except OSError as exc:
        return (f"{data_dir} cannot be created: making a folder in {parent} failed "
                f"({exc.strerror or exc})")
    return None


def _logging(r: Reader, data: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(root level, logger name -> level) of `[logging]`."""
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
    return log_level, log_levels


def _upstreams(r: Reader, data: Mapping[str, Any]) -> dict[str, str]:
    up = r.table(data, "upstream", set(DEFAULT_UPSTREAMS))
    upstreams = dict(DEFAULT_UPSTREAMS)
    for k, v in up.items():
        if k in DEFAULT_UPSTREAMS and (url := r.url(v, f"upstream.{k}")) is not None:
            upstreams[k] = url
    return upstreams


__all__ = ["load_config"]
