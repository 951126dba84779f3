"""`gateway.messages.escape_text`: the one escaping of outside text, as a property test."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.messages import Embed, EmbedField, escape_markdown, escape_text

#: What Discord would render as a mention, a slash-command link, a channel or a link.
MENTION = re.compile(r"<[@#/:]|<a:|<t:|@(everyone|here)|https?://", re.IGNORECASE)
#: A markdown character NOT preceded by the backslash that makes it literal.
UNESCAPED = re.compile(r"(?<!\\)(?:\\\\)*[*_~`|\[\]()]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

hostile_bits = st.sampled_from(["<@", "<@&", "<@!", "<#", "</", "<:", "<a:", "<t:", "@everyone",
                                "@here", "@EVERYONE", "**", "__", "~~", "||", "`", "```", "[", "]",
                                "(", ")", "\\", "\n", "\r", "\t", "\x00", "\u202e", "\u2028", "#",
                                "> ", "- ", "1. ", "https://", "http://evil.example", "123456789012345678",
                                ">", ":", "a", " "])
hostile = st.lists(hostile_bits | st.text(max_size=5), max_size=30).map("".join)


def _unescape(text: str) -> str:
    """Undo escape_text (for the round-trip property): drop ZWSPs and escaping backslashes."""
    return re.sub(r"\\(.)", r"\1", text.replace("\u200b", ""))


@settings(max_examples=400, deadline=None)
@given(hostile)
def test_escaped_text_has_no_mention_markdown_or_control_characters(text: str) -> None:
    out = escape_text(text)
    assert not MENTION.search(out), out
    assert not CONTROL.search(out), out
    assert not UNESCAPED.search(_strip_backslash_pairs(out)), out
    assert not re.match(r"\s*(?:[#>+-]|\d+\.)", out), out  # no heading/quote/list at the start
    assert len(out) <= 2 * len(text)
    # Nothing is lost but what had to go: the reader sees the same text, flattened to a line.
    # (_unescape drops every zero-width space, so the input's own ones are dropped here too:
    # hypothesis found "\u200b" alone.)
    flat = CONTROL.sub(" ", re.sub(f"{CONTROL.pattern}+", " ", text))
    assert _unescape(out) == flat.replace("\u200b", "")


def _strip_backslash_pairs(text: str) -> str:
    """Remove `\\x` escapes so any markdown character left over is an unescaped one."""
    return re.sub(r"\\.", "", text)


@settings(max_examples=200, deadline=None)
@given(hostile)
def test_every_embed_part_stays_escaped_after_truncation(text: str) -> None:
    """A name escaped and cut to a field's limit never turns back into live markup."""
    name = "x" + escape_text(text * 40)
    data = Embed(title=name, description=name, footer=name, author_name=name,
                 fields=(EmbedField(name, name),)).to_dict()
    for part in (data["title"], data["description"], data["footer"]["text"],
                 data["author"]["name"], data["fields"][0]["name"], data["fields"][0]["value"]):
        assert not MENTION.search(part) and not CONTROL.search(part)


def test_a_zero_width_space_in_a_name_survives() -> None:
    assert escape_text("a\u200bb") == "a\u200bb"


def test_known_cases_render_literally() -> None:
    assert escape_text("**Deluxe** <@&123456789012345678> @everyone\nnext") == (
        "\\*\\*Deluxe\\*\\* <\u200b@&123456789012345678> @\u200beveryone next")
    assert escape_text("# Title") == "\\# Title"
    assert escape_text("2. Edition") == "2\\. Edition"
    assert escape_text("[Claim](https://evil.example)") == (
        "\\[Claim\\]\\(https:\u200b//evil.example\\)")
    assert escape_text(76561198000000001) == "76561198000000001"
    assert escape_markdown is escape_text  # one function, the old name kept for callers
