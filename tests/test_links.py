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
