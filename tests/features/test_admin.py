"""Admin commands and the token/schedule reports, end to end through FakeDiscord + sandbox."""

from __future__ import annotations

import base64
import json
import logging
import time

import trio

from familybot_trio.sandbox import Fault
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS

ADMIN, MEMBER = DISCORD_IDS[0], DISCORD_IDS[1]
CHAN = CHANNELS["new_games"]
REPORTS = CHANNELS["admin_reports"]


def make_token(steamid: int, expires_in_s: float) -> str:
    """A JWT-shaped Steam access token (unsigned) expiring `expires_in_s` from now."""
    def b64(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    claims = {"sub": str(steamid), "aud": ["web:store"], "exp": int(time.time() + expires_in_s)}
    return f"{b64({'typ': 'JWT', 'alg': 'EdDSA'})}.{b64(claims)}.c2lnbmF0dXJlLXNlY3JldA"


async def ask(world, name: str, options: dict | None = None, user: int = ADMIN, **kw):
    handle = await world.discord.send_interaction(name, options, user_id=user,
                                                  channel_id=kw.pop("channel_id", CHAN), **kw)
    return await handle.wait_response()


def everything_posted(world) -> str:
    return json.dumps([(m.content, m.embeds) for m in world.discord.messages()])


async def test_members_are_refused_every_admin_command(start_world) -> None:
    world = await start_world(features=["free_games", "admin"])
    with trio.fail_after(20):
        for name, opts in [("admin_refresh", {"what": "free"}), ("admin_purge", {"cache": "all"}),
                           ("admin_token_status", None), ("admin_status", None)]:
            reply = await ask(world, name, opts, user=MEMBER)
            assert reply.is_ephemeral and "admins only" in reply.content, name
        await world.discord.send_message(CHAN, "!admin_purge all", author_id=MEMBER)
        msg = await world.discord.wait_for_message(CHAN, lambda m: m.kind == "message")
        assert "admins only" in msg.content
    assert await world.app.store.state.posted_free_games() == []   # nothing ran


async def test_refresh_runs_the_job_and_names_missing_ones(start_world) -> None:
    world = await start_world(features=["free_games", "admin"])
    with trio.fail_after(20):
        reply = await ask(world, "admin_refresh", {"what": "free"})
        assert reply.is_ephemeral and "`free_games` ran in" in reply.content
        posted = await world.discord.wait_for_message(CHANNELS["free_games"])
        assert posted.embeds[0]["title"].startswith("Free: ")
        reply = await ask(world, "admin_refresh", {"what": "library"})
        assert "`new_games`" in reply.content and "not registered" in reply.content
        world.sandbox.fail_next("epic", Fault.FORBIDDEN, n=1)
        reply = await ask(world, "admin_refresh", {"what": "free"})
        assert "`free_games` failed" in reply.content and "epic" in reply.content


async def test_purge_drops_the_chosen_namespaces(start_world) -> None:
    world = await start_world(features=["admin"])
    store, now = world.app.store, world.app.now()
    for ns in ("details:US", "unknown:US", "price:US", "itad_lookup", "other"):
        await store.cache.put_many(ns, {"1": "x", "2": "y"}, ttl_s=3600, now=now)
    with trio.fail_after(20):
        reply = await ask(world, "admin_purge", {"cache": "prices"})
        assert "Purged 4 cached rows" in reply.content
        assert await store.cache.get_many("price:US", ["1", "2"], now) == {}
        assert await store.cache.get_many("itad_lookup", ["1"], now) == {}
        assert len(await store.cache.get_many("details:US", ["1", "2"], now)) == 2
        await world.discord.send_message(CHAN, "!admin_purge all", author_id=ADMIN)
        msg = await world.discord.wait_for_message(
            CHAN, lambda m: m.kind == "message" and "Purged" in (m.content or ""))
        assert "Purged 4 cached rows" in msg.content
    assert await store.cache.get_many("details:US", ["1"], now) == {}
    assert len(await store.cache.get_many("other", ["1", "2"], now)) == 2   # not ours


async def test_token_set_and_status_never_show_the_token(start_world, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    world = await start_world(features=["admin"])
    member2 = int(world.sandbox.family.members[1].steamid)
    good = make_token(member2, 20 * 3600)
    dm = 1_300_000_000_000_000_001
    with trio.fail_after(20):
        # a secret-carrying command works only in a DM, even as a slash command
        before = world.app.tokens.peek()
        refused = await ask(world, "admin_token_set", {"token": good})
        assert refused.is_ephemeral and "DM only" in refused.content
        assert world.app.tokens.peek() == before
        reply = await ask(world, "admin_token_set", {"token": good}, channel_id=dm, guild_id=None)
        assert reply.is_ephemeral and reply.content.startswith("Saved.")
        assert str(member2) in reply.content
        assert world.app.tokens.peek().steamid == member2
        stored = await trio.Path(world.app.tokens.path).read_text()
        assert stored.strip() == good

        reply = await ask(world, "admin_token_status")
        assert reply.is_ephemeral and str(member2) in reply.content and "h left" in reply.content

        bad = await ask(world, "admin_token_set", {"token": "definitely-not-a-jwt-secret"},
                        channel_id=dm, guild_id=None)
        assert "Not saved" in bad.content and "not a Steam access token" in bad.content
        expired = make_token(member2, -3600)
        reply = await ask(world, "admin_token_set", {"token": expired}, channel_id=dm,
                          guild_id=None)
        assert "Not saved" in reply.content and "expired" in reply.content
        assert world.app.tokens.peek().value == good            # bad ones changed nothing

        # `!` in a server channel: refused and the message deleted; in a DM: saved
        leaked = make_token(member2, 10 * 3600)
        msg_id = await world.discord.send_message(CHAN, f"!admin_token_set {leaked}",
                                                  author_id=ADMIN)
        refusal = await world.discord.wait_for_message(
            CHAN, lambda m: m.kind == "message" and "Not saved" in (m.content or ""))
        assert "deleted your message" in refusal.content
        await world.discord.rest.wait_for_request("DELETE", f"/messages/{msg_id}")
        assert world.app.tokens.peek().value == good
        await world.discord.send_message(dm, f"!admin_token_set {leaked}", author_id=ADMIN,
                                         guild_id=None)
        await world.discord.wait_for_message(
            dm, lambda m: m.kind == "message" and "Saved." in (m.content or ""))
        assert world.app.tokens.peek().value == leaked
    posted = everything_posted(world)
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in (good, leaked, expired, "definitely-not-a-jwt-secret"):
        assert secret not in posted
        assert secret not in logged
        assert secret.split(".")[-1] not in posted


async def test_a_non_admin_pasting_a_token_in_a_channel_has_it_deleted(start_world) -> None:
    """Issue 14: the wrong person's paste is just as exposed: deleted, and they are told why."""
    world = await start_world(features=["admin", "steam_login"])
    member2 = int(world.sandbox.family.members[1].steamid)
    leaked = make_token(member2, 10 * 3600)
    before = world.app.tokens.peek()
    with trio.fail_after(20):
        for command in ("admin_token_set", "admin_steam_paste_token"):
            msg_id = await world.discord.send_message(CHAN, f"!{command} {leaked}",
                                                      author_id=DISCORD_IDS[2])
            await world.discord.rest.wait_for_request("DELETE", f"/messages/{msg_id}")
            told = await world.discord.wait_for_message(
                CHAN, lambda m: m.kind == "message" and f"!{command}" in (m.content or ""))
            assert "deleted your message" in told.content and "DM only" in told.content
    assert world.app.tokens.peek() == before
    assert leaked not in everything_posted(world)


async def test_status_shows_schedules_gateway_token_and_cache(start_world) -> None:
    world = await start_world(features=["free_games", "admin"])
    await world.app.store.cache.put_many("details:US", {"1": "x"}, ttl_s=60, now=world.app.now())
    with trio.fail_after(20):
        await world.app.scheduler.run_now("free_games")
        reply = await ask(world, "admin_status")
    assert reply.is_ephemeral
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert "`free_games`: ok <t:" in fields["Schedules"]
    assert "`token_check`: not run yet; next <t:" in fields["Schedules"]
    assert fields["Gateway"].startswith("active, heartbeat latency ")
    assert "h left" in fields["Steam access token"]
    assert world.sandbox.access_token not in json.dumps(reply.embeds)
    assert "`details:US` 1" in fields["Cache"]
    # Deliver Us Mars, two revealed Epic vault games, AtmaSphere and Botanicula (Reddit)
    assert "`posted_free_games` 5" in fields["Tables"]
    assert fields["Announcements waiting"].isdigit()


async def test_admin_commands_work_in_a_dm_as_prefix_commands(start_world) -> None:
    world = await start_world(features=["free_games", "admin"])
    dm = 1_300_000_000_000_000_002
    with trio.fail_after(20):
        await world.discord.send_message(dm, "!admin_refresh free", author_id=ADMIN,
                                         guild_id=None)
        msg = await world.discord.wait_for_message(dm)
        assert "`free_games` ran in" in msg.content
        await world.discord.send_message(dm, "!admin_token_status", author_id=ADMIN,
                                         guild_id=None)
        msg = await world.discord.wait_for_message(dm, lambda m: "SteamID64" in m.content)
    assert "h left" in msg.content and world.sandbox.access_token not in msg.content
    assert len(await world.app.store.state.posted_free_games()) == 5  # 3 Epic (2 revealed vault games), 2 Reddit


async def test_a_failing_schedule_is_reported_once_per_streak(start_world) -> None:
    world = await start_world(features=["free_games", "admin"])
    world.sandbox.fail_next("epic", Fault.FORBIDDEN, n=2)
    with trio.fail_after(20):
        for _ in range(2):
            outcome = await world.app.scheduler.run_now("free_games")
            assert not outcome.ok
        assert (await world.app.scheduler.run_now("free_games")).ok
        await world.discord.wait_for_message(REPORTS, lambda m: "works again after" in m.content)
    reports = [m.content for m in world.discord.messages(REPORTS)]
    assert len(reports) == 2, reports                     # one failure report, one recovery
    assert "`free_games` failed" in reports[0] and "HTTP 403" in reports[0]
    assert "works again after 2 failed runs" in reports[1]


async def test_token_expiring_within_a_day_is_announced_once_per_token(start_world, nursery
                                                                      ) -> None:
    world = await start_world(features=["admin"])
    steamid = int(world.sandbox.family.members[0].steamid)
    await world.app.tokens.set(make_token(steamid, 48 * 3600))
    with trio.fail_after(30):
        assert (await world.app.scheduler.run_now("token_check")).ok
        assert world.discord.messages(REPORTS) == []            # 48 h left: quiet
        soon = make_token(steamid, 5 * 3600)
        await world.app.tokens.set(soon)
        for _ in range(3):
            assert (await world.app.scheduler.run_now("token_check")).ok
        reports = world.discord.messages(REPORTS)
        assert len(reports) == 1 and "expires" in reports[0].content
        assert "/admin_token_set" in reports[0].content and soon not in reports[0].content
        # a restart on the same database does not repeat it
        await world.app.stop()
        await world.start_app(nursery, world.new_app())
        await world.app.tokens.set(soon)
        assert (await world.app.scheduler.run_now("token_check")).ok
        assert len(world.discord.messages(REPORTS)) == 1
        # the next token gets its own warning
        await world.app.tokens.set(make_token(steamid, 3 * 3600))
        assert (await world.app.scheduler.run_now("token_check")).ok
        assert len(world.discord.messages(REPORTS)) == 2


async def test_backup_job_writes_a_consistent_copy_and_keeps_the_newest(start_world) -> None:
    import sqlite3

    from familybot_trio.features.admin import BACKUPS_KEPT

    import datetime as dt
    import itertools

    ticks = itertools.count()
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    # Each reading of the bot's clock is a minute later, so each copy gets its own name.
    world = await start_world(features=["admin"],
                              now=lambda: start + dt.timedelta(minutes=next(ticks)))
    folder = world.config.data_dir / "backups"
    with trio.fail_after(60):
        made = []
        for _ in range(BACKUPS_KEPT + 2):
            outcome = await world.app.scheduler.run_now("backup")
            assert outcome.ok, outcome.error
            made.append(sorted(await trio.Path(folder).iterdir())[-1])
    kept = sorted(p.name for p in await trio.Path(folder).iterdir())
    assert len(kept) == BACKUPS_KEPT and kept[-1] == made[-1].name

    def check(path) -> str:
        with sqlite3.connect(path) as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]

    from familybot_trio import blocking
    assert await blocking.run_sync("files", check, str(made[-1])) == "ok"
