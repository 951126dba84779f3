"""The soak's free games: giveaways starting and ending on Epic and Reddit, and their truth.

Plan (`plan`, from its own `random.Random`, so the other parts' schedules do not move): a
giveaway starts every 1-3 days (the first 3-12 h in) and lasts 1-4 days, on one of:
- "epic": an Epic giveaway only (sandbox `start_free_epic` / `end_free_epic`);
- "both": the same game on Epic and, 10 min-6 h later, posted on r/FreeGameFindings as
  "[Epic Games] (Game) ..." linking to its Epic page (half the time with a locale segment,
  /en-US/p/<slug>, as posters write it); the post's "Expired" flair comes up to 12 h after
  Epic ended it;
- "steam" / "gog": a FreeGameFindings post only, linking to the game's store page.
The first giveaway of a plan is on both sources (the case the feature's de-duplication is
about), so even a 2-day plan has one. No giveaway starts in the last 4 h (the bot reads the
feeds every 30 min; a restart takes up to 40 min).

Truth (`truth`): what the feature promises (features/free_games.py): every offer gets a key
both sources agree on (the canonical store identity of its link), so a game is announced
once in the free-games channel, however many sources list it and whichever comes first.
Expected: each distinct key of the sandbox's "free_start" changes (its canonical page URL),
exactly once. Posted: each free-games message's embed URL. The recorded feeds' own offers
(free since before the baseline) are no one's expectation, but each may be posted only
once: a second post (e.g. after a restart) counts as duplicated.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Callable
from typing import Any, Final

from familybot_trio.sandbox import Sandbox
from familybot_trio.sandbox.world import CHANNELS
from gateway.testing import FakeDiscord

#: Plan event kinds this module applies.
KINDS: Final = frozenset({"free_start", "free_end"})
#: Steam appids of the Steam giveaways (FIRST_FREE_APPID + n), never in the library.
FIRST_FREE_APPID: Final = 5_300_000
_HOUR_S: Final = 3_600.0
_DAY_S: Final = 86_400.0
_WHERE: Final = ("epic", "both", "steam", "gog")


def _name(n: int) -> str:
    return f"Soak Free {n:03d}"


def page(where: str, n: int) -> str:
    """The canonical store page of giveaway `n` (the sandbox's change-log key)."""
    if where == "steam":
        return f"https://store.steampowered.com/app/{FIRST_FREE_APPID + n}/"
    if where == "gog":
        return f"https://www.gog.com/en/game/soak_free_{n:03d}"
    return f"https://store.epicgames.com/p/soak-free-{n:03d}"


def plan(end_s: float, seed: int) -> list[tuple[float, str, tuple]]:
    """The free-game events of an `end_s`-second plan: (at_s, kind, args) for _plan.Event,
    none at or after `end_s`.

    Args of "free_start": (source, n, where, duration_s, locale_link); of "free_end":
    (source, n, where). source: "epic" or "reddit"; where: see the module docstring.
    """
    rng = random.Random(f"free-games-{seed}")
    out: list[tuple[float, str, tuple]] = []
    t, n = rng.uniform(3, 12) * _HOUR_S, 0
    while t < end_s - 4 * _HOUR_S:
        where = "both" if n == 0 else rng.choice(_WHERE)
        lasts = rng.uniform(1, 4) * _DAY_S
        if where in ("epic", "both"):
            out += [(t, "free_start", ("epic", n, where, lasts, False)),
                    (t + lasts, "free_end", ("epic", n, where))]
        if where != "epic":
            posted = t + (rng.uniform(10 / 60, 6) * _HOUR_S if where == "both" else 0.0)
            # a post's flair comes late; a Steam or GOG post lasts at most ~3 days (its age
            # limit in the bot) so it is announced while live
            ends = (t + lasts + rng.uniform(0, 12) * _HOUR_S if where == "both"
                    else posted + min(lasts, 2.9 * _DAY_S))
            out += [(posted, "free_start", ("reddit", n, where, ends - posted,
                                            rng.random() < 0.5)),
                    (ends, "free_end", ("reddit", n, where))]
        t += rng.uniform(1, 3) * _DAY_S
        n += 1
    return [e for e in out if e[0] < end_s]  # an end after the run is not played


def apply(kind: str, args: tuple, sb: Sandbox) -> None:
    """Make one planned free-game change happen in the sandbox."""
    source, n, where = args[:3]
    key = page(where, n)
    if source == "epic":
        slug = f"soak-free-{n:03d}"
        if kind == "free_start":
            sb.start_free_epic(slug, _name(n), ends_at_s=sb.now_s() + args[3],
                               original_cents=1499 + 500 * (n % 4))
        else:
            sb.end_free_epic(slug)
        return
    if kind == "free_start":
        tag = {"both": "Epic Games", "steam": "Steam", "gog": "GOG"}[where]
        link = key
        if where == "both" and args[4]:
            link = key.replace("/p/", "/en-US/p/")
        elif where == "steam":
            link = f"{key}Soak_Free_{n:03d}/"
        sb.post_free_reddit(f"[{tag}] (Game) {_name(n)}", link, key=key)
        return
    post = next((p for p in sb.free_offers.reddit if p["key"] == key), None)
    if post is not None:
        sb.expire_free_reddit(post["id"])


def _is_soak(url: str) -> bool:
    return "soak-free-" in url or "soak_free_" in url or f"/app/{FIRST_FREE_APPID // 1000}" in url


def truth(sandbox: Sandbox, discord: FakeDiscord,
          compare: Callable[[collections.Counter, collections.Counter], dict[str, Any]]
          ) -> dict[str, Any]:
    """by_kind["free_game"]: `compare` (_truth.compare, passed in: _truth imports _plan,
    which imports this module) of the giveaways the change log started against the
    free-games channel, plus the recorded offers: recorded_posted (distinct offers posted),
    their second posts added to duplicated (recorded_duplicated_urls), and by_source (the
    "free_start" changes per source)."""
    want: collections.Counter[str] = collections.Counter(
        {ch.key: 1 for ch in sandbox.change_log if ch.kind == "free_start"})
    got: collections.Counter[str] = collections.Counter()
    recorded: collections.Counter[str] = collections.Counter()
    for msg in discord.messages(CHANNELS["free_games"]):
        for url in {str(e.get("url", "")) for e in msg.embeds if e.get("url")}:
            (got if url in want or _is_soak(url) else recorded)[url] += 1
    out = compare(want, got)
    again = {u: n - 1 for u, n in recorded.items() if n > 1}
    out["duplicated"] += sum(again.values())
    out["posted"] += sum(again.values())
    out.update(recorded_posted=len(recorded), recorded_duplicated_urls=sorted(again)[:20],
               by_source=dict(collections.Counter(
                   ch.source for ch in sandbox.change_log if ch.kind == "free_start")))
    return out
