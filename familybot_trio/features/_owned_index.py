"""The local name index /owned searches: every game of the family library and wishlists.

Autocomplete must answer within Discord's 3 s deadline and must never wait on Steam, so
the index lives in memory and is only ever *read* by the autocomplete path. It is rebuilt
by the `owned_index` job (and by /owned itself when it is empty) from the store: the
family library, every member's wishlist and the catalog's cached details (names). The
rebuild may ask the catalog for apps whose names are not cached yet (a batched GetItems);
the autocomplete path never does.

Matching uses rapidfuzz (`process.extract` with partial and plain ratios on
`utils.default_process`d names, see `_score`), so a typo ("stardw valley") still finds the game.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from rapidfuzz import fuzz, process, utils

from familybot_trio.store import AppId

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.owned")

#: Discord shows at most 25 autocomplete choices (Application Command Option Choice limits).
MAX_CHOICES: Final = 25
#: A choice's name is at most 100 characters.
CHOICE_NAME_MAX: Final = 100
#: Below this score (0-100) a name is no suggestion; /owned itself wants RESOLVE_CUTOFF.
MATCH_CUTOFF: Final = 70.0
RESOLVE_CUTOFF: Final = 80.0
#: `https://store.steampowered.com/app/<appid>/...` (also without scheme) and `s.team/a/<appid>`.
STORE_APP_URL: Final = re.compile(
    r"(?:https?://)?(?:store\.steampowered\.com/(?:agecheck/)?app|s\.team/a)/(\d{1,10})\b",
    re.IGNORECASE)


@dataclass(slots=True)
class NameIndex:
    """appid -> display name, and the same names pre-processed for rapidfuzz.

    Attributes: names: appid -> name as the store spells it; built: True once filled.
    """

    names: dict[AppId, str] = field(default_factory=dict)
    _processed: dict[AppId, str] = field(default_factory=dict)
    built: bool = False

    _by_length: tuple[list[str], list[AppId], list[int]] = ([], [], [])

    def replace(self, names: dict[AppId, str]) -> None:
        """Swap in a new set of names (one assignment each: readers never see half)."""
        processed = {a: utils.default_process(n) for a, n in names.items() if n}
        ordered = sorted((len(t), t, a) for a, t in processed.items())
        self._by_length = ([t for _, t, _ in ordered], [a for _, _, a in ordered],
                           [n for n, _, _ in ordered])
        self._processed = processed
        self.names = dict(names)
        self.built = True

    def search(self, text: str, limit: int = MAX_CHOICES, cutoff: float = MATCH_CUTOFF
               ) -> list[tuple[AppId, str, float]]:
        """The best matches of `text`, best first.

        Order: names that start with what was typed, then names with a word that starts
        with it (shortest first in both), then fuzzy matches (typos) by score. Fuzzy scores
        are rapidfuzz's native partial_ratio (the best-aligned piece of a name at least as
        long as the query) or ratio (names shorter than the query), so one keystroke over
        a few thousand names costs about a millisecond.
        Args: text: what the user typed so far (any case, typos allowed); limit: at most;
            cutoff: the lowest fuzzy score (0-100) that counts as a match.
        Returns: (appid, name, score 0-100) triples; prefix hits score 100. An empty text
            gives the first names in alphabetical order (score 0).
        """
        query = utils.default_process(text)
        if not query:
            first = sorted(self.names.items(), key=lambda kv: kv[1].casefold())[:limit]
            return [(a, n, 0.0) for a, n in first]
        starts = sorted((len(n), a) for a, n in self._processed.items() if n.startswith(query))
        words = sorted((len(n), a) for a, n in self._processed.items()
                       if f" {query}" in n and not n.startswith(query))
        found: dict[AppId, float] = {a: 100.0 for _, a in starts[:limit]}
        for _, a in words[:limit - len(found)]:
            found[a] = 99.0
        if len(found) < limit:
            texts, keys, lengths = self._by_length
            cut = bisect.bisect_left(lengths, len(query))
            fuzzy = [(t, sc, keys[cut + i]) for t, sc, i in process.extract(
                query, texts[cut:], scorer=fuzz.partial_ratio, processor=None,
                limit=limit * 2, score_cutoff=cutoff)]
            fuzzy += [(t, sc, keys[i]) for t, sc, i in process.extract(
                query, texts[:cut], scorer=fuzz.ratio, processor=None, limit=limit,
                score_cutoff=cutoff)]
            ranked = sorted(((_score(query, t), a) for t, _, a in fuzzy if a not in found),
                            reverse=True)
            for score, a in ranked:
                if score >= cutoff and len(found) < limit:
                    found[AppId(a)] = score
        return [(a, self.names[a], score) for a, score in found.items()]


def _score(query: str, choice: str, **kw: object) -> float:
    """How well `choice` matches what was typed (0-100).

    Someone typing a name types its start or a piece of it, with typos: for names at least
    as long as the query, the best-aligned piece counts most (partial_ratio) and the whole
    name breaks ties (ratio), so "elden" puts "ELDEN RING" before "ELDEN RING NIGHTREIGN".
    A name shorter than the query gets the plain ratio: a piece of the query ("a" inside
    "stardw") is no match. Token-set scoring (WRatio) is not used: one shared word ("game")
    would match half the library.
    """
    if len(choice) < len(query):
        return fuzz.ratio(query, choice)
    return 0.85 * fuzz.partial_ratio(query, choice) + 0.15 * fuzz.ratio(query, choice)


def parse_appid(text: str) -> AppId | None:
    """An appid from "1245620" or a Steam store URL; None when `text` is a name."""
    raw = text.strip().strip("<>")
    if raw.isdigit() and 0 < len(raw) <= 10:
        return AppId(int(raw))
    m = STORE_APP_URL.search(raw)
    return AppId(int(m.group(1))) if m else None


async def rebuild(app: App, index: NameIndex) -> int:
    """Fill `index` from the store (library, wishlists) and the catalog's names.

    Returns: how many names the index holds. Raises: StoreError; UpstreamError when the
        catalog must fetch uncached names and Steam fails (the old index stays).
    Upstream: IStoreBrowseService/GetItems for names not cached yet (via app.catalog).
    """
    library = await app.store.library.apps()
    wished = await app.store.wishlist.common(min_members=1)
    appids = list(dict.fromkeys([a.appid for a in library] + [a for a, _ in wished]))
    details = await app.catalog.details(appids, country=app.config.country) if appids else {}
    index.replace({a: d.name for a, d in details.items() if d.name})
    log.info("owned index rebuilt [names:%d apps:%d]", len(index.names), len(appids))
    return len(index.names)
