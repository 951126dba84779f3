"""What Discord accepts in a message body (create, edit, interaction reply, follow-up).

Each rule names the doc section it comes from (discord-api-docs developers/resources/
message.mdx unless said otherwise) and the OpenAPI schema (`MessageCreateRequest`,
`RichEmbed`, `MessageAllowedMentionsRequest`, `MessageAttachmentRequest`).
`check_message` raises `Rejected`: 400 / 50035 with the field tree, or 400 / 50006 for a
message with nothing to show.
"""

from __future__ import annotations

import re
from typing import Any, Final

from gateway.testing._form import FormErrors, Rejected
from gateway.testing._rules_components import check_components

# Create Message: "content: up to 2000 characters"; "embeds: up to 10 rich embeds".
CONTENT_MAX: Final = 2000
EMBEDS_MAX: Final = 10
# Embed Limits table.
EMBED_LIMITS: Final = {"title": 256, "description": 4096, "fields": 25, "field.name": 256,
                       "field.value": 1024, "footer.text": 2048, "author.name": 256}
EMBEDS_TOTAL_MAX: Final = 6000  # Embed Limits: "combined sum ... must not exceed 6000"
# Create Message: "nonce: ... up to 25 characters".
NONCE_MAX: Final = 25
# Allowed Mentions Object: parse types; users/roles "max size of 100".
MENTION_TYPES: Final = frozenset({"roles", "users", "everyone"})
MENTION_IDS_MAX: Final = 100
# Create Message: "attachments: ... up to 10"; Attachment: filename/description <= 1024.
ATTACHMENTS_MAX: Final = 10
# Message flags (Message Object > Message Flags) a bot may set when sending.
IS_COMPONENTS_V2: Final = 1 << 15
_SNOWFLAKE: Final = re.compile(r"^(0|[1-9][0-9]*)$")  # OpenAPI SnowflakeType


def check_message(body: Any, *, edit: bool = False, files: int = 0) -> None:
    """Validate a message body as Discord does; returns None when it would be accepted.

    Args: body: the JSON (or payload_json) object; edit: PATCH semantics (nothing is
        required, null clears a field); files: how many `files[n]` parts were uploaded.
    Raises: Rejected (400 / 50035 with field paths, or 400 / 50006 "Cannot send an empty
        message" when a new message has no content, embeds, components, stickers, poll or file).
    """
    if not isinstance(body, dict):
        raise Rejected(400, 50109, "The request body contains invalid JSON.")
    errors = FormErrors()
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            errors.add(("content",), "STRING_TYPE_CONVERT", "Could not interpret value as string.")
        errors.max_length(("content",), content, CONTENT_MAX)
    _check_embeds(errors, body.get("embeds"))
    _check_nonce(errors, body.get("nonce"))
    _check_allowed_mentions(errors, body.get("allowed_mentions"))
    check_components(errors, body.get("components"), int(body.get("flags") or 0))
    _check_attachments(errors, body.get("attachments"), files)
    errors.raise_if_any()
    if not edit and not (content or body.get("embeds") or body.get("components")
                         or body.get("sticker_ids") or body.get("poll") or files):
        raise Rejected(400, 50006, "Cannot send an empty message")


def embed_length(embed: dict[str, Any]) -> int:
    """Characters of one embed toward the 6000 total (Embed Limits: title, description,
    field names and values, footer text, author name)."""
    fields = embed.get("fields") or ()
    return (len(embed.get("title") or "") + len(embed.get("description") or "")
            + sum(len(f.get("name") or "") + len(f.get("value") or "")
                  for f in fields if isinstance(f, dict))
            + len((embed.get("footer") or {}).get("text") or "")
            + len((embed.get("author") or {}).get("name") or ""))


def _check_embeds(errors: FormErrors, embeds: Any) -> None:
    if embeds is None:
        return
    if not isinstance(embeds, list):
        errors.add(("embeds",), "LIST_TYPE_CONVERT", "Must be an array.")
        return
    errors.max_length(("embeds",), embeds, EMBEDS_MAX)
    total = 0
    for i, embed in enumerate(embeds):
        at = ("embeds", i)
        if not isinstance(embed, dict):
            errors.add(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        for key in ("title", "description"):
            errors.max_length((*at, key), embed.get(key), EMBED_LIMITS[key])
        color = embed.get("color")
        if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
            errors.add((*at, "color"), "NUMBER_TYPE_MAX", "int value should be <= 16777215.")
        fields = embed.get("fields") or []
        errors.max_length((*at, "fields"), fields, EMBED_LIMITS["fields"])
        for j, f in enumerate(fields):
            # Embed Field Structure: name and value are required.
            errors.length_between((*at, "fields", j, "name"), f.get("name"), 1,
                                  EMBED_LIMITS["field.name"])
            errors.length_between((*at, "fields", j, "value"), f.get("value"), 1,
                                  EMBED_LIMITS["field.value"])
        if embed.get("footer") is not None:  # Embed Footer Structure: text required
            errors.length_between((*at, "footer", "text"), embed["footer"].get("text"), 1,
                                  EMBED_LIMITS["footer.text"])
        if embed.get("author") is not None:  # Embed Author Structure: name required
            errors.length_between((*at, "author", "name"), embed["author"].get("name"), 1,
                                  EMBED_LIMITS["author.name"])
        for key in ("url",):
            errors.max_length((*at, key), embed.get(key), 2048)  # OpenAPI RichEmbed.url
        total += embed_length(embed)
    if total > EMBEDS_TOTAL_MAX:
        errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED",
                   f"Embed size exceeds maximum size of {EMBEDS_TOTAL_MAX}")


def _check_nonce(errors: FormErrors, nonce: Any) -> None:
    # Create Message: "nonce: integer or string ... up to 25 characters".
    if nonce is None or isinstance(nonce, int) and not isinstance(nonce, bool):
        return
    if not isinstance(nonce, str):
        errors.add(("nonce",), "BASE_TYPE_CHOICES", "Nonce must be an integer or a string.")
    else:
        errors.max_length(("nonce",), nonce, NONCE_MAX)


def _check_allowed_mentions(errors: FormErrors, mentions: Any) -> None:
    if mentions is None:
        return
    if not isinstance(mentions, dict):
        errors.add(("allowed_mentions",), "DICT_TYPE_CONVERT", "Must be an object.")
        return
    parse = mentions.get("parse") or []
    for i, kind in enumerate(parse):
        if kind not in MENTION_TYPES:
            errors.add(("allowed_mentions", "parse", i), "BASE_TYPE_CHOICES",
                       f"Value must be one of {sorted(MENTION_TYPES)}.")
    for key in ("users", "roles"):
        ids = mentions.get(key)
        if ids is None:
            continue
        errors.max_length(("allowed_mentions", key), ids, MENTION_IDS_MAX)
        for i, value in enumerate(ids):
            if not _SNOWFLAKE.match(str(value)):
                errors.add(("allowed_mentions", key, i), "NUMBER_TYPE_COERCE",
                           f"Value \"{value}\" is not snowflake.")
        # Allowed Mentions Object: "parse: [users]" and a users list are mutually exclusive.
        if ids and key in parse:
            errors.add(("allowed_mentions",), "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                       f"parse:[\"{key}\"] and {key}: [ids] are mutually exclusive.")
    replied = mentions.get("replied_user")
    if replied is not None and not isinstance(replied, bool):
        errors.add(("allowed_mentions", "replied_user"), "BOOLEAN_TYPE_CONVERT",
                   "Must be either true or false.")


def _check_attachments(errors: FormErrors, attachments: Any, files: int) -> None:
    if attachments is None:
        return
    errors.max_length(("attachments",), attachments, ATTACHMENTS_MAX)
    for i, item in enumerate(attachments):
        at = ("attachments", i)
        if not isinstance(item, dict) or "id" not in item:
            errors.add((*at, "id"), "BASE_TYPE_REQUIRED", "This field is required")
            continue
        # OpenAPI MessageAttachmentRequest.id is a SnowflakeType: a string of digits; for a
        # new upload it is the n of the `files[n]` part (Reference > Uploading Files).
        att_id = item["id"]
        if not isinstance(att_id, str) or not _SNOWFLAKE.match(att_id):
            errors.add((*at, "id"), "NUMBER_TYPE_COERCE", f"Value \"{att_id}\" is not snowflake.")
        elif files and int(att_id) >= files and len(att_id) < 17:
            errors.add((*at, "id"), "ATTACHMENT_NOT_FOUND",
                       f"No files[{att_id}] part was uploaded.")
        filename = item.get("filename")
        if filename is not None:
            errors.length_between((*at, "filename"), filename, 1, 1024)
        errors.max_length((*at, "description"), item.get("description"), 1024)
