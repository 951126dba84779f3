"""The dashboard in a real browser (headless Chromium via Selenium), signed in through
FakeDiscord's OAuth2 consent screen. Screenshots of every page land in
tests/web/_browser.SCREENSHOT_DIR. Skipped, with the install line, without Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import trio

from familybot_trio.sandbox.world import CHANNELS, World
from familybot_trio.store import OutboxDraft, Snowflake
from tests.web._browser import Browser, page_source, require_browser, wait_for_next_page
from tests.web.conftest import ADMIN, MEMBER, OUTSIDER

FEATURES = ["new_games", "wishlist", "deals", "coop", "common_games", "members", "free_games",
            "admin", "admin_outbox", "dashboard"]
FAMILY_PAGES = {"library": "/", "wishlist": "/wishlist", "deals": "/deals", "free": "/free",
                "members": "/members", "play": "/play?copies=2"}
OPERATOR_PAGES = {"operator": "/ops", "jobs": "/ops/jobs", "outbox": "/ops/outbox"}


@pytest.fixture(autouse=True)
def _browser_present() -> None:
    require_browser()


async def _world(start_dashboard) -> World:
    world = await start_dashboard(features=FEATURES)
    with trio.fail_after(60):
        for job in ("new_games", "wishlist"):
            assert (await world.app.scheduler.run_now(job)).ok
    return world


async def _browser(tmp_path: Path, name: str) -> Browser:
    with trio.fail_after(60):
        return await Browser.start(tmp_path / f"chrome-{name}")


async def _sign_in(world: World, browser: Browser, user_id: int) -> str:
    """Sign-in page -> Discord button -> FakeDiscord consent as `user_id` -> back."""
    page = await browser.get(world.app.dashboard.url + "/auth/login")
    assert "Sign in with Discord" in page
    consent = await browser.click("#discord-signin")
    assert "Authorize access to your account" in consent
    await browser.select("#user", str(user_id))
    return await browser.click("#authorize")


async def _failed_row(world: World) -> int:
    """An announcement Discord refused (403 Missing Permissions): a failed outbox row."""
    # Only the deals channel refuses: the free games the job run above queued post to their
    # own channel meanwhile, and must not take the scripted 403 instead of this row.
    world.discord.fail_next("POST", f"/channels/{CHANNELS['deals']}/messages", 403,
                            body={"code": 50013, "message": "Missing Permissions"})
    await world.app.announce([OutboxDraft("test", "dashboard:retry-me",
                                          Snowflake(CHANNELS["deals"]),
                                          {"content": "retried from the dashboard"})])
    while True:
        failed = [r for r in await world.app.store.outbox.rows("failed")
                  if r.dedupe_key == "dashboard:retry-me"]
        if failed:
            return int(failed[0].id)
        await world.discord.rest.wait_for_request("POST", "/messages")


async def test_admin_browses_every_page_searches_runs_a_job_and_retries_a_row(
        start_dashboard, tmp_path: Path) -> None:
    world = await _world(start_dashboard)
    browser = await _browser(tmp_path, "admin")
    try:
        with trio.fail_after(240):
            home = await _sign_in(world, browser, ADMIN)
            assert "<h1>Family library</h1>" in home and "Operator" in home
            for name, path in {**FAMILY_PAGES, **OPERATOR_PAGES}.items():
                source = await browser.get(world.app.dashboard.url + path)
                assert "<h1>" in source and "Traceback" not in source, name
                await browser.screenshot(f"admin-{name}")
            # search, filter and sort on the library page
            await browser.get(world.app.dashboard.url + "/")
            names = await browser.texts("#library tbody tr td:first-child")
            word = names[0].split()[0]
            await browser.fill("#q", word)
            await browser.select("#sort", "copies")
            await browser.select("#excluded", "all")
            await browser.click("#apply")
            found = await browser.texts("#library tbody tr td:first-child")
            assert found and all(word.lower() in n.lower() for n in found)
            await browser.screenshot("admin-library-search")
            await browser.get(world.app.dashboard.url + "/?copies=2&sort=copies&desc=1")
            copies = [int(c) for c in await browser.texts("#library tbody tr td:nth-child(3)")]
            assert copies and min(copies) >= 2 and copies == sorted(copies, reverse=True)
            # run a job now
            before = world.app.scheduler.status("free_games").runs
            await browser.get(world.app.dashboard.url + "/ops/jobs")
            ran = await browser.click("#run-free_games")
            assert "free_games ran in" in ran
            # (the job's own first scheduled run may also have come meanwhile)
            assert world.app.scheduler.status("free_games").runs >= before + 1
            await browser.screenshot("admin-jobs-ran")
            # retry a failed outbox row
            row = await _failed_row(world)
            await browser.get(world.app.dashboard.url + "/ops/outbox")
            await browser.screenshot("admin-outbox-failed")
            retried = await browser.click(f"#retry-{row}")
            assert f"Retrying #{row}" in retried
            posted = await world.discord.wait_for_message(
                CHANNELS["deals"], lambda m: m.content == "retried from the dashboard")
            assert posted.content == "retried from the dashboard"
    finally:
        await browser.aclose()


async def test_member_sees_family_pages_but_no_operator_page_or_action(
        start_dashboard, tmp_path: Path) -> None:
    world = await _world(start_dashboard)
    browser = await _browser(tmp_path, "member")
    try:
        with trio.fail_after(180):
            home = await _sign_in(world, browser, MEMBER)
            assert "<h1>Family library</h1>" in home and 'href="/ops"' not in home
            await browser.get(world.app.dashboard.url + "/play?copies=2")
            await browser.screenshot("member-play")
            ops = await browser.get(world.app.dashboard.url + "/ops/jobs")
            assert "Admins only" in ops
            await browser.screenshot("member-operator-refused")
            # a hand-made form with the member's own CSRF token, posted to an admin action
            await browser.get(world.app.dashboard.url + "/members")
            refused = await browser.do(lambda d: _post_form(d, "/ops/jobs/free_games/run"))
            assert "Admins only" in refused
    finally:
        await browser.aclose()
    assert world.app.scheduler.status("free_games").runs == 0


def _post_form(driver, action: str, *, csrf: bool = True) -> str:
    """Build and submit a POST form in the page (what a crafted page would send)."""
    old = driver.find_element("tag name", "html")
    driver.execute_script("""
        const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
        if (arguments[1]) { const t = document.querySelector('input[name=csrf]').cloneNode();
                            f.appendChild(t); }
        document.body.appendChild(f); f.submit();""", action, csrf)
    wait_for_next_page(driver, old)
    return page_source(driver)


async def test_outsider_refused_and_missing_csrf_refused(start_dashboard, tmp_path: Path) -> None:
    world = await _world(start_dashboard)
    browser = await _browser(tmp_path, "outsider")
    try:
        with trio.fail_after(180):
            refused = await _sign_in(world, browser, OUTSIDER)
            assert "Not a family member" in refused and "/link" in refused
            await browser.screenshot("outsider-refused")
            await browser.do(lambda d: d.delete_all_cookies())
            await _sign_in(world, browser, ADMIN)
            await browser.get(world.app.dashboard.url + "/ops/jobs")
            no_csrf = await browser.do(lambda d: _post_form(d, "/ops/jobs/free_games/run",
                                                            csrf=False))
            assert "Request refused" in no_csrf and "security token" in no_csrf
            await browser.screenshot("admin-missing-csrf")
    finally:
        await browser.aclose()
    assert world.app.scheduler.status("free_games").runs == 0


async def test_one_time_link_works_once(start_dashboard, tmp_path: Path) -> None:
    world = await start_dashboard()
    handle = await world.discord.send_interaction("admin_dashboard", user_id=ADMIN,
                                                  guild_id=None)
    url = re.search(r"<(http://[^>]+)>", (await handle.wait_response()).content).group(1)
    browser = await _browser(tmp_path, "link")
    try:
        with trio.fail_after(120):
            page = await browser.get(url)
            assert "one-time link" in page
            await browser.screenshot("link-confirm")
            home = await browser.click("#use-link")
            assert "<h1>Family library</h1>" in home
            await browser.do(lambda d: d.delete_all_cookies())
            await browser.get(url)
            again = await browser.click("#use-link")
            assert "Link used or expired" in again
            await browser.screenshot("link-used")
    finally:
        await browser.aclose()
