"""Family and operator pages over HTTP with the sandbox family's data."""

from __future__ import annotations

import re

import trio

from tests.web._flows import csrf_of, oauth_sign_in
from tests.web.conftest import ADMIN, MEMBER, assert_no_secret, open_client

FEATURES = ["new_games", "wishlist", "deals", "coop", "common_games", "members", "free_games",
            "admin", "admin_outbox", "dashboard"]


async def _populated(start_dashboard):
    world = await start_dashboard(features=FEATURES)
    with trio.fail_after(60):
        for job in ("new_games", "wishlist"):
            outcome = await world.app.scheduler.run_now(job)
            assert outcome.ok, outcome.error
    return world


def _rows(html: str, table: str) -> list[str]:
    body = html.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)


async def test_every_family_page_shows_the_sandbox_family(start_dashboard) -> None:
    world = await _populated(start_dashboard)
    async with await open_client(world) as client:
        with trio.fail_after(90):
            await oauth_sign_in(world, client, MEMBER)
            pages = {path: await client.get(path) for path in
                     ("/", "/wishlist", "/deals", "/free", "/members", "/play?copies=2")}
    for path, resp in pages.items():
        assert resp.status_code == 200, (path, resp.text[:500])
        assert_no_secret(world, resp)
    library = _rows(pages["/"].text, "library")
    assert len(library) > 5
    names = [m.persona for m in world.sandbox.family.members]
    assert all(name in pages["/members"].text for name in names)
    assert len(_rows(pages["/wishlist"].text, "wishlist")) > 0
    assert "<h2>Free now</h2>" in pages["/free"].text
    assert "Shareable multi-player games with 2+ copies" in pages["/play?copies=2"].text


async def test_library_search_filter_and_sort(start_dashboard) -> None:
    world = await _populated(start_dashboard)
    async with await open_client(world) as client:
        with trio.fail_after(60):
            await oauth_sign_in(world, client, MEMBER)
            everything = await client.get("/", params={"excluded": "all", "sort": "name"})
            names = re.findall(r'/app/\d+/">([^<]+)</a>', everything.text)
            assert names == sorted(names, key=str.casefold)
            word = names[0].split()[0]
            searched = await client.get("/", params={"q": word.lower(), "excluded": "all"})
            found = re.findall(r'/app/\d+/">([^<]+)</a>', searched.text)
            copies = await client.get("/", params={"copies": "2", "sort": "copies",
                                                   "desc": "1"})
            counts = [int(c) for c in re.findall(r'<td class="num">(\d+)</td>', copies.text)]
    assert found and all(word.lower() in n.lower() for n in found)
    assert counts and all(c >= 2 for c in counts) and counts == sorted(counts, reverse=True)


async def test_the_library_page_reads_the_store_again_only_when_the_library_changed(
        start_dashboard) -> None:
    from familybot_trio.store import AppDetails

    world = await _populated(start_dashboard)
    dash = world.app.dashboard
    async with await open_client(world) as client:
        with trio.fail_after(60):
            await oauth_sign_in(world, client, MEMBER)
            first = await client.get("/", params={"excluded": "all", "sort": "appid"})
            again = await client.get("/", params={"excluded": "all", "sort": "name"})
            builds = dash.library.builds
            appid = int(re.search(r'/app/(\d+)/', first.text).group(1))
            await world.app.store.catalog.put_details([AppDetails(
                appid, "Zz Renamed Game", "game", False, world.app.now())])
            renamed = await client.get("/", params={"excluded": "all", "sort": "appid"})
    assert builds == 1 and again.status_code == 200       # the second page used the model
    assert dash.library.builds == 2                       # the write made it stale
    assert "Zz Renamed Game" in renamed.text and "Zz Renamed Game" not in first.text


async def test_admin_sees_operator_pages_and_runs_a_job(start_dashboard) -> None:
    world = await _populated(start_dashboard)
    async with await open_client(world) as client:
        with trio.fail_after(60):
            await oauth_sign_in(world, client, ADMIN)
            ops = await client.get("/ops")
            jobs = await client.get("/ops/jobs")
            outbox = await client.get("/ops/outbox")
            before = world.app.scheduler.status("free_games").runs
            ran = await client.post("/ops/jobs/free_games/run", data={"csrf": csrf_of(jobs.text)})
            after = await client.get(ran.headers["location"])
    for resp in (ops, jobs, outbox, after):
        assert resp.status_code == 200
        assert_no_secret(world, resp)
    assert "Gateway" in ops.text and "<b>active</b>" in ops.text
    assert "<td>steam_webapi</td>" in ops.text
    assert 'id="job-new_games"' in jobs.text
    assert world.app.scheduler.status("free_games").runs == before + 1
    assert "free_games ran in" in after.text


async def test_wishlist_page_lists_what_the_pinned_message_lists_in_its_order(
        start_dashboard) -> None:
    from familybot_trio.sandbox.world import CHANNELS

    world = await _populated(start_dashboard)  # the wishlist job has pinned its messages
    async with await open_client(world) as client:
        with trio.fail_after(60):
            await oauth_sign_in(world, client, MEMBER)
            page = await client.get("/wishlist")
    assert page.status_code == 200
    pinned = [int(a) for m in world.discord.messages(CHANNELS["wishlist"]) if not m.deleted
              for e in m.embeds for a in re.findall(r"/app/(\d+)/", e.get("description", ""))]
    table = [int(a) for row in _rows(page.text, "wishlist")
             for a in re.findall(r"/app/(\d+)/", row)]
    free = [int(a) for a in re.findall(r"/app/(\d+)/", page.text.split(
        '<ul id="wishlist-free">', 1)[-1].split("</ul>", 1)[0])] if "wishlist-free" in page.text \
        else []
    assert len(pinned) > 10 and table + free == pinned
    fam = world.sandbox.family
    unshared = [a for a in table if 62 not in fam.apps[a].categories]
    assert unshared == []  # never a game the store marks as not family-shared
