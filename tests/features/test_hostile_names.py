"""Hostile game and persona names through every message the features build (issue 14).

Names come from outside (Steam personas, store names, feed titles): each is shown through
`gateway.messages.escape_text`, so none renders markdown, pings a role, shows a channel or
slash-command pill, opens a link or starts a new line; and every request carries empty
allowed_mentions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import trio

from familybot_trio.sandbox import _family as F
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from familybot_trio.store import MemberRecord

HOSTILE = ("**Bold** _it_ ||spoiler|| <@&111111111111111111> <@222222222222222222> "
           "<#333333333333333333> </evil:444444444444444444> @everyone @here "
           "[Claim](https://evil.example/x)\n# Heading\u202eright-to-left")
#: Any of these in a posted text means a hostile name got through unescaped.
LIVE = re.compile(r"<@&111|<@222|<#333|</evil|@everyone|@here|https://evil"
                  r"|\*\*Bold\*\*|(?<!\\)_it(?<!\\)_|\|\|spoiler|\u202e|^\s*# Heading",
                  re.IGNORECASE | re.MULTILINE)
NEW_APPID = 999_777


def _texts(record) -> list[str]:
    out = [record.content or ""]
    for e in record.embeds:
        out += [e.get("title", ""), e.get("description", ""), e.get("footer", {}).get("text", ""),
                e.get("author", {}).get("name", "")]
        out += [f.get(k, "") for f in e.get("fields", ()) for k in ("name", "value")]
    return out


def _assert_clean(records) -> int:
    seen = 0
    for record in records:
        assert record.allowed_mentions == {"parse": []}, (record.allowed_mentions, record.kind, record.embeds[:1])
        for text in _texts(record):
            found = LIVE.search(text)
            assert found is None, f"{found.group(0)!r} got through in {text!r}"
            seen += "Bold" in text
    return seen


async def _ask(world, name, options=None, user_id=DISCORD_IDS[0]):
    with trio.fail_after(30):
        handle = await world.discord.send_interaction(name, options or {}, user_id=user_id,
                                                      channel_id=CHANNELS["new_games"])
        await handle.wait_response()
        return handle.replies()


async def test_hostile_names_stay_literal_in_every_reply_and_announcement(start_world) -> None:
    world = await start_world(features=["new_games", "wishlist", "deals", "coop", "common_games",
                                        "members", "profile", "owned", "stats"])
    sb, app = world.sandbox, world.app
    fam = sb.family
    # Steam personas (GetPlayerSummaries) and the bot's member names are hostile ...
    for i, m in enumerate(fam.members):
        fam.members[i] = dataclasses.replace(m, persona=f"{HOSTILE} {i}")
    await app.store.members.sync(
        [MemberRecord(m.steamid, f"{HOSTILE} {i}", m.discord_id)
         for i, m in enumerate(world.config.members)], dt.datetime.now(dt.UTC))
    # ... and so is a game two members own, wish for and that is on sale.
    sb.add_library_app(NEW_APPID, F.MEMBER_STEAMIDS[0], name=HOSTILE)
    sb.add_library_app(NEW_APPID, F.MEMBER_STEAMIDS[1])
    wished = next(iter(fam.wishlists[F.MEMBER_STEAMIDS[0]]))
    fam.apps[wished] = dataclasses.replace(fam.apps[wished], name=HOSTILE)
    sb.start_sale(wished, 80)
    sb.add_to_wishlist(F.MEMBER_STEAMIDS[1], wished)

    replies = []
    replies += await _ask(world, "members")
    replies += await _ask(world, "profile")
    replies += await _ask(world, "profile", {"member": "<@&111111111111111111>"})
    replies += await _ask(world, "common_games", {"user1": DISCORD_IDS[1], "all": True})
    replies += await _ask(world, "common_games", {"members": HOSTILE[:150]})
    replies += await _ask(world, "coop", {"copies": 2})
    replies += await _ask(world, "wishlist")
    replies += await _ask(world, "deals")
    replies += await _ask(world, "new_games", {"count": 10})
    replies += await _ask(world, "owned", {"game": str(NEW_APPID)})
    replies += await _ask(world, "owned", {"game": HOSTILE[:90]})
    replies += await _ask(world, "stats")
    for job in ("new_games", "wishlist", "deals"):
        outcome = await app.scheduler.run_now(job)
        assert outcome.ok, outcome.error
    await app.flush_outbox()
    posted = world.discord.messages()
    assert _assert_clean(replies) + _assert_clean(posted) >= 5  # the names were shown, escaped


def test_echoed_input_is_quoted_once_and_escaped() -> None:
    """What a user typed comes back through escape_text exactly once (no repr of escapes)."""
    from gateway._options import quoted

    shown = quoted("*x* <@&1> @here")
    assert shown == "'\\*x\\* <\u200b@&1> @\u200bhere'"
    assert "\\\\" not in shown  # a doubled backslash would print one and unescape the next
