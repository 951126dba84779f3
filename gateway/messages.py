"""Message text and embeds within Discord's limits; markdown escaping; no mentions by default.

Discord rejects a whole message (400 / 50035) when one embed field is a character too long,
so everything here *fits* text instead of failing: `Embed.to_dict()` truncates each field
with an ellipsis, `pack_embeds` groups embeds into messages of at most 10 embeds and 6000
characters, and `split_lines` splits long lists into several messages at line boundaries.
Every piece of outside text the bot echoes (game and persona names, feed titles, user input
shown back in errors) goes through `escape_text`, the one escaping function of the project:
markdown, mention syntax, bare links and control characters are all defused there.

Upstream: discord-api-docs developers/resources/message.mdx ("Embed Limits", "Create
Message", "Allowed Mentions Object").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

# Discord's limits (inclusive, in characters).
CONTENT_MAX: Final = 2000
EMBEDS_PER_MESSAGE_MAX: Final = 10
EMBED_TITLE_MAX: Final = 256
EMBED_DESCRIPTION_MAX: Final = 4096
EMBED_FIELDS_MAX: Final = 25
EMBED_FIELD_NAME_MAX: Final = 256
EMBED_FIELD_VALUE_MAX: Final = 1024
EMBED_FOOTER_MAX: Final = 2048
EMBED_AUTHOR_MAX: Final = 256
#: Sum of title, description, field names and values, footer and author over ALL embeds.
EMBEDS_TOTAL_MAX: Final = 6000

#: allowed_mentions that pings nobody (the default for everything this bot posts).
NO_MENTIONS: Final[dict[str, list]] = {"parse": []}

ELLIPSIS: Final = "…"
ZWSP: Final = "\u200b"
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()])")
_LINE_START = re.compile(r"^(\s*)(?:([#>+-])|(\d+)\.)")  # heading, quote, list marker first
# Control characters (C0, DEL, C1), line/paragraph separators and bidi overrides/isolates
# (U+202A-202E, U+2066-2069: a name could reverse the rest of the line).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
#: `<` opens user, role, channel, slash-command, emoji, timestamp and <https://> syntax.
_ANGLE = re.compile(r"<")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
#: "://" makes Discord auto-link bare URLs; a ZWSP after the colon stops that.
_AUTOLINK = re.compile(r"(\w):(//)")


def escape_text(text: object) -> str:
    """THE escaping of outside text the bot echoes (game, persona, channel and member names,
    feed titles, what a user typed shown back in an error), for any place a message shows it:
    content, embed titles, descriptions, field names and values, footers, author names.

    - markdown: ``\\ * _ ~ ` | [ ] ( )`` are backslash-escaped, and a heading, quote or list
      marker at the start (``#``, ``>``, ``-``, ``+``, ``1.``) too, so nothing renders bold,
      as a spoiler, a code block or a masked link;
    - mentions: ``<`` gets a zero-width space after it, so ``<@id>``, ``<@&role>``,
      ``<#channel>``, ``</command:id>``, ``<:emoji:id>`` and ``<t:...>`` stay text; ``@everyone``
      and ``@here`` are broken the same way (allowed_mentions is empty anyway: this is what
      the reader *sees*), and ``https://`` is broken so a name cannot become a link;
    - control characters, newlines, tabs and bidi overrides become one space, so a name
      cannot start a new list line or reverse the text after it.

    Args: text: any value; non-strings go through str() first.
    Returns: text safe to embed in Discord markdown; at most twice as long as the input
        (callers truncate to the field's limit afterwards, e.g. `Embed.to_dict`).
    Upstream: Discord "Message Formatting" and "Markdown" docs (support article 210298617).
    """
    flat = _CONTROL.sub(" ", str(text))
    escaped = _LINE_START.sub(_escape_line_start, _MARKDOWN.sub(r"\\\1", flat))
    escaped = _ANGLE.sub("<" + ZWSP, escaped)
    escaped = _AUTOLINK.sub(r"\1:" + ZWSP + r"\2", escaped)
    return _MASS_MENTION.sub(lambda m: "@" + ZWSP + m.group(1), escaped)


def _escape_line_start(m: re.Match[str]) -> str:
    if m.group(2):
        return f"{m.group(1)}\\{m.group(2)}"
    return f"{m.group(1)}{m.group(3)}\\."  # "1." -> "1\." (a numbered list item)


#: The old name of `escape_text` (the same function; kept for callers written before it).
escape_markdown = escape_text


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when it was cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def split_lines(lines: Iterable[str], limit: int = CONTENT_MAX) -> list[str]:
    """Join lines into as few message bodies as possible, each at most `limit` chars.

    Args: lines: text lines (without trailing newlines); limit: max chars per message.
    Returns: message bodies; a break falls only between lines, except a single line longer
        than `limit`, which is truncated with "…".
    """
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line if len(line) <= limit else truncate(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


@dataclass(frozen=True, slots=True)
class EmbedField:
    """One embed field: name (<= 256), value (<= 1024), inline."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Embed:
    """A rich embed; `to_dict()` fits every part to Discord's limits.

    Attributes: title, description, url, color (0xRRGGBB), fields (first 25 kept),
        footer, author_name, thumbnail_url, image_url, timestamp (ISO 8601).
    """

    title: str | None = None
    description: str | None = None
    url: str | None = None
    color: int | None = None
    fields: tuple[EmbedField, ...] = field(default=())
    footer: str | None = None
    author_name: str | None = None
    thumbnail_url: str | None = None
    image_url: str | None = None
    timestamp: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON embed with every text part truncated to its limit, and the whole within
        the 6000-character total (Embed Limits): when the parts add up to more, the
        description is cut first, then trailing fields are dropped. Parts that are blank
        after trimming are left out (a footer or author needs non-empty text)."""
        out: dict[str, Any] = {"type": "rich"}
        title = truncate(self.title or "", EMBED_TITLE_MAX)
        if title:
            out["title"] = title
        if self.url:
            out["url"] = self.url
        if self.color is not None:
            out["color"] = self.color
        fields = [{"name": truncate(f.name, EMBED_FIELD_NAME_MAX) or ZWSP,
                   "value": truncate(f.value, EMBED_FIELD_VALUE_MAX) or ZWSP,
                   "inline": f.inline} for f in self.fields[:EMBED_FIELDS_MAX]]
        footer = truncate(self.footer or "", EMBED_FOOTER_MAX)
        author = truncate(self.author_name or "", EMBED_AUTHOR_MAX)
        fixed = len(title) + len(footer) + len(author)
        while fields and fixed + sum(len(f["name"]) + len(f["value"]) for f in fields) \
                > EMBEDS_TOTAL_MAX:
            fields.pop()  # only when title + footer + author + fields alone are too long
        room = EMBEDS_TOTAL_MAX - fixed - sum(len(f["name"]) + len(f["value"]) for f in fields)
        description = truncate(self.description or "", min(EMBED_DESCRIPTION_MAX, room)) \
            if room > 0 else ""
        if description:
            out["description"] = description
        if fields:
            out["fields"] = fields
        if footer:
            out["footer"] = {"text": footer}
        if author:
            out["author"] = {"name": author}
        if self.thumbnail_url:
            out["thumbnail"] = {"url": self.thumbnail_url}
        if self.image_url:
            out["image"] = {"url": self.image_url}
        if self.timestamp:
            out["timestamp"] = self.timestamp
        return out


def embed_length(embed: dict[str, Any]) -> int:
    """Characters of one JSON embed that count toward the 6000 total."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += sum(len(f.get("name", "")) + len(f.get("value", "")) for f in embed.get("fields", ()))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    return total


def pack_embeds(embeds: Sequence[Embed | dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group embeds into messages of <= 10 embeds and <= 6000 characters each.

    Args: embeds: Embed objects or JSON dicts (dicts are sent as they are).
    Returns: one list of JSON embeds per message, in order.
    Raises: ValueError if a single embed is over 6000 characters (only a raw dict can be).
    """
    messages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for item in embeds:
        data = item.to_dict() if isinstance(item, Embed) else item
        length = embed_length(data)
        if length > EMBEDS_TOTAL_MAX:
            raise ValueError(f"an embed is {length} characters long, but the max is "
                             f"{EMBEDS_TOTAL_MAX}; build it with gateway.messages.Embed")
        if current and (len(current) == EMBEDS_PER_MESSAGE_MAX or size + length > EMBEDS_TOTAL_MAX):
            messages.append(current)
            current, size = [], 0
        current.append(data)
        size += length
    if current:
        messages.append(current)
    return messages


def check_content(content: str | None) -> None:
    """Raise ValueError naming the limit when `content` is over 2000 characters."""
    if content is not None and len(content) > CONTENT_MAX:
        raise ValueError(f"the message content is {len(content)} characters long, but the max "
                         f"is {CONTENT_MAX}; split it with gateway.messages.split_lines")
