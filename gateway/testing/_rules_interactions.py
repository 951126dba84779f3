"""What Discord accepts as an interaction response (POST .../callback).

Upstream: discord-api-docs developers/interactions/receiving-and-responding.mdx
("Interaction Response Structure", "Interaction Callback Type", "Interaction Callback
Data Structure": messages, autocomplete, modal; "Responding to an Interaction": 3 s;
"Followup Messages": tokens valid for 15 minutes), OpenAPI `CreateInteractionResponse*`.
"""

from __future__ import annotations

from typing import Any, Final

from gateway.testing._form import FormErrors, Rejected
from gateway.testing._rules_messages import check_message

#: "Responding to an Interaction": the initial response must come within 3 seconds.
INITIAL_RESPONSE_S: Final = 3.0
#: "Followup Messages": "Interaction tokens are valid for 15 minutes".
TOKEN_VALID_S: Final = 15 * 60.0
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
#: Interaction Callback Type: which responses fit which interaction type. UPDATE_MESSAGE
#: (7) and DEFERRED_UPDATE_MESSAGE (6) are "only valid for component-based interactions";
#: AUTOCOMPLETE_RESULT (8) answers autocomplete and nothing else answers it; MODAL (9) is
#: "not available for MODAL_SUBMIT and PING interactions".
VALID_CALLBACKS: Final = {APPLICATION_COMMAND: frozenset({4, 5, 9, 12}),
                          MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9}),
                          AUTOCOMPLETE: frozenset({8}),
                          MODAL_SUBMIT: frozenset({4, 5, 6, 7})}
CHOICES_MAX: Final = 25
EPHEMERAL: Final = 64


def check_callback(body: Any, interaction_type: int) -> None:
    """Validate an interaction response for an interaction of `interaction_type`.

    Raises: Rejected: 400 / 50035 naming `type` or the bad `data` field, 400 / 50006 for
        an empty type 4 message.
    """
    if not isinstance(body, dict):
        raise Rejected(400, 50109, "The request body contains invalid JSON.")
    errors = FormErrors()
    kind = body.get("type")
    if kind not in VALID_CALLBACKS.get(interaction_type, frozenset()):
        errors.add(("type",), "INTERACTION_RESPONSE_TYPE_INVALID",
                   f"Interaction callback type {kind} is not valid for interaction type "
                   f"{interaction_type}.")
        errors.raise_if_any()
    data = body.get("data")
    if kind in (4, 7):
        try:
            check_message(data if data is not None else {}, edit=kind == 7)
        except Rejected as exc:
            if exc.errors is None:
                raise
            raise Rejected(exc.status, exc.code, exc.message, {"data": exc.errors}) from None
    elif kind == 5:
        flags = int((data or {}).get("flags") or 0)
        if flags & ~EPHEMERAL:  # Deferred: "only flag allowed is EPHEMERAL"
            errors.add(("data", "flags"), "INTERACTION_RESPONSE_FLAGS_INVALID",
                       "Only the EPHEMERAL flag may be set on a deferred response.")
    elif kind == 8:
        choices = (data or {}).get("choices")
        if not isinstance(choices, list):
            errors.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
        else:
            errors.max_length(("data", "choices"), choices, CHOICES_MAX)
            for i, choice in enumerate(choices):
                errors.length_between(("data", "choices", i, "name"), choice.get("name"), 1, 100)
                value = choice.get("value")
                if isinstance(value, str):
                    errors.max_length(("data", "choices", i, "value"), value, 100)
    elif kind == 9:
        data = data or {}
        errors.length_between(("data", "custom_id"), data.get("custom_id"), 1, 100)
        errors.length_between(("data", "title"), data.get("title"), 1, 45)
        comps = data.get("components")
        if not isinstance(comps, list) or not 1 <= len(comps) <= 5:
            errors.add(("data", "components"), "BASE_TYPE_BAD_LENGTH",
                       "Must be between 1 and 5 in length.")
    errors.raise_if_any()
