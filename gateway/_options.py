"""Typed command options: their JSON for Discord and the parser both command paths share.

A slash command receives typed values (`4` for an integer option); a `!` prefix command
receives text (`"4"`). `Option.parse` accepts both and validates the same way, so both paths
reach the handler with the same `ctx.args`, and a bad value is reported naming the option.

Upstream: discord-api-docs interactions/application-commands.mdx
("Application Command Option Type", "Application Command Option Choice Structure").
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any, Final

from gateway.messages import escape_text

INTEGER_MAX: Final = 2**53 - 1  # Discord's INTEGER range is +-(2^53 - 1)
#: Discord's own cap on a STRING option (max_length 1-6000); our default is far lower: no
#: command of a family bot needs a 6000-character argument, and each character may cost work.
STRING_LENGTH_MAX: Final = 6000
STRING_LENGTH_DEFAULT: Final = 200
_USER_MENTION = re.compile(r"<@!?(\d{15,21})>|(\d{15,21})")
_TRUE: Final = frozenset({"true", "yes", "y", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "n", "off", "0"})


class OptionType(enum.IntEnum):
    """The option types this registry supports (Discord's numbers)."""

    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6


class ArgumentError(ValueError):
    """A command argument was missing or invalid; the message names it and says why."""

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        super().__init__(f"Argument `{option}`: {problem}")


@dataclass(frozen=True, slots=True)
class Option:
    """One command option.

    Attributes: name (1-32 lowercase), description (1-100), type, required, choices
        ((label, value) pairs, <= 25), min_value/max_value (INTEGER), autocomplete (STRING;
        not with choices).
    """

    name: str
    description: str
    type: OptionType = OptionType.STRING
    required: bool = True
    choices: tuple[tuple[str, str | int], ...] = ()
    min_value: int | None = None
    max_value: int | None = None
    autocomplete: bool = False
    max_length: int | None = None

    def __post_init__(self) -> None:
        if len(self.choices) > 25:
            raise ValueError(f"option {self.name!r} has {len(self.choices)} choices; max 25")
        if self.autocomplete and self.choices:
            raise ValueError(f"option {self.name!r}: Discord forbids choices with autocomplete")
        if self.max_length is not None and not 1 <= self.max_length <= STRING_LENGTH_MAX:
            raise ValueError(f"option {self.name!r}: max_length must be 1-{STRING_LENGTH_MAX}")

    def to_dict(self) -> dict[str, Any]:
        """The option JSON for an application command."""
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               "type": int(self.type), "required": self.required}
        if self.choices:
            out["choices"] = [{"name": n, "value": v} for n, v in self.choices]
        if self.min_value is not None:
            out["min_value"] = self.min_value
        if self.max_value is not None:
            out["max_value"] = self.max_value
        if self.autocomplete:
            out["autocomplete"] = True
        if self.max_length is not None and self.type is OptionType.STRING:
            out["max_length"] = self.max_length
        return out

    def usage(self) -> str:
        """`name:<what>` (wrapped in [] when optional)."""
        if self.choices:
            what = "|".join(str(v) for _, v in self.choices)
        elif self.type is OptionType.INTEGER and (self.min_value is not None
                                                  or self.max_value is not None):
            lo = "" if self.min_value is None else self.min_value
            hi = "" if self.max_value is None else self.max_value
            what = f"{lo}-{hi}"
        else:
            what = {OptionType.STRING: "text", OptionType.INTEGER: "number",
                    OptionType.BOOLEAN: "yes|no", OptionType.USER: "@user"}[self.type]
        text = f"{self.name}:<{what}>"
        return text if self.required else f"[{text}]"

    def parse(self, raw: object) -> object:
        """Validate and convert a slash value or prefix text.

        Returns: str, int, bool, int (user id) or None (optional and absent).
        Raises: ArgumentError naming this option.
        """
        if raw is None or raw == "":
            if self.required:
                raise ArgumentError(self.name, "is required")
            return None
        if self.type is OptionType.INTEGER:
            value: object = self._int(raw)
        elif self.type is OptionType.BOOLEAN:
            value = self._bool(raw)
        elif self.type is OptionType.USER:
            found = _USER_MENTION.fullmatch(str(raw).strip())
            if not found:
                raise ArgumentError(self.name, f"{quoted(raw)} is not a user; mention "
                                    "someone (@name) or give a user id")
            value = int(found.group(1) or found.group(2))
        else:
            value = str(raw)
            if self.max_length is not None and len(value) > self.max_length:
                raise ArgumentError(self.name, f"is {len(value)} characters long, but the max "
                                    f"is {self.max_length}")
        if self.choices and value not in [v for _, v in self.choices]:
            allowed = ", ".join(str(v) for _, v in self.choices)
            raise ArgumentError(self.name, f"must be one of {allowed}")
        return value

    def _int(self, raw: object) -> int:
        if isinstance(raw, bool):
            raise ArgumentError(self.name, "must be a whole number")
        try:
            value = int(raw) if isinstance(raw, int) else int(str(raw).strip())
        except ValueError:
            raise ArgumentError(self.name, f"{quoted(raw)} is not a whole number") from None
        lo = -INTEGER_MAX if self.min_value is None else self.min_value
        hi = INTEGER_MAX if self.max_value is None else self.max_value
        if not lo <= value <= hi:
            raise ArgumentError(self.name, f"must be between {lo} and {hi}, got {value}")
        return value

    def _bool(self, raw: object) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ArgumentError(self.name, f"{quoted(raw)} is not yes or no")


def quoted(raw: object, limit: int = 40) -> str:
    """What a user typed, shown back in an error: its first `limit` characters, in quotes,
    through `escape_text` (so `<@&role>` or `**` in it stays literal)."""
    return escape_text(repr(str(raw)[:limit]))


def string(name: str, description: str, *, required: bool = True,
           choices: tuple[tuple[str, str], ...] = (), autocomplete: bool = False,
           max_length: int = STRING_LENGTH_DEFAULT) -> Option:
    """A STRING option of at most `max_length` characters (Discord enforces it on slash
    commands; `parse` on prefix commands). Raises: ValueError for max_length outside 1-6000."""
    return Option(name, description, OptionType.STRING, required, choices,
                  autocomplete=autocomplete, max_length=max_length)


def integer(name: str, description: str, *, required: bool = True, min_value: int | None = None,
            max_value: int | None = None, choices: tuple[tuple[str, int], ...] = ()) -> Option:
    """An INTEGER option with optional bounds (inclusive)."""
    return Option(name, description, OptionType.INTEGER, required, choices, min_value, max_value)


def boolean(name: str, description: str, *, required: bool = True) -> Option:
    """A BOOLEAN option (prefix text: yes/no/true/false/on/off/1/0)."""
    return Option(name, description, OptionType.BOOLEAN, required)


def user(name: str, description: str, *, required: bool = True) -> Option:
    """A USER option; parsed to the user's id (int). Prefix text: <@id> or the id."""
    return Option(name, description, OptionType.USER, required)


def check_command(name: str, description: str, options: Sequence[Option]) -> None:
    if not (1 <= len(name) <= 32) or name != name.lower() or not all(
            ch.isalnum() or ch in "-_'" for ch in name):
        raise ValueError(f"command name {name!r} must be 1-32 lowercase letters, digits, - or _")
    if not 1 <= len(description) <= 100:
        raise ValueError(f"description of /{name} is {len(description)} characters; "
                         "Discord wants 1-100")
    if len(options) > 25:
        raise ValueError(f"/{name} has {len(options)} options; Discord allows 25")
    seen_optional = False
    for option in options:
        if option.required and seen_optional:
            raise ValueError(f"/{name}: required option {option.name!r} must come before "
                             "optional ones")
        seen_optional = seen_optional or not option.required
