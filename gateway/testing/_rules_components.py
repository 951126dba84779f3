"""What Discord accepts in a message's `components` (legacy action rows, buttons, selects).

Upstream: discord-api-docs developers/components/reference.mdx ("Action Row", "Button",
"String Select", "Component Types"), OpenAPI `ActionRowComponentForMessageRequest`,
`ButtonComponentForMessageRequest`, `StringSelectComponentForMessageRequest`.
"""

from __future__ import annotations

from typing import Any, Final

from gateway.testing._form import FormErrors

# Action Row: "up to 5 ... in a message" (without IS_COMPONENTS_V2); "up to 5 buttons or
# a single select component". With IS_COMPONENTS_V2: up to 40 components in total.
ROWS_MAX: Final = 5
BUTTONS_PER_ROW_MAX: Final = 5
V2_TOTAL_MAX: Final = 40
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
SELECT_TYPES: Final = frozenset({3, 5, 6, 7, 8})
# Component Types usable only with the IS_COMPONENTS_V2 flag.
V2_TYPES: Final = frozenset({9, 10, 11, 12, 13, 14, 17})
LINK_STYLE, PREMIUM_STYLE = 5, 6
CUSTOM_ID_MAX: Final = 100  # Button / Select: custom_id max 100 characters
LABEL_MAX: Final = 80  # Button: label max 80 characters
URL_MAX: Final = 512  # Button: url max 512 characters
PLACEHOLDER_MAX: Final = 150  # String Select: placeholder max 150
OPTIONS_MAX: Final = 25  # String Select: options max 25
_IS_COMPONENTS_V2: Final = 1 << 15


def check_components(errors: FormErrors, components: Any, flags: int) -> None:
    """Add a problem to `errors` for every component rule `components` breaks.

    Args: components: the message's `components` value (None = absent); flags: message flags.
    """
    if components is None:
        return
    if not isinstance(components, list):
        errors.add(("components",), "LIST_TYPE_CONVERT", "Must be an array.")
        return
    v2 = bool(flags & _IS_COMPONENTS_V2)
    errors.max_length(("components",), components, V2_TOTAL_MAX if v2 else ROWS_MAX)
    custom_ids: set[str] = set()
    for i, row in enumerate(components):
        at = ("components", i)
        kind = row.get("type") if isinstance(row, dict) else None
        if kind in V2_TYPES and not v2:
            errors.add((*at, "type"), "COMPONENT_LAYOUT_INVALID",
                       f"Component type {kind} needs the IS_COMPONENTS_V2 message flag.")
            continue
        if kind != ACTION_ROW:
            if not v2:
                errors.add((*at, "type"), "COMPONENT_LAYOUT_INVALID",
                           "Top-level components must be action rows (type 1).")
            continue
        children = row.get("components")
        if not isinstance(children, list) or not children:
            errors.add((*at, "components"), "BASE_TYPE_BAD_LENGTH",
                       f"Must be between 1 and {BUTTONS_PER_ROW_MAX} in length.")
            continue
        errors.max_length((*at, "components"), children, BUTTONS_PER_ROW_MAX)
        kinds = [c.get("type") if isinstance(c, dict) else None for c in children]
        if any(k in SELECT_TYPES for k in kinds) and len(children) > 1:
            errors.add((*at, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                       "A select menu must be alone in its action row.")
        for j, child in enumerate(children):
            _check_child(errors, (*at, "components", j), child, custom_ids)


def _check_child(errors: FormErrors, at: tuple, child: Any, custom_ids: set[str]) -> None:
    if not isinstance(child, dict):
        errors.add(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    kind = child.get("type")
    if kind == BUTTON:
        style = child.get("style")
        if style not in range(1, 7):
            errors.add((*at, "style"), "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4, 5, 6).")
        errors.max_length((*at, "label"), child.get("label"), LABEL_MAX)
        if style == LINK_STYLE:  # Button: link buttons need url and cannot have custom_id
            if not child.get("url"):
                errors.add((*at, "url"), "BASE_TYPE_REQUIRED", "This field is required")
            errors.max_length((*at, "url"), child.get("url"), URL_MAX)
            if child.get("custom_id") is not None:
                errors.add((*at, "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                           "A link button cannot have a custom_id.")
            return
        if style == PREMIUM_STYLE:
            if not child.get("sku_id"):
                errors.add((*at, "sku_id"), "BASE_TYPE_REQUIRED", "This field is required")
            return
        if not child.get("label") and not child.get("emoji"):
            errors.add((*at, "label"), "BASE_TYPE_REQUIRED", "A button needs a label or an emoji.")
    elif kind in SELECT_TYPES:
        errors.max_length((*at, "placeholder"), child.get("placeholder"), PLACEHOLDER_MAX)
        if kind == STRING_SELECT:
            options = child.get("options")
            if not isinstance(options, list) or not 1 <= len(options) <= OPTIONS_MAX:
                errors.add((*at, "options"), "BASE_TYPE_BAD_LENGTH",
                           f"Must be between 1 and {OPTIONS_MAX} in length.")
            for k, opt in enumerate(options or ()):
                errors.length_between((*at, "options", k, "label"), opt.get("label"), 1, 100)
                errors.length_between((*at, "options", k, "value"), opt.get("value"), 1, 100)
        low, high = child.get("min_values", 1), child.get("max_values", 1)
        if not (0 <= low <= 25 and 1 <= high <= 25 and low <= high):
            errors.add((*at, "min_values"), "BASE_TYPE_BAD_LENGTH",
                       "min_values 0-25 and max_values 1-25, min <= max.")
    else:
        errors.add((*at, "type"), "COMPONENT_LAYOUT_INVALID",
                   f"Component type {kind} cannot go in an action row.")
        return
    custom_id = child.get("custom_id")
    errors.length_between((*at, "custom_id"), custom_id, 1, CUSTOM_ID_MAX)
    if isinstance(custom_id, str):
        if custom_id in custom_ids:  # Component Object: custom_id unique per message
            errors.add((*at, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED",
                       "Component custom id cannot be duplicated")
        custom_ids.add(custom_id)
