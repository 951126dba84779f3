"""Discord limits, splitting and escaping in gateway.messages (pure functions)."""

from __future__ import annotations

import pytest

from gateway import messages as m
from gateway.testing._rules_messages import check_message


def test_embed_fields_truncated_to_limits() -> None:
    embed = m.Embed(
        title="T" * 300, description="D" * 5000, footer="F" * 3000, author_name="A" * 300,
        fields=tuple(m.EmbedField("n" * 300, "v" * 2000) for _ in range(30)),
    ).to_dict()
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["footer"]["text"]) == 2048 and len(embed["author"]["name"]) == 256
    assert all(len(f["name"]) == 256 and len(f["value"]) == 1024 for f in embed["fields"])
    assert embed["type"] == "rich"
    # Every part fits its own limit AND the whole fits Discord's 6000 total (Embed Limits):
    # title + footer + author leave room for 2 full fields, the description gets the rest.
    assert len(embed["fields"]) == 2 and m.embed_length(embed) == 6000
    assert embed["description"].endswith("…") and len(embed["description"]) == 6000 - 2560 - 2560
    check_message({"embeds": [embed]})  # FakeDiscord's validator accepts it


def test_one_part_at_its_limit_is_kept_whole() -> None:
    embed = m.Embed(description="D" * 5000).to_dict()
    assert len(embed["description"]) == 4096
    embed = m.Embed(fields=tuple(m.EmbedField("n", "v" * 2000) for _ in range(30))).to_dict()
    assert len(embed["fields"]) == 5 and m.embed_length(embed) <= 6000  # 5 x 1025


def test_short_text_untouched_and_empty_field_filled() -> None:
    embed = m.Embed(title="Portal 2", fields=(m.EmbedField("", "x"),)).to_dict()
    assert embed["title"] == "Portal 2"
    assert embed["fields"][0]["name"] == "\u200b"  # Discord rejects empty field names


def test_pack_embeds_respects_count_and_total() -> None:
    small = [m.Embed(title=f"g{i}") for i in range(23)]
    assert [len(g) for g in m.pack_embeds(small)] == [10, 10, 3]
    big = [m.Embed(description="x" * 2500) for _ in range(5)]  # 2 fit under 6000
    groups = m.pack_embeds(big)
    assert [len(g) for g in groups] == [2, 2, 1]
    assert all(sum(m.embed_length(e) for e in g) <= 6000 for g in groups)
    with pytest.raises(ValueError, match="max is 6000"):
        m.pack_embeds([{"description": "x" * 6001}])


def test_split_lines_breaks_only_between_lines() -> None:
    lines = [f"{i:04d} " + "x" * 95 for i in range(100)]  # 100 lines of 100 chars
    chunks = m.split_lines(lines, limit=2000)
    assert all(len(c) <= 2000 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines  # nothing lost, order kept
    assert len(chunks) == 6  # 19 lines (1899 chars + newlines) per message at most
    assert m.split_lines(["y" * 2500])[0].endswith("…")
    assert m.split_lines([]) == []


def test_escape_markdown_and_mass_mentions() -> None:
    assert m.escape_markdown("*Deluxe* __Edition__ `x` ~~y~~ |z|") == (
        r"\*Deluxe\* \_\_Edition\_\_ \`x\` \~\~y\~\~ \|z\|")
    assert m.escape_markdown("Half-Life 2") == "Half-Life 2"
    # newlines are flattened (a name never starts a line); only the start can be a marker
    assert m.escape_markdown("# big\n- item\n> quote") == "\\# big - item > quote"
    assert m.escape_markdown("@everyone look") == "@\u200beveryone look"


def test_content_limit_and_no_mentions() -> None:
    m.check_content("x" * 2000)
    with pytest.raises(ValueError, match="2001 characters"):
        m.check_content("x" * 2001)
    assert m.NO_MENTIONS == {"parse": []}
