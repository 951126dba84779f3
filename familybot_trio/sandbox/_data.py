"""Recorded bodies shipped in sandbox/data/, loaded once (in a thread) and rebased in time.

Epic and Reddit bodies are dated; `rebase_*` shift every timestamp so that "now" falls where
the recording's capture time was: the Epic feed then has a game free now, upcoming ones, a
mystery game and a vault item; the Reddit feed has posts from the last hours. Dates in 2099
(Epic's "not yet known" placeholder) are left alone.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final

EPIC_FILES: Final = (  # (file, capture instant: what "now" was when recorded)
    ("free_games_promotions_2023-11-26_CA_deliver_us_mars.json", "2023-11-26T12:00:00Z"),
    ("free_games_promotions_2023-12-14_CA_holiday_mystery.json", "2023-12-14T18:00:00Z"),
    ("free_games_promotions_2023-05-29_US_mega_sale_vault.json", "2023-05-29T12:00:00Z"),
)
REDDIT_FILE: Final = "fgf_new_rss_2025-04-18.xml"
REDDIT_CAPTURED: Final = "2025-04-18T15:40:00+00:00"
_ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


@dataclass(frozen=True, slots=True)
class StaticData:
    """Everything read from package data. appdetails: appid -> recorded envelope."""

    appdetails: dict[int, dict[str, Any]]
    errors: dict[str, bytes]
    epic: list[tuple[dict[str, Any], str]]
    epic_error: dict[str, Any]
    reddit_rss: str
    summary_template: dict[str, Any]
    itad_lookup_template: dict[str, Any]


def _read(rel: str) -> bytes:
    return resources.files(__package__).joinpath("data", rel).read_bytes()


@functools.cache
def load_static() -> StaticData:
    """Read and parse the shipped bodies once per process (blocking file IO the first time:
    call through blocking.run_sync).

    Returns: the same StaticData on every call, shared by every sandbox of the process, so
    read it, never change it (handlers copy before they edit: `copy.deepcopy`, `dict(...)`);
    `_family.build_family` knows the family it generated from these bodies by identity.
    """
    from familybot_trio.sandbox._family import FIXTURE_APPS

    appdetails = {appid: json.loads(_read(f"steam_store/{fname}"))
                  for appid, fname, _price, _place in FIXTURE_APPS}
    errors = {name: _read(f"errors/{name}") for name in (
        "steam_webapi_400_bad_request.html", "steam_webapi_401_unauthorized.html",
        "steam_webapi_403_invalid_key.html", "steam_store_429_body.json")}
    epic = [(json.loads(_read(f"epic/{f}")), at) for f, at in EPIC_FILES]
    summaries = json.loads(_read("steam_webapi/user_get_player_summaries_in_game_anonymized.json"))
    lookup = json.loads(_read("itad/games_lookup_v1_found.json"))
    epic_error = json.loads(_read("epic/free_games_promotions_error_invalid_country.json"))
    return StaticData(appdetails, errors, epic, epic_error,
                      _read(f"reddit/{REDDIT_FILE}").decode("utf-8"),
                      summaries["response"]["players"][0], lookup)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _shift_iso(text: str, delta_s: float) -> str:
    def sub(m: re.Match[str]) -> str:
        ts = m.group(0)
        when = _parse(ts)
        if when.year >= 2099:
            return ts
        new = datetime.fromtimestamp(when.timestamp() + delta_s, UTC)
        if ts.endswith("Z"):
            return new.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return new.isoformat(timespec="seconds")
    return _ISO_Z.sub(sub, text)


def rebase_epic(static: StaticData, now_s: float) -> dict[str, Any]:
    """One freeGamesPromotions body mixing the three recordings, dates moved to `now_s`.

    Returns: the Deliver Us Mars week (free now + upcoming), plus the holiday "Mystery Game"
    and the mega-sale vault items, each file shifted by its own (now - capture time).
    """
    merged: dict[str, Any] | None = None
    seen: set[str] = set()
    for body, captured in static.epic:
        delta = now_s - _parse(captured).timestamp()
        shifted = json.loads(_shift_iso(json.dumps(body), delta))
        elements = shifted["data"]["Catalog"]["searchStore"]["elements"]
        if merged is None:
            merged = shifted
            seen = {e["title"] for e in elements}
            continue
        target = merged["data"]["Catalog"]["searchStore"]["elements"]
        target += [e for e in elements if e["title"] not in seen]
        seen |= {e["title"] for e in elements}
    assert merged is not None
    store = merged["data"]["Catalog"]["searchStore"]
    store["paging"]["total"] = len(store["elements"])
    return merged


def rebase_reddit(static: StaticData, now_s: float) -> str:
    """The recorded r/FreeGameFindings Atom feed with every timestamp moved to `now_s`."""
    return _shift_iso(static.reddit_rss, now_s - _parse(REDDIT_CAPTURED).timestamp())


_ENTRY = re.compile(r"<entry>(.*?)</entry>", re.S)
_FIELD = {k: re.compile(p, re.S) for k, p in {
    "author": r"<name>/u/([^<]+)</name>", "id": r"<id>t3_([^<]+)</id>",
    "link": r'<link href="([^"]+)"', "published": r"<published>([^<]+)</published>",
    "title": r"<title>([^<]*)</title>"}.items()}


def reddit_listing(rss: str) -> dict[str, Any]:
    """A `Listing` of `t3` posts built from the (rebased) Atom feed.

    No real FreeGameFindings `new.json` was recorded (SOURCES.md), so this is the documented
    Listing shape filled from the real feed's posts: id, name, title, permalink, url,
    created_utc, author, link_flair_text (null), stickied (PSA posts), domain.
    """
    import html

    children = []
    for entry in _ENTRY.findall(rss):
        f = {k: (m.group(1) if (m := p.search(entry)) else "") for k, p in _FIELD.items()}
        title = html.unescape(f["title"])
        permalink = f["link"].replace("https://www.reddit.com", "")
        links = re.findall(r'&lt;a href=&quot;(http[^&]+)&quot;&gt;\[link\]', entry)
        url = html.unescape(links[0]) if links else f["link"]
        children.append({"kind": "t3", "data": {
            "id": f["id"], "name": f"t3_{f['id']}", "title": title, "author": f["author"],
            "subreddit": "FreeGameFindings", "permalink": permalink, "url": url,
            "domain": url.split("/")[2] if "://" in url else "self.FreeGameFindings",
            "created_utc": float(int(_parse(f["published"]).timestamp())) if f["published"] else 0.0,
            "link_flair_text": None, "link_flair_css_class": None,
            "stickied": title.startswith("[PSA]"), "over_18": False,
            "is_self": "://" not in url or "reddit.com" in url, "selftext": "", "score": 1}})
    return {"kind": "Listing", "data": {"after": None, "before": None, "dist": len(children),
                                        "modhash": "", "children": children}}
