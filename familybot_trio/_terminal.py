"""Discord messages drawn for a terminal: what a person sees in the Discord client, as text.

Used by `familybot-trio demo`. Discord's client renders markup that a terminal would show
raw; `plain` turns it into readable text (Discord docs, "Message Formatting" and "Markdown
Text 101"):

| markup                         | shown as                                   |
| ------------------------------ | ------------------------------------------ |
| `<t:1735689600:f>` (t T d D f F R) | "1 January 2025 00:00 UTC" (style's form) |
| `[text](<url>)`, `[text](url)` | "text (url)"                               |
| `<https://...>`                | the URL                                    |
| `<@id>`, `<#id>`, `<@&id>`     | "@name" (from `names`), "#channel", "@role" |
| `<:name:id>`                   | ":name:"                                   |
| `**b**` `*i*` `_i_` `__u__` `~~s~~` `||spoiler||` `` `code` `` | the text alone |
| `# `, `## `, `-# `, `> `, `>>> ` at a line start | dropped                   |
| `\\*` (an escaped character)   | the character                              |

`render_message` prints one message as a card; a reply to a slash command is drawn under
the command that caused it (`reply_to`), not under a channel.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Mapping
from typing import Any, Final, TextIO

__all__ = ["WIDTH", "plain", "render_message", "timestamp_text"]

WIDTH: Final = 78
_ESCAPED = re.compile(r"\\([\\*_~`|\[\]()<>#@:.\-!>])")
_CODE_BLOCK = re.compile(r"```(?:[a-zA-Z0-9_+-]*\n)?(.*?)```", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[((?:[^\[\]\n])+)\]\(<?(https?://[^\s<>()]+)>?\)")
_ANGLE_URL = re.compile(r"<(https?://[^\s<>]+)>")
_TIMESTAMP = re.compile(r"<t:(-?\d{1,13})(?::([tTdDfFR]))?>")
_USER = re.compile(r"<@!?(\d{15,21})>")
_ROLE = re.compile(r"<@&(\d{15,21})>")
_CHANNEL = re.compile(r"<#(\d{15,21})>")
_EMOJI = re.compile(r"<a?:(\w{2,32}):\d{15,21}>")
_PAIRS = (re.compile(r"\*\*(.+?)\*\*", re.S), re.compile(r"__(.+?)__", re.S),
          re.compile(r"~~(.+?)~~", re.S), re.compile(r"\|\|(.+?)\|\|", re.S),
          re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"),
          re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])"))
_LINE_PREFIX = re.compile(r"^(?:>>> |> |#{1,3} |-# )", re.M)
#: Stand-ins for escaped characters while the markup is undone (Unicode private use area).
_PRIVATE_BASE: Final = 0xF0000


def timestamp_text(unix_s: int, style: str | None, now: dt.datetime) -> str:
    """A Discord timestamp as its client shows it, in UTC (style None = "f").

    Args: unix_s: seconds; style: t, T, d, D, f, F or R (relative to `now`, aware UTC).
    """
    when = dt.datetime.fromtimestamp(unix_s, dt.UTC)
    day = f"{when.day} {when:%B %Y}"
    match style or "f":
        case "t":
            return f"{when:%H:%M} UTC"
        case "T":
            return f"{when:%H:%M:%S} UTC"
        case "d":
            return f"{when:%Y-%m-%d}"
        case "D":
            return day
        case "F":
            return f"{when:%A}, {day} {when:%H:%M} UTC"
        case "R":
            return _relative(when - now)
        case _:
            return f"{day} {when:%H:%M} UTC"


def _relative(delta: dt.timedelta) -> str:
    seconds = delta.total_seconds()
    span = abs(seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400),
                       ("hour", 3600), ("minute", 60)):
        if span >= size:
            n = round(span / size)
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"in {text}" if seconds > 0 else f"{text} ago"
    return "now"


def plain(text: str, *, now: dt.datetime | None = None,
          names: Mapping[int, str] | None = None,
          channels: Mapping[int, str] | None = None) -> str:
    """`text` with Discord's markup rendered as plain text (see the module table).

    Args: now: for relative timestamps (default: the current UTC time); names: user id ->
        display name for mentions; channels: channel id -> name.
    """
    now = now or dt.datetime.now(dt.UTC)
    names, channels = names or {}, channels or {}
    escaped: list[str] = []

    def hide(m: re.Match[str]) -> str:
        escaped.append(m.group(1))
        return chr(_PRIVATE_BASE + len(escaped) - 1)

    out = _ESCAPED.sub(hide, text)
    out = _CODE_BLOCK.sub(lambda m: m.group(1).rstrip("\n"), out)
    out = _INLINE_CODE.sub(r"\1", out)
    out = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", out)
    out = _ANGLE_URL.sub(r"\1", out)
    out = _TIMESTAMP.sub(lambda m: timestamp_text(int(m.group(1)), m.group(2), now), out)
    out = _USER.sub(lambda m: "@" + names.get(int(m.group(1)), "someone"), out)
    out = _ROLE.sub("@role", out)
    out = _CHANNEL.sub(lambda m: "#" + channels.get(int(m.group(1)), "channel"), out)
    out = _EMOJI.sub(r":\1:", out)
    for pattern in _PAIRS:
        out = pattern.sub(r"\1", out)
    out = _LINE_PREFIX.sub("", out)
    return "".join(escaped[ord(c) - _PRIVATE_BASE]
                   if _PRIVATE_BASE <= ord(c) < _PRIVATE_BASE + len(escaped) else c
                   for c in out)


def _iso_text(value: str) -> str:
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return f"{when.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def render_message(msg: Any, *, out: TextIO, where: str, reply_to: str | None = None,
                   now: dt.datetime | None = None, names: Mapping[int, str] | None = None,
                   channels: Mapping[int, str] | None = None) -> None:
    """Print one posted message as a card: where (or whose command it answers), flags,
    content, then each embed (title, link, description, fields, footer and time).

    Args: msg: a gateway.testing MessageRecord; where: the channel's name; reply_to: the
        command this message answers ("Ada's /coop copies:2"), drawn as a reply to it.
    """
    def txt(s: str) -> str:
        return plain(s, now=now, names=names, channels=channels)

    flags = []
    if getattr(msg, "is_ephemeral", False):
        flags.append("only they can see this")
    if getattr(msg, "pinned", False):
        flags.append("pinned")
    if getattr(msg, "edits", 0):
        flags.append(f"edited {msg.edits}x")
    head = f"↳ reply to {reply_to}" if reply_to else f"#{where}"
    head += f"  ({', '.join(flags)})" if flags else ""
    indent = "      " if reply_to else "  "
    bar = f"{indent}│ "
    print(f"{indent}┌─ {head}", file=out)

    def para(text: str, prefix: str) -> None:
        for line in txt(text).splitlines():
            wrapped = textwrap.fill(line, WIDTH - len(prefix)) or ""
            print(textwrap.indent(wrapped, prefix, lambda _: True), file=out)

    if msg.content:
        para(msg.content, bar)
    card = f"{bar}▌ "
    for embed in msg.embeds:
        if embed.get("title"):
            print(f"{card}{txt(embed['title'])}", file=out)
        if embed.get("url"):
            print(f"{card}{embed['url']}", file=out)
        para(embed.get("description") or "", card)
        for field in embed.get("fields") or ():
            para(f"{field['name']}: {field['value']}", card)
        footer = [txt((embed.get("footer") or {}).get("text") or "")]
        if embed.get("timestamp"):
            footer.append(_iso_text(str(embed["timestamp"])))
        if any(footer):
            print(f"{card}— {' · '.join(f for f in footer if f)}", file=out)
    for file in getattr(msg, "attachments", ()) or ():
        print(f"{card}[attached file: {file.get('filename', 'file')}]", file=out)
    print(f"{indent}└" + "─" * (WIDTH - len(indent) - 1), file=out)
