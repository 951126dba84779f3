"""The demo's terminal renderer: Discord markup shown as a person reads it."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from familybot_trio._terminal import plain, render_message, timestamp_text
from gateway.messages import escape_text
from gateway.testing import MessageRecord

NOW = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
T = 1735689600  # 2025-01-01 00:00 UTC


@pytest.mark.parametrize(("style", "want"), [
    (None, "1 January 2025 00:00 UTC"), ("f", "1 January 2025 00:00 UTC"),
    ("F", "Wednesday, 1 January 2025 00:00 UTC"), ("d", "2025-01-01"),
    ("D", "1 January 2025"), ("t", "00:00 UTC"), ("T", "00:00:00 UTC"),
    ("R", "12 hours ago"),
])
def test_timestamps_become_dates(style: str | None, want: str) -> None:
    assert timestamp_text(T, style, NOW) == want
    markup = f"<t:{T}:{style}>" if style else f"<t:{T}>"
    assert plain(f"ends {markup}.", now=NOW) == f"ends {want}."


@pytest.mark.parametrize(("text", "want"), [
    ("[Valheim](<https://store.steampowered.com/app/892970/>)",
     "Valheim (https://store.steampowered.com/app/892970/)"),
    ("[Valheim](https://x.test/a)", "Valheim (https://x.test/a)"),
    ("see <https://x.test/b>", "see https://x.test/b"),
    ("**$9.99** (-75%)", "$9.99 (-75%)"),
    ("__under__ ~~gone~~ ||secret|| `code` *it* _also_", "under gone secret code it also"),
    ("snake_case_name stays", "snake_case_name stays"),
    ("# Title\n> quoted\n-# small", "Title\nquoted\nsmall"),
    ("<@800000000000000001> and <#900000000000000003>", "@Ada and #deals"),
    ("<:steam:123456789012345678>", ":steam:"),
    ("```py\nprint(1)\n```", "print(1)"),
])
def test_markup_is_rendered_as_text(text: str, want: str) -> None:
    got = plain(text, now=NOW, names={800_000_000_000_000_001: "Ada"},
                channels={900_000_000_000_000_003: "deals"})
    assert got == want


def test_escaped_outside_text_reads_as_typed() -> None:
    title = "Mega*Game_[Deluxe] **edition**"
    assert plain(escape_text(title)) == title


def test_a_reply_is_drawn_under_its_command() -> None:
    msg = MessageRecord(id=1, channel_id=5, content="Done at <t:1735689600:t>", flags=64,
                        kind="callback", interaction_id=7,
                        embeds=({"title": "**Hi**", "description": "[a](<https://x.test/>)",
                                 "timestamp": "2025-01-01T00:00:00+00:00"},))
    out = io.StringIO()
    render_message(msg, out=out, where="deals", reply_to="Ada's /deals", now=NOW)
    text = out.getvalue()
    assert "↳ reply to Ada's /deals  (only they can see this)" in text
    assert "Done at 00:00 UTC" in text and "▌ Hi" in text and "a (https://x.test/)" in text
    assert "2025-01-01 00:00 UTC" in text and "#deals" not in text
