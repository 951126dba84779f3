"""Dashboard sign-in over HTTP: Discord OAuth2 through FakeDiscord, one-time links, roles,
CSRF, revocation and the rate limit. Every response is scanned for secrets."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import pytest
import trio

from familybot_trio.web._auth import SIGNIN_ATTEMPTS
from tests.web._flows import csrf_of, link_sign_in, oauth_sign_in, query
from tests.web.conftest import ADMIN, MEMBER, OUTSIDER, assert_no_secret, open_client


async def test_a_member_signs_in_with_discord_and_sees_family_pages_only(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(30):
            done = await oauth_sign_in(world, client, MEMBER, next_path="/members")
            assert done.status_code == 303 and done.headers["location"] == "/members"
            cookie = done.headers["set-cookie"]
            assert "fb_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
            assert "Secure" not in cookie          # plain http on loopback
            members = await client.get("/members")
            assert members.status_code == 200 and "<h1>Members</h1>" in members.text
            assert "Operator" not in members.text  # no operator links for a member
            ops = await client.get("/ops")
            csrf = csrf_of(members.text)
            run = await client.post("/ops/jobs/token_check/run", data={"csrf": csrf})
            for resp in (done, members, ops, run):
                assert_no_secret(world, resp)
    assert ops.status_code == 403 and "Admins only" in ops.text
    assert run.status_code == 403
    assert world.app.scheduler.status("token_check").runs == 0   # the POST did nothing
    assert world.discord.oauth.exchanges == 1


async def test_pkce_and_state_reach_discord_and_a_callback_works_once(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(30):
            start = await client.get("/auth/discord")
            q = query(start.headers["location"])
            assert q["scope"] == "identify" and q["response_type"] == "code"
            assert q["code_challenge_method"] == "S256" and len(q["state"]) >= 32
            assert q["redirect_uri"] == world.app.dashboard.redirect_url
            done = await oauth_sign_in(world, client, ADMIN)
            assert done.status_code == 303
            callback = done.request.url
            again = await client.get(str(callback))   # a replayed callback (state used up)
    assert again.status_code == 400 and "Sign-in expired" in again.text


async def test_someone_outside_the_family_gets_a_clear_403(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(30):
            refused = await oauth_sign_in(world, client, OUTSIDER)
            after = await client.get("/")
    assert refused.status_code == 403
    assert "Not a family member" in refused.text and "/link" in refused.text
    assert "set-cookie" not in refused.headers or "fb_session" not in refused.headers["set-cookie"]
    assert after.status_code == 303                      # still not signed in
    assert_no_secret(world, refused)


async def test_a_post_without_the_csrf_token_is_refused(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(60):
            await oauth_sign_in(world, client, ADMIN)
            missing = await client.post("/ops/jobs/token_check/run")
            wrong = await client.post("/ops/jobs/token_check/run", data={"csrf": "x" * 43})
            page = await client.get("/ops/jobs")
            ok = await client.post("/ops/jobs/token_check/run", data={"csrf": csrf_of(page.text)})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert "security token" in missing.text
    assert ok.status_code == 303 and "token_check%20ran" in ok.headers["location"]
    assert world.app.scheduler.status("token_check").runs == 1


async def test_the_one_time_link_works_once_and_only_in_a_dm(start_dashboard) -> None:
    world = await start_dashboard()
    with trio.fail_after(30):
        in_channel = await world.discord.send_interaction("admin_dashboard", user_id=ADMIN)
        refused = await in_channel.wait_response()
        assert "only in a DM" in refused.content and "/auth/link/" not in refused.content
        dm = await world.discord.send_interaction("admin_dashboard", user_id=ADMIN,
                                                  guild_id=None)
        reply = await dm.wait_response()
    url = re.search(r"<(http://[^>]+/auth/link/[^>]+)>", reply.content).group(1)
    async with await open_client(world) as first, await open_client(world) as second:
        with trio.fail_after(30):
            preview = await second.get(url)         # a link preview fetch changes nothing
            assert preview.status_code == 200
            used = await link_sign_in(first, url)
            assert used.status_code == 303 and "fb_session=" in used.headers["set-cookie"]
            home = await first.get("/ops")
            replay = await link_sign_in(second, url)
            no_csrf = await second.post(urlsplit(url).path)
    assert home.status_code == 200 and "Operator" in home.text
    assert replay.status_code == 403 and "used or expired" in replay.text
    assert no_csrf.status_code == 403


async def test_revoke_ends_every_session(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(30):
            await oauth_sign_in(world, client, MEMBER)
            assert (await client.get("/members")).status_code == 200
            handle = await world.discord.send_interaction(
                "admin_dashboard", {"action": "revoke"}, user_id=ADMIN, guild_id=None)
            reply = await handle.wait_response()
            after = await client.get("/members")
    assert "Ended 1 dashboard sessions" in reply.content
    assert after.status_code == 303 and after.headers["location"].startswith("/auth/login")


async def test_sign_in_attempts_are_rate_limited(start_dashboard) -> None:
    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(30):
            answers = [(await client.get("/auth/discord")).status_code
                       for _ in range(SIGNIN_ATTEMPTS + 1)]
            last = await client.get("/auth/discord")
    assert answers[:SIGNIN_ATTEMPTS] == [303] * SIGNIN_ATTEMPTS
    assert answers[-1] == 429 and int(last.headers["retry-after"]) > 0


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(
        start_dashboard) -> None:
    world = await start_dashboard()      # no trusted_proxies: every request is its TCP peer
    async with await open_client(world) as client:
        with trio.fail_after(30):
            answers = [(await client.get("/auth/discord", headers={
                "x-forwarded-for": f"198.51.100.{i}"})).status_code
                for i in range(SIGNIN_ATTEMPTS + 1)]
    assert answers == [303] * SIGNIN_ATTEMPTS + [429]


async def test_behind_a_trusted_proxy_the_real_client_is_limited(start_dashboard) -> None:
    world = await start_dashboard(dashboard_extra='trusted_proxies = ["127.0.0.1"]\n')
    async with await open_client(world) as client:
        with trio.fail_after(30):
            # nginx-style: the client's own (spoofed) hops first, the proxy's hop last.
            answers = [(await client.get("/auth/discord", headers={
                "x-forwarded-for": f"10.9.9.{i}, 203.0.113.7"})).status_code
                for i in range(SIGNIN_ATTEMPTS + 1)]
            other = await client.get("/auth/discord",
                                     headers={"x-forwarded-for": "203.0.113.8"})
            local = await client.get("/auth/discord")    # the proxy host's own address
    assert answers == [303] * SIGNIN_ATTEMPTS + [429]   # spoofed hops did not help
    assert other.status_code == 303                       # someone else is not locked out
    assert local.status_code == 303


async def test_trusting_every_peer_as_a_proxy_is_warned_at_start(
        start_dashboard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="familybot_trio.web")
    await start_dashboard(dashboard_extra='trusted_proxies = ["127.0.0.1", "0.0.0.0/0", '
                          '"::/0"]\n')
    warned = [r.getMessage() for r in caplog.records if "trusted_proxies" in r.getMessage()]
    assert len(warned) == 1, warned
    assert "0.0.0.0/0, ::/0" in warned[0] and "every peer" in warned[0], warned


async def test_a_plain_trusted_proxy_is_not_warned(start_dashboard,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="familybot_trio.web")
    await start_dashboard(dashboard_extra='trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]\n')
    assert not [r for r in caplog.records if "trusted_proxies" in r.getMessage()]


async def test_the_cli_revokes_sessions_and_prints_admin_links(start_dashboard) -> None:
    from tests._cli_helpers import run_cli

    world = await start_dashboard()
    async with await open_client(world) as client:
        with trio.fail_after(60):
            await oauth_sign_in(world, client, MEMBER)
            revoked = await run_cli(world, "dashboard", "revoke")
            after = await client.get("/members")
            link = await run_cli(world, "dashboard", "link")
            url = link.out.splitlines()[0]
            used = await link_sign_in(client, url.replace(world.config.dashboard.public_url,
                                                          world.app.dashboard.url))
            ops = await client.get("/ops")
            member_link = await run_cli(world, "dashboard", "link", "--discord-id", str(MEMBER))
    assert revoked.code == 0 and "ended 1 dashboard sessions" in revoked.out
    assert after.status_code == 303
    assert link.code == 0 and "/auth/link/" in url
    assert used.status_code == 303 and ops.status_code == 200
    assert member_link.code == 1 and "for admins" in member_link.out
