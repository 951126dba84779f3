"""What Discord accepts when application commands are registered (bulk overwrite).

Upstream: discord-api-docs developers/interactions/application-commands.mdx
("Application Command Naming", "Application Command Option Structure", "Registering a
Command": limits), OpenAPI `ApplicationCommandUpdateRequest` and the
`ApplicationCommand*Option` schemas. `check_commands` raises `Rejected` (400 / 50035) with
the errors keyed by command index, e.g. `{"0": {"options": {"1": {"required": ...}}}}`.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final

from gateway.testing._form import FormErrors

NAME_MAX: Final = 32
DESCRIPTION_MAX: Final = 100
OPTIONS_MAX: Final = 25
CHOICES_MAX: Final = 25
CHOICE_NAME_MAX: Final = 100
CHOICE_STRING_MAX: Final = 100
STRING_LENGTH_MAX: Final = 6000  # min_length / max_length range
TOTAL_CHARS_MAX: Final = 8000  # all names, descriptions and choices of one command
#: Registering a Command: per app (and per guild) 100 CHAT_INPUT, 15 USER, 15 MESSAGE.
PER_TYPE_MAX: Final = {1: 100, 2: 15, 3: 15, 4: 1}
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, NUMBER = 3, 4, 10
INTEGER_RANGE: Final = 2 ** 53 - 1  # Option Type: INTEGER "any integer between -2^53+1 and 2^53-1"
CONTEXTS: Final = frozenset({0, 1, 2})  # Interaction Context Types
INTEGRATION_TYPES: Final = frozenset({0, 1})  # Application Integration Types


def valid_name(name: object, *, lowercase: bool = True) -> bool:
    """Application Command Naming: `^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$`, and
    for CHAT_INPUT lowercase where a lowercase form exists."""
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX:
        return False
    for ch in name:
        ok = (ch in "-_'" or unicodedata.category(ch)[0] in "LN"
              or 0x0900 <= ord(ch) <= 0x097F or 0x0E00 <= ord(ch) <= 0x0E7F)
        if not ok or (lowercase and ch.lower() != ch):
            return False
    return True


def check_commands(body: Any) -> None:
    """Validate a bulk-overwrite body (a list of commands) as Discord does.

    Raises: Rejected (400 / 50035) naming each bad field by command index.
    """
    errors = FormErrors()
    if not isinstance(body, list):
        errors.add((), "LIST_TYPE_CONVERT", "Must be an array.")
        errors.raise_if_any()
        return
    per_type: dict[int, int] = {}
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(body):
        if not isinstance(command, dict):
            errors.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        kind = int(command.get("type") or 1)
        per_type[kind] = per_type.get(kind, 0) + 1
        key = (kind, str(command.get("name")))
        if key in seen:  # Application Command Naming: names unique per type
            errors.add((i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME",
                       f"Application command names must be unique: {key[1]!r}")
        seen.add(key)
        _check_command(errors, (i,), command, kind)
    for kind, count in per_type.items():
        if count > PER_TYPE_MAX.get(kind, 0):
            errors.add((), "APPLICATION_COMMAND_TOO_MANY",
                       f"{count} commands of type {kind}; the max is {PER_TYPE_MAX.get(kind, 0)}")
    errors.raise_if_any()


def _check_command(errors: FormErrors, at: tuple, command: dict, kind: int) -> None:
    name = command.get("name")
    if not valid_name(name, lowercase=kind == 1):
        errors.add((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    description = command.get("description")
    if kind == 1:  # CHAT_INPUT: description 1-100
        errors.length_between((*at, "description"), description, 1, DESCRIPTION_MAX)
    elif description:  # USER / MESSAGE: "empty string"
        errors.add((*at, "description"), "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED",
                   "USER and MESSAGE commands must have an empty description.")
    for key, allowed in (("contexts", CONTEXTS), ("integration_types", INTEGRATION_TYPES)):
        values = command.get(key)
        for j, value in enumerate(values or ()):
            if value not in allowed:
                errors.add((*at, key, j), "BASE_TYPE_CHOICES",
                           f"Value must be one of {sorted(allowed)}.")
    perms = command.get("default_member_permissions")
    if perms is not None and not (isinstance(perms, int) and perms >= 0
                                  or isinstance(perms, str) and perms.isdigit()):
        errors.add((*at, "default_member_permissions"), "NUMBER_TYPE_COERCE",
                   f"Value \"{perms}\" is not int.")
    options = command.get("options") or []
    if options and kind != 1:
        errors.add((*at, "options"), "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED",
                   "Only CHAT_INPUT commands have options.")
    total = _check_options(errors, at, options, parent=0)
    total += len(name or "") + len(description or "")
    if total > TOTAL_CHARS_MAX:
        errors.add(at, "APPLICATION_COMMAND_TOO_LARGE",
                   f"Command exceeds maximum size ({TOTAL_CHARS_MAX})")


def _check_options(errors: FormErrors, at: tuple, options: Any, *, parent: int) -> int:
    """Check one level of options; returns the characters they add to the 8000 total.

    Args: parent: 0 for the command itself, else the option type holding these options.
    """
    if not isinstance(options, list):
        errors.add((*at, "options"), "LIST_TYPE_CONVERT", "Must be an array.")
        return 0
    errors.max_length((*at, "options"), options, OPTIONS_MAX)
    total, seen_optional, names = 0, False, set()
    for j, opt in enumerate(options):
        here = (*at, "options", j)
        if not isinstance(opt, dict):
            errors.add(here, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        kind = opt.get("type")
        if kind not in range(1, 12):
            errors.add((*here, "type"), "BASE_TYPE_CHOICES", "Value must be one of 1-11.")
            continue
        name = opt.get("name")
        if not valid_name(name):
            errors.add((*here, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid")
        elif name in names:
            errors.add((*here, "name"), "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                       f"Option name {name!r} is already used")
        names.add(name)
        errors.length_between((*here, "description"), opt.get("description"), 1, DESCRIPTION_MAX)
        total += len(name or "") + len(opt.get("description") or "")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            # Subcommands and Subcommand Groups: groups hold subcommands, subcommands hold
            # plain options; nothing nests deeper.
            if parent == SUB_COMMAND or (parent == SUB_COMMAND_GROUP and kind != SUB_COMMAND):
                errors.add((*here, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                           "Subcommands cannot nest this deep.")
            total += _check_options(errors, here, opt.get("options") or [], parent=kind)
            continue
        if parent == SUB_COMMAND_GROUP:
            errors.add((*here, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                       "A subcommand group holds only subcommands.")
        # Option Structure: "Required options must be listed before optional options".
        if opt.get("required"):
            if seen_optional:
                errors.add((*here, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                           "Required options must be placed before non-required options")
        else:
            seen_optional = True
        total += _check_choices(errors, here, opt, kind)
        if kind == STRING:
            for key in ("min_length", "max_length"):
                value = opt.get(key)
                if value is not None and not (isinstance(value, int)
                                              and (0 if key == "min_length" else 1) <= value
                                              <= STRING_LENGTH_MAX):
                    errors.add((*here, key), "NUMBER_TYPE_MAX",
                               f"{key} must be between 0 and {STRING_LENGTH_MAX}.")
        elif "min_length" in opt or "max_length" in opt:
            errors.add((*here, "min_length"), "APPLICATION_COMMAND_OPTION_INVALID",
                       "min_length/max_length are for STRING options only.")
        if kind not in (INTEGER, NUMBER) and ("min_value" in opt or "max_value" in opt):
            errors.add((*here, "min_value"), "APPLICATION_COMMAND_OPTION_INVALID",
                       "min_value/max_value are for INTEGER and NUMBER options only.")
        low, high = opt.get("min_value"), opt.get("max_value")
        if low is not None and high is not None and low > high:
            errors.add((*here, "min_value"), "NUMBER_TYPE_MAX", "min_value is above max_value.")
    return total


def _check_choices(errors: FormErrors, here: tuple, opt: dict, kind: int) -> int:
    choices = opt.get("choices")
    if opt.get("autocomplete"):
        if kind not in (STRING, INTEGER, NUMBER):
            errors.add((*here, "autocomplete"), "APPLICATION_COMMAND_OPTION_INVALID",
                       "Only STRING, INTEGER and NUMBER options support autocomplete.")
        if choices:  # Option Structure: autocomplete "may not be set to true if choices are present"
            errors.add((*here, "autocomplete"), "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
                       "Autocomplete cannot be used with choices.")
    if choices is None:
        return 0
    if kind not in (STRING, INTEGER, NUMBER):
        errors.add((*here, "choices"), "APPLICATION_COMMAND_OPTION_INVALID",
                   "Only STRING, INTEGER and NUMBER options can have choices.")
    errors.max_length((*here, "choices"), choices, CHOICES_MAX)
    total = 0
    for k, choice in enumerate(choices):
        at = (*here, "choices", k)
        errors.length_between((*at, "name"), choice.get("name"), 1, CHOICE_NAME_MAX)
        value = choice.get("value")
        if kind == STRING:
            errors.length_between((*at, "value"), value, 1, CHOICE_STRING_MAX)
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or (
                kind == INTEGER and (not isinstance(value, int) or abs(value) > INTEGER_RANGE)):
            errors.add((*at, "value"), "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not a number.")
        total += len(str(choice.get("name") or "")) + len(str(value))
    return total
