"""The soak's ground truth and invariants: what the sandbox's change log says must have been
announced, against what FakeDiscord holds.

Ground truth (`Sandbox.change_log`, written by the sandbox's own mutations, never by the
bot):
- new_game: every appid whose first `library_add` came after the baseline: once each (a
  second owner, or a return after a removal, is not announced again);
- bundles: first adds of more than `bundle_threshold` games at one instant (a bundle bought
  at once) are one grouped post ("N new games in the family library", over as many messages
  as Discord's limits need) naming each game, never single posts;
- deal: every `sale_start` of a soak wish-pool game (wished by member 0 throughout, never
  owned): once per sale, so a game's second sale is expected again;
- wishlist: the final wishlist messages list exactly the pool games that at least
  `min_members` members wish for in the sandbox's final state.
Posted: appids named by store URL (/app/ID/) in each channel's messages, deleted ones
left out. lost = expected - posted (per appid, never below 0), duplicated = posted -
expected (the same).
"""

from __future__ import annotations

import collections
import re
from typing import Any

from bench.soak._plan import FIRST_WISH_APPID, WISH_POOL
from familybot_trio.sandbox import Sandbox
from familybot_trio.sandbox.world import CHANNELS
from gateway.testing import FakeDiscord

_APP_URL = re.compile(r"/app/(\d+)/")
#: familybot_trio/features/_new_games_render.py bundle_embeds' titles; group 2 is the part.
_BUNDLE_TITLE = re.compile(r"^(\d+) new games in the family library( \(\d+/\d+\))?$")
POOL = frozenset(range(FIRST_WISH_APPID, FIRST_WISH_APPID + WISH_POOL))


def posted_appids(discord: FakeDiscord, channel: int) -> collections.Counter[int]:
    """appid -> how many live messages in `channel` name it (each message counts once)."""
    posted: collections.Counter[int] = collections.Counter()
    for msg in discord.messages(channel):
        text = repr(msg.embeds) + (msg.content or "")
        for appid in {int(a) for a in _APP_URL.findall(text)}:
            posted[appid] += 1
    return posted


def expected(sandbox: Sandbox, baseline_s: float) -> dict[str, collections.Counter[int]]:
    """kind -> appid -> announcements the change log demands (see the module docstring)."""
    seen_in_library: set[int] = set()
    out: dict[str, collections.Counter[int]] = {"new_game": collections.Counter(),
                                                "deal": collections.Counter()}
    for ch in sandbox.change_log:
        if ch.kind == "library_add":
            if ch.appid not in seen_in_library and ch.at_s > baseline_s:
                out["new_game"][ch.appid] = 1
            seen_in_library.add(ch.appid)
        elif ch.kind == "sale_start" and ch.appid in POOL:
            out["deal"][ch.appid] += 1
    return out


def compare(want: collections.Counter[int], got: collections.Counter[int]) -> dict[str, Any]:
    """expected / posted / lost / duplicated (and up to 20 appids of each) for one kind."""
    lost = {a: n - got[a] for a, n in want.items() if got[a] < n}
    dup = {a: got[a] - want[a] for a in got if got[a] > want[a] and want[a]}
    unexpected = sorted(a for a in got if not want[a])
    return {"expected": sum(want.values()), "posted": sum(min(got[a], n) for a, n in want.items())
            + sum(dup.values()), "lost": sum(lost.values()), "duplicated": sum(dup.values()),
            "unexpected": len(unexpected), "lost_appids": sorted(lost)[:20],
            "duplicated_appids": sorted(dup)[:20], "unexpected_appids": unexpected[:20]}


def wishlist_final(sandbox: Sandbox, discord: FakeDiscord, min_members: int) -> dict[str, Any]:
    """The final wishlist messages against the sandbox's final wishlists (pool games only)."""
    wishers: collections.Counter[int] = collections.Counter()
    for items in sandbox.family.wishlists.values():
        wishers.update(a for a in items if int(a) in POOL)
    want = sorted(a for a, n in wishers.items() if n >= min_members)
    shown = sorted(a for a in posted_appids(discord, CHANNELS["wishlist"]) if a in POOL)
    return {"expected": want, "shown": shown, "matches": want == shown,
            "changes": sum(1 for ch in sandbox.change_log
                           if ch.kind.startswith("wishlist_") and ch.appid in POOL)}


def bundles(sandbox: Sandbox, discord: FakeDiscord, baseline_s: float,
            threshold: int) -> dict[str, Any]:
    """Bundles (see the module docstring): expected (groups of more than `threshold` first
    library adds at one instant after the baseline), posted (grouped posts: messages titled as
    a bundle's first part), and bundle games named in a message that is not a bundle's
    (`single_posts`, must be 0)."""
    first_at: dict[int, float] = {}
    for ch in sandbox.change_log:
        if ch.kind == "library_add":
            first_at.setdefault(ch.appid, ch.at_s)
    at_once = collections.Counter(at for at in first_at.values() if at > baseline_s)
    groups = {at for at, n in at_once.items() if n > threshold}
    games = {a for a, at in first_at.items() if at in groups}
    posted = single = 0
    for msg in discord.messages(CHANNELS["new_games"]):
        titles = [_BUNDLE_TITLE.match(str(e.get("title", ""))) for e in msg.embeds or []]
        if any(titles):
            posted += sum(1 for t in titles if t and not t.group(2))
        else:
            text = repr(msg.embeds) + (msg.content or "")
            single += len(games & {int(a) for a in _APP_URL.findall(text)})
    return {"expected": len(groups), "posted": posted, "games": len(games),
            "single_posts": single}


def announcements(sandbox: Sandbox, discord: FakeDiscord, baseline_s: float) -> dict[str, Any]:
    """Per kind (new_game in the new-games channel, deal in the deals channel): compare()."""
    want = expected(sandbox, baseline_s)
    new_games = posted_appids(discord, CHANNELS["new_games"])
    deals = collections.Counter({a: n for a, n in posted_appids(discord, CHANNELS["deals"]).items()
                                 if a in POOL})
    return {"new_game": compare(want["new_game"], new_games), "deal": compare(want["deal"], deals)}
