"""/owned ("do we already own it?") and its autocomplete, through FakeDiscord and the sandbox."""

from __future__ import annotations

import trio

from familybot_trio.sandbox._family import EXCLUDE_BY_PARTNER, MEMBER_STEAMIDS, PERSONAS
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS

CHANNEL = CHANNELS["new_games"]
FEATURES = ["new_games", "wishlist", "owned"]
STARDEW = 413150  # in the sandbox library (a recorded appdetails fixture)
ELDEN_RING = 1245620  # on sandbox wishlists, not in the library
YUGIOH_DLC = 523510  # a DLC in the library; its base game 480650 is not


async def _ready(world) -> None:
    """Store the library and wishlists, then build the name index, as the jobs do."""
    for job in ("new_games", "wishlist", "owned_index"):
        outcome = await world.app.scheduler.run_now(job)
        assert outcome.ok, (job, outcome)


async def _owned(world, game: str, *, user: int = DISCORD_IDS[1]):
    with trio.fail_after(30):
        handle = await world.discord.send_interaction("owned", {"game": game}, user_id=user,
                                                      channel_id=CHANNEL)
        return await handle.wait_response()


def _fields(reply) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0].get("fields", [])}


async def test_owned_by_name_with_a_typo_names_owners_copies_and_sharing(start_world) -> None:
    world = await start_world(features=FEATURES)
    await _ready(world)
    lib = world.sandbox.family.library[STARDEW]
    reply = await _owned(world, "stardew valey")  # typo on purpose
    embed = reply.embeds[0]
    assert embed["title"] == "Stardew Valley"
    assert embed["description"].startswith("Yes, the family already owns it.")
    fields = _fields(reply)
    copies = len(lib.owners)
    assert f"{copies} cop{'y' if copies == 1 else 'ies'}" in fields["Owners"]
    for sid in lib.owners:
        assert PERSONAS[MEMBER_STEAMIDS.index(sid)] in fields["Owners"]
    assert fields["Sharing"] == ("shareable with the family" if lib.exclude_reason == 0
                                 else fields["Sharing"])
    assert "now" in fields["Price"]


async def test_owned_by_store_url_for_a_wished_game_nobody_owns(start_world) -> None:
    world = await start_world(features=FEATURES)
    await _ready(world)
    fam = world.sandbox.family
    wishers = sorted(PERSONAS[MEMBER_STEAMIDS.index(s)] for s, items in fam.wishlists.items()
                     if ELDEN_RING in items)
    assert wishers  # the sandbox has someone wishing for it
    reply = await _owned(world, f"https://store.steampowered.com/app/{ELDEN_RING}/ELDEN_RING/")
    embed = reply.embeds[0]
    assert embed["description"].startswith("No, nobody in the family owns it.")
    fields = _fields(reply)
    assert "Owners" not in fields
    for name in wishers:
        assert name in fields["Wished for by"]
    low = fam.history_low_cents[ELDEN_RING]
    assert f"low ${low / 100:.2f}" in fields["Price"]  # Steam's low or the lowest anywhere


async def test_owned_by_appid_shows_why_an_app_is_excluded(start_world) -> None:
    world = await start_world(features=FEATURES)
    world.sandbox.add_library_app(999_201, MEMBER_STEAMIDS[2], name="Partner Locked Game",
                                  exclude_reason=EXCLUDE_BY_PARTNER)
    await _ready(world)
    reply = await _owned(world, "999201")
    fields = _fields(reply)
    assert fields["Sharing"] == "not shared: the publisher does not allow Family Sharing for it"
    assert PERSONAS[2] in fields["Owners"] and "1 copy" in fields["Owners"]


async def test_owned_dlc_says_whether_the_family_owns_the_base_game(start_world) -> None:
    world = await start_world(features=FEATURES)
    await _ready(world)
    reply = await _owned(world, str(YUGIOH_DLC))
    assert "480650" in _fields(reply)["Base game"]  # named from the store's related_items
    assert "nobody in the family owns it" in _fields(reply)["Base game"]
    # once a member buys the base game, the same question says so
    world.sandbox.add_library_app(480650, MEMBER_STEAMIDS[0], name="Yu-Gi-Oh! Legacy of the Duelist")
    await _ready(world)
    reply = await _owned(world, str(YUGIOH_DLC))
    assert "the family owns it" in _fields(reply)["Base game"]
    assert "nobody" not in _fields(reply)["Base game"]


async def test_owned_unknown_name_says_how_to_ask_instead(start_world) -> None:
    world = await start_world(features=FEATURES)
    await _ready(world)
    reply = await _owned(world, "zzqx no such game qqzz")
    assert reply.is_ephemeral
    assert "store URL or appid" in reply.content


async def test_owned_for_an_appid_steam_does_not_know_says_so(start_world) -> None:
    world = await start_world(features=FEATURES)
    await _ready(world)
    reply = await _owned(world, "99999999")
    assert reply.is_ephemeral and "no Steam app has the id 99999999" in reply.content


async def test_autocomplete_answers_from_the_local_index_without_any_upstream_request(
        start_world) -> None:
    world = await start_world(features=FEATURES)
    await _ready(world)
    before = world.sandbox.total_requests()
    with trio.fail_after(30):
        handle = await world.discord.send_interaction("owned", {"game": "stardw"}, focused="game",
                                                      user_id=DISCORD_IDS[1], channel_id=CHANNEL)
        choices = await handle.wait_choices()
    assert world.sandbox.total_requests() == before  # nothing asked of Steam or ITAD
    assert handle.callback_types == [8]
    assert choices[0] == {"name": "Stardew Valley", "value": str(STARDEW)}
    assert len(choices) <= 25
    # wished-for games are in the index too
    handle = await world.discord.send_interaction("owned", {"game": "elden"}, focused="game",
                                                  user_id=DISCORD_IDS[1], channel_id=CHANNEL)
    assert {"name": "ELDEN RING", "value": str(ELDEN_RING)} in await handle.wait_choices()
    assert world.sandbox.total_requests() == before


def test_name_index_ranks_prefixes_first_then_words_then_typos() -> None:
    from familybot_trio.features._owned_index import NameIndex
    idx = NameIndex()
    idx.replace({1: "Stardew Valley", 2: "Starbound", 3: "A", 4: "The Star Game",
                 5: "Pixel Game Maker Series Remote Bomber", 6: "Portal 2"})
    got = [a for a, _, _ in idx.search("star")]
    assert got[:2] == [2, 1]  # names starting with it, shortest first
    assert got[2] == 4  # then a word starting with it
    assert 3 not in got  # a name shorter than the query is no piece of it
    assert [a for a, _, _ in idx.search("stardew valey", limit=1, cutoff=80)] == [1]  # typo
    assert idx.search("zzqx no such game qqzz", cutoff=80) == []  # one shared word is no match
    assert [a for a, _, _ in idx.search("portl")][:1] == [6]


async def test_a_posted_store_link_gets_the_card_once_a_day(start_world) -> None:
    world = await start_world(features=FEATURES,
                              extra_config="[owned]\nanswer_store_links = true\n")
    await _ready(world)
    text = f"should we buy https://store.steampowered.com/app/{ELDEN_RING}/ELDEN_RING/ ?"
    with trio.fail_after(30):
        posted = await world.discord.send_message(CHANNEL, text, author_id=DISCORD_IDS[2])
        reply = await world.discord.wait_for_message(CHANNEL)
        await world.discord.send_message(CHANNEL, text, author_id=DISCORD_IDS[3])  # again
        await world.app.flush_outbox()
    cards = [m for m in world.discord.messages(CHANNEL)
             if any(e.get("footer", {}).get("text") == f"appid {ELDEN_RING}" for e in m.embeds)]
    assert len(cards) == 1 and cards[0].id == reply.id  # one answer per link per channel a day
    assert "nobody in the family owns it" in reply.embeds[0]["description"]
    sent = [q.json for q in world.discord.rest.requests
            if q.method == "POST" and q.path.endswith(f"/channels/{CHANNEL}/messages")]
    assert [b["message_reference"]["message_id"] for b in sent] == [str(posted)]  # a reply


async def test_store_links_are_not_answered_unless_configured(start_world) -> None:
    world = await start_world(features=FEATURES)
    await _ready(world)
    with trio.fail_after(30):
        await world.discord.send_message(
            CHANNEL, f"https://store.steampowered.com/app/{STARDEW}/", author_id=DISCORD_IDS[2])
        await world.app.flush_outbox()
    assert world.discord.messages(CHANNEL) == []


async def test_store_links_in_another_server_get_no_answer(start_world) -> None:
    world = await start_world(features=FEATURES,
                              extra_config="[owned]\nanswer_store_links = true\n")
    await _ready(world)
    with trio.fail_after(30):
        await world.discord.send_message(CHANNEL, f"https://store.steampowered.com/app/{STARDEW}/",
                                         author_id=DISCORD_IDS[2], guild_id=4321)
        await world.app.flush_outbox()
    assert world.discord.messages(CHANNEL) == []
