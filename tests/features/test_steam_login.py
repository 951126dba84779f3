"""Steam sign-in end to end: the real bot, FakeDiscord and the sandbox's fake Steam login.

The world's config points `steam_auth` at the sandbox (World does not write that upstream
yet). The bot's clock and the sandbox's move together by hand (`Clock.advance`), so a day
of token lifetime passes without sleeping; the fake hands out a 10 ms QR poll interval.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from types import MappingProxyType
from urllib.parse import quote

import trio

from familybot_trio.app import App
from familybot_trio.features.steam_login import JOB
from familybot_trio.sandbox._auth import fake_auth
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from gateway.testing import GUILD_ID

ADMIN, MEMBER = DISCORD_IDS[0], DISCORD_IDS[1]
DM = 1_300_000_000_000_000_001
REPORTS = CHANNELS["admin_reports"]
FEATURES = ["coop", "steam_login"]


class Clock:
    """The bot's `now`, shifted together with the sandbox's clock."""

    def __init__(self) -> None:
        self.offset_s = 0.0
        self.auth = None

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset_s)

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds
        self.auth.advance(seconds)


async def start(start_world, nursery, clock: Clock):
    world = await start_world(features=FEATURES, start_app=False)
    clock.auth = auth = fake_auth(world.sandbox)
    auth.interval_s = 0.01
    ups = {**world.config.upstreams, "steam_auth": world.sandbox.urls["steam_auth"]}
    world.config = dataclasses.replace(world.config, upstreams=MappingProxyType(ups))
    world.app = App(world.config, now=clock.now, features=FEATURES)
    await world.start_app(nursery)
    world.app.signin.min_poll_s = 0.0
    return world, auth


def posted(world) -> str:
    return json.dumps([(m.content, m.embeds) for m in world.discord.messages()])


def has(text: str):
    return lambda m: text in (m.content or "")


async def ask(world, name, options=None, *, user=ADMIN, dm=True):
    handle = await world.discord.send_interaction(
        name, options, user_id=user, channel_id=DM if dm else CHANNELS["new_games"],
        guild_id=None if dm else GUILD_ID)
    return await handle.wait_response()


async def test_qr_sign_in_by_dm_then_status(start_world, nursery, caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    world, auth = await start(start_world, nursery, clock)
    with trio.fail_after(30):
        refused = await ask(world, "admin_steam_login", dm=False)
        assert "DM only" in refused.content and not auth.sessions
        handle = await world.discord.send_interaction("admin_steam_login", user_id=ADMIN,
                                                      channel_id=DM, guild_id=None)
        first = await handle.wait_response()
        assert "Scan this QR code" in first.content and "```" in first.content
        assert auth.latest.challenge_url in first.content  # the QR's link, nothing else
        image = await world.discord.wait_for_message(DM, lambda m: bool(m.attachments))
        png = image.attachments[0]
        assert png["content_type"] == "image/png" and png["data"].startswith(b"\x89PNG")
        auth.rotate()
        await world.discord.wait_for_message(None, has("Steam replaced the QR code"))
        auth.scan()
        await world.discord.wait_for_message(None, has("Scanned."))
        auth.approve()
        done = await world.discord.wait_for_message(None, has("Approved."))
        state = world.app.signin.state
        assert f"SteamID64 {state.steamid}" in done.content
        assert world.app.tokens.peek().value == state.access_token
        status = await ask(world, "admin_steam_status")
        assert "Access token expires" in status.content and "Last error: none" in status.content
        coop = await ask(world, "coop", user=MEMBER, dm=False)
        assert coop.embeds                     # the family call works with the new token
    text = posted(world) + caplog.text
    for secret in [*auth.refresh, *auth.issued_access, auth.latest.request_id]:
        assert secret not in text


async def test_renewal_keeps_family_commands_working(start_world, nursery) -> None:
    clock = Clock()
    world, auth = await start(start_world, nursery, clock)
    with trio.fail_after(30):
        cookie = quote(f"{world.sandbox.family.members[0].steamid}||{auth.mint_refresh()}",
                       safe="")
        saved = await ask(world, "admin_steam_paste_cookie", {"text": cookie})
        assert "Saved for SteamID64" in saved.content
        before = world.app.tokens.peek().value
        clock.advance(23 * 3600)                  # within 2 h of expiry: the job renews
        outcome = await world.app.scheduler.run_now(JOB)
        assert outcome.ok and world.app.tokens.peek().value != before
        assert (await ask(world, "coop", user=MEMBER, dm=False)).embeds
        clock.advance(25 * 3600)                  # no job ran: renewed before the call
        assert (await ask(world, "coop", user=MEMBER, dm=False)).embeds
        world.sandbox.expire_access_token()       # refused early: 401, renew once, retry
        assert (await ask(world, "coop", user=MEMBER, dm=False)).embeds
    assert world.sandbox.counts["steam_auth.finalizelogin"] == 4
    assert world.discord.messages(REPORTS) == []


async def test_revoked_sign_in_one_admin_message_and_plain_member_replies(start_world,
                                                                         nursery) -> None:
    clock = Clock()
    world, auth = await start(start_world, nursery, clock)
    with trio.fail_after(30):
        await ask(world, "admin_steam_paste_cookie", {"text": auth.mint_refresh()})
        auth.revoke_all()
        clock.advance(25 * 3600)
        for _ in range(3):
            assert (await world.app.scheduler.run_now(JOB)).ok
        reports = world.discord.messages(REPORTS)
        assert len(reports) == 1 and "sign in again" in reports[0].content.lower()
        reply = await ask(world, "coop", user=MEMBER, dm=False)
        assert "The Steam sign-in must be renewed" in reply.content
        assert "/admin_steam_login" in reply.content and "eyJ" not in reply.content
        status = await ask(world, "admin_steam_status")
        assert "SIGN-IN NEEDED" in status.content
    assert len(world.discord.messages(REPORTS)) == 1


async def test_fallbacks_accepted_when_valid_refused_clearly_when_not(start_world, nursery,
                                                                     caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    world, auth = await start(start_world, nursery, clock)
    refresh = auth.mint_refresh()
    access = auth.mint_access(refresh)
    with trio.fail_after(30):
        r = await ask(world, "admin_steam_paste_cookie", {"text": access})
        assert "Not saved: that is an access token" in r.content
        r = await ask(world, "admin_steam_paste_token", {"text": refresh})
        assert "Not saved: that is a refresh token" in r.content
        r = await ask(world, "admin_steam_paste_token", {"text": "hunter2-not-a-token"})
        assert "Not saved: not a Steam token" in r.content
        r = await ask(world, "admin_steam_paste_token", {"text": access}, dm=False)
        assert "DM only" in r.content
        r = await ask(world, "admin_steam_paste_token", {"text": access})
        assert "Saved for SteamID64" in r.content and "not renewed automatically" in r.content
        assert world.app.tokens.peek().value == access
        r = await ask(world, "admin_steam_paste_cookie", {"text": f"steamRefresh_steam={refresh}"})
        assert "Saved for SteamID64" in r.content and world.app.signin.state.route == \
            "refresh_cookie"
        leaked = auth.mint_refresh()
        msg_id = await world.discord.send_message(
            CHANNELS["new_games"], f"!admin_steam_paste_cookie {leaked}", author_id=ADMIN)
        refusal = await world.discord.wait_for_message(CHANNELS["new_games"],
                                                       has("Not saved"))
        assert "deleted your message" in refusal.content
        await world.discord.rest.wait_for_request("DELETE", f"/messages/{msg_id}")
        out = await ask(world, "admin_steam_logout")
        assert "Steam revoked the sign-in" in out.content
    text = posted(world) + caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (refresh, access, leaked, "hunter2-not-a-token"):
        assert secret not in text
