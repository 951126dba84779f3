"""Reading config.toml: the parsed file and a `Reader` that converts values, collecting errors.

`Reader` is what `familybot_trio.config.load_config` walks the TOML with: each converter
(integer, number, snowflake, steamid, url, table) returns the value or a default and records
a ConfigError naming the file, the dotted key, the bad value and the fix, so one run lists
every problem. It knows TOML and the shapes of ids; `config` knows which keys exist.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from steam.enums import EType
from steam.steamid import SteamID

from familybot_trio.errors import ConfigError
from familybot_trio.ids import SteamID64
from familybot_trio.store.records import Snowflake

#: A Discord snowflake: 64-bit, in practice 17-20 digits since 2015.
SNOWFLAKE_MIN: Final = 10**15


class Reader:
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
                if _SECRET_NAME.search(name) and not (close and _SECRET_NAME.search(close[0])):
                    hint = secret_key_hint(name)
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

    def boolean(self, data: Mapping[str, Any], key: str, dotted: str, default: bool) -> bool:
        """data[key] as a TOML boolean (missing -> default)."""
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(dotted, value, "write true or false without quotes")
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
        if not text.isdigit() or not SNOWFLAKE_MIN <= int(text) < 2**64:
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


#: An unknown key with one of these in its name most likely holds a pasted secret.
_SECRET_NAME: Final = re.compile(r"(?i)token|key|secret|password|cookie")


def secret_key_hint(name: str) -> str:
    """The fix for a secret-looking unknown key `name`: secrets come only from the environment.

    Names the variable (FAMILYBOT_DISCORD_TOKEN, FAMILYBOT_STEAM_API_KEY, FAMILYBOT_ITAD_API_KEY,
    FAMILYBOT_DISCORD_CLIENT_SECRET) or, for a Steam access token or cookie, the command.
    """
    low = name.lower()
    if "cookie" in low or "access" in low or "webapi" in low:
        where = ("are set with `familybot-trio steam login` (or `familybot-trio token set`), "
                 "never in config.toml")
    else:
        var = ("FAMILYBOT_ITAD_API_KEY" if "itad" in low else
               "FAMILYBOT_DISCORD_CLIENT_SECRET" if "secret" in low or "client" in low else
               "FAMILYBOT_STEAM_API_KEY" if "steam" in low or "key" in low else
               "FAMILYBOT_DISCORD_TOKEN" if "discord" in low or "bot" in low or low == "token"
               else "FAMILYBOT_DISCORD_TOKEN, FAMILYBOT_STEAM_API_KEY, FAMILYBOT_ITAD_API_KEY "
               "or FAMILYBOT_DISCORD_CLIENT_SECRET")
        where = f"are read only from the environment ({var}), never from config.toml"
    return (f"secrets {where}: remove this line, and reset that secret (it was "
            "written to a file, so treat it as leaked)")


def load_toml(path: Path) -> dict[str, Any]:
    """Blocking: the parsed TOML file. Raises: ConfigError (missing, unreadable, bad syntax)."""
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


__all__ = ["SNOWFLAKE_MIN", "Reader", "load_toml"]
