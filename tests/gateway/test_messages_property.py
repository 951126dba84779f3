"""Property: whatever goes into gateway.messages' builders, every message they produce is
one Discord accepts, as FakeDiscord's validator (the same rules as the fake) judges it."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.messages import Embed, EmbedField, pack_embeds, split_lines
from gateway.testing._rules_messages import check_message

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
               max_size=300)
# Sizes around every limit (256, 1024, 2000, 2048, 4096, 6000), as runs of one character.
BIG = st.sampled_from([255, 256, 257, 1023, 1024, 1025, 1999, 2001, 2047, 2049, 4095, 4097,
                       5999, 6001, 9000]).map(lambda n: "x" * n)
BLANK = st.sampled_from(["", " ", "\n\t ", "\u200b"])
LONG = st.one_of(st.none(), TEXT, BIG, BLANK)
FIELDS = st.lists(st.builds(EmbedField, name=st.one_of(TEXT, BIG, BLANK),
                            value=st.one_of(TEXT, BIG, BLANK), inline=st.booleans()),
                  max_size=40)
EMBEDS = st.builds(Embed, title=LONG, description=LONG, fields=FIELDS.map(tuple),
                   footer=LONG, author_name=LONG)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(st.lists(EMBEDS, max_size=30))
def test_packed_embeds_are_always_accepted(embeds: list[Embed]) -> None:
    messages = pack_embeds(embeds)
    for group in messages:
        check_message({"embeds": group, "allowed_mentions": {"parse": []}})
    assert sum(len(g) for g in messages) == len(embeds)


@SETTINGS
@given(st.lists(st.one_of(TEXT, BIG), max_size=300))
def test_split_lines_messages_are_always_accepted(lines: list[str]) -> None:
    for body in split_lines(lines):
        check_message({"content": body})
