"""familybot_trio.links: only a store's own hosts pass, and every URL is rebuilt from parts."""

from __future__ import annotations

import re

import pytest

from familybot_trio import links

SMUGGLED = "https://store.steampowered.com/app/620/x)[Claim it here](https://evil.example/login"

# (store the tag names, raw link) -> (rebuilt url, identity); None: refused.
CASES = [
    ("Steam", SMUGGLED, ("https://store.steampowered.com/app/620/", "steam:app/620")),
    ("Steam", "https://store.steampowered.com/app/753660/AtmaSphere/?snr=1_5",
     ("https://store.steampowered.com/app/753660/", "steam:app/753660")),
    ("Steam", "http://STORE.steampowered.com/sub/12345", (
        "https://store.steampowered.com/sub/12345/", "steam:sub/12345")),
    ("Steam", "https://store.steampowered.com/", ("https://store.steampowered.com/", None)),
    ("Steam", "https://evil.example/steam-free-cyberpunk", None),
    ("Steam", "https://store.steampowered.com.evil.example/app/1", None),
    ("Steam", "https://store.steampowered.com@evil.example/app/1", None),
    ("Steam", "https://user@store.steampowered.com/app/1", None),
    ("Steam", "https://store.steampowered.com:8443/app/1", None),
    ("Steam", "javascript:alert(1)//store.steampowered.com/app/1", None),
    ("Steam", "https://www.gog.com/en/game/x", None),             # another store's host
    ("GOG", "https://www.gog.com/en/game/metro_2033_redux",
     ("https://www.gog.com/en/game/metro_2033_redux", "gog:game/metro_2033_redux")),
    ("GOG", "https://gog.com/game/metro_2033_redux/?utm_source=fgf#top",
     ("https://www.gog.com/en/game/metro_2033_redux", "gog:game/metro_2033_redux")),
    ("GOG", "https://www.gog.com/en/", ("https://www.gog.com/en", None)),
    ("GOG", "https://www.gog.com/", ("https://www.gog.com/", None)),
    ("Epic Games", "https://store.epicgames.com/en-US/p/deliver-us-mars?lang=de",
     ("https://store.epicgames.com/p/deliver-us-mars", "epic:deliver-us-mars")),
    ("Epic Games", "https://www.epicgames.com/store/de/p/deliver-us-mars/home",
     ("https://store.epicgames.com/p/deliver-us-mars", "epic:deliver-us-mars")),
    ("Epic Games", "https://store.epicgames.com/bundles/x-f2p-promo-bundle",
     ("https://store.epicgames.com/bundles/x-f2p-promo-bundle", "epic:bundles/x-f2p-promo-bundle")),
    ("Epic Games", "https://store.epicgames.com/en-US/free-games",
     ("https://store.epicgames.com/en-US/free-games", None)),
    ("Epic Games", "https://store.epicgames.com/p/x)y", None),    # not a slug, no page
    ("itch.io", "https://somedev.itch.io/some-game?ref=fgf",
     ("https://somedev.itch.io/some-game", "url:somedev.itch.io/some-game")),
    ("itch.io", "https://evil.example/x.itch.io", None),
    ("itch.io", "https://a.b.itch.io/x", None),
    ("IndieGala", "https://freebies.indiegala.com/journey-of-the-sword/",
     ("https://freebies.indiegala.com/journey-of-the-sword",
      "url:freebies.indiegala.com/journey-of-the-sword")),
    ("Prime Gaming", "https://gaming.amazon.com/home?filter=Game",
     ("https://gaming.amazon.com/home", None)),
    ("Nowhere", "https://store.steampowered.com/app/1", None),   # no such store
]


@pytest.mark.parametrize(("store", "raw", "expected"), CASES)
def test_from_url(store: str, raw: str, expected: tuple[str, str | None] | None) -> None:
    link = links.from_url(store, raw)
    assert (None if link is None else (link.url, link.identity)) == expected
    if link is not None:
        assert link.store == store


HOSTILE = [SMUGGLED, "https://freebies.indiegala.com/a)[b](https://evil.example/",
           "https://freebies.indiegala.com/x y<z>\"'`\n[c]", "https://www.gog.com/en/<img>/)",
           "https://somedev.itch.io/%29%5Bx%5D(https://evil.example)",
           "https://gaming.amazon.com/loot/)](https://evil.example)"]


@pytest.mark.parametrize("raw", HOSTILE)
def test_no_url_character_can_end_a_markdown_link(raw: str) -> None:
    store = next(s for s, rule in links.STORES.items()
                 if any(h in raw for h in rule.hosts + rule.subdomain_of))
    link = links.from_url(store, raw)
    assert link is not None
    text = links.markdown_link("Game", link.url)
    assert re.fullmatch(r"\[Game\]\(https://[a-z0-9.-]+/[A-Za-z0-9._~%/-]*\)", text), text
    assert "evil.example" not in link.url or "%" in link.url


def test_markdown_link_refuses_raw_text() -> None:
    with pytest.raises(ValueError, match="unsafe link"):
        links.markdown_link("x", "https://store.steampowered.com/app/1/)[y](https://evil.example")


def test_every_store_says_where_its_hosts_come_from() -> None:
    for name, rule in links.STORES.items():
        assert rule.hosts and rule.source, name
        assert all(h == h.lower() and "/" not in h for h in rule.hosts)


#: Every post of the recorded r/FreeGameFindings feed whose tag names a PC store: what its
#: link becomes (rebuilt url, identity), or None when the link is not on that store.
RECORDED_FEED = {
    # [Epic Games] (Other): store.epicgames.com/p/<slug>: a product page, slug kept
    "Firestone Online Idle RPG - Special Offer": (
        "https://store.epicgames.com/p/firestone-online-idle-rpg-bfd04b",
        "epic:firestone-online-idle-rpg-bfd04b"),
    "Botanicula": ("https://store.epicgames.com/p/botanicula-50043d", "epic:botanicula-50043d"),
    # [Steam]: /app/<appid>/<name>/: rebuilt from the appid only
    "AtmaSphere": ("https://store.steampowered.com/app/753660/", "steam:app/753660"),
    "DOCAAY": ("https://store.steampowered.com/app/3182450/", "steam:app/3182450"),
    "Metro 2033 Redux": {
        "Steam": ("https://store.steampowered.com/app/286690/", "steam:app/286690"),
        "GOG": ("https://www.gog.com/en/game/metro_2033_redux", "gog:game/metro_2033_redux")},
    # [Steam] posts linking to gleam.io (key raffles): not a Steam host
    "Combat Force": None, "Cavern of Dreams": None, "Trivia Vault: Boxing Trivia": None,
    "Money Theft": None,
    # [Indiegala]: freebies.indiegala.com/<game>: the store's host, path kept
    "Journey of the Sword": ("https://freebies.indiegala.com/journey-of-the-sword",
                             "url:freebies.indiegala.com/journey-of-the-sword"),
    "Idle Champions of the Forgotten Realms - Astarion's Champions of Renown Pack": (
        "https://store.epicgames.com/p/idle-champions-of-the-forgotten-realms",
        "epic:idle-champions-of-the-forgotten-realms"),
    "Arcadegeddon - Arcadegeddon": (   # a /p/ link: kept as a product page
        "https://store.epicgames.com/p/arcadegeddon-arcadgeddon-f2p-promo-bundle-dc81c5",
        "epic:arcadegeddon-arcadgeddon-f2p-promo-bundle-dc81c5"),
    "River City Girls": ("https://store.epicgames.com/p/river-city-girls-e6f608",
                         "epic:river-city-girls-e6f608"),
    # [Steam] (Game) with a bare /app/<appid>/ link
    "Granny Kick Neighbor": ("https://store.steampowered.com/app/1301290/", "steam:app/1301290"),
    # [Steam] (DLC) linking to givee.club: not a Steam host
    "LostMagic - Adventurer's Starter Kit": None,
}


def test_every_recorded_feed_link() -> None:
    from familybot_trio.features._free_offers import PC_STORES
    from familybot_trio.upstream import freegames
    from tests.upstream.conftest import fixture_text

    seen = set()
    for post in freegames.parse_reddit_atom(fixture_text("reddit/fgf_new_rss_2025-04-18.xml")):
        store = PC_STORES.get(post.store.lower())
        if store is None or post.is_psa:
            continue
        want = RECORDED_FEED[post.name]
        if isinstance(want, dict):
            want = want[store]
        link = links.from_url(store, post.url)
        assert (None if link is None else (link.url, link.identity)) == want, post.name
        seen.add(post.name)
    assert seen == set(RECORDED_FEED)


def test_steam_profile_links_are_rebuilt() -> None:
    sid = 76561197960287930
    assert links.steam_profile(sid, "https://steamcommunity.com/id/gabelogannewell/") == \
        "https://steamcommunity.com/id/gabelogannewell/"
    for odd in ("https://evil.example/id/x/", "https://steamcommunity.com/id/x)[y](z/",
                "https://steamcommunity.com@evil.example/id/abc/", "", "not a url"):
        assert links.steam_profile(sid, odd) == f"https://steamcommunity.com/profiles/{sid}/"
