"""/admin_outbox and `familybot-trio outbox list|retry|drop` against a real bot and store."""

from __future__ import annotations

import trio

from familybot_trio.cli import _outbox as cli_outbox
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS
from familybot_trio.store import OutboxDraft, Snowflake
from familybot_trio.store.outbox import STATUSES
from tests._cli_helpers import run_cli

CH, DEALS = CHANNELS["new_games"], CHANNELS["deals"]
ADMIN, MEMBER = DISCORD_IDS[0], DISCORD_IDS[1]
CHAN = 1_200_000_000_000_000_001


async def ask(world, options: dict | None = None, user: int = ADMIN):
    handle = await world.discord.send_interaction("admin_outbox", options, user_id=user,
                                                  channel_id=CHAN)
    return await handle.wait_response()


async def refused_row(world) -> int:
    """Queue one new-games row that Discord refuses (missing permission); returns its id."""
    world.discord.fail_next("POST", f"/channels/{CH}/messages", 403, times=10**6,
                            body={"code": 50013, "message": "Missing Permissions"})
    (row_id,) = await world.app.store.outbox.enqueue(
        [OutboxDraft("new_game", "t:1", Snowflake(CH), {"content": "Game one"})], world.app.now())
    await world.app.flush_outbox()
    assert [r.id for r in await world.app.store.outbox.rows("failed")] == [row_id]
    return row_id


async def test_admin_outbox_lists_retries_and_drops(start_world) -> None:
    world = await start_world(features=["admin_outbox"])
    with trio.fail_after(30):
        reply = await ask(world)
        assert reply.is_ephemeral and "No announcements are waiting" in reply.content
        row_id = await refused_row(world)
        await world.app.store.outbox.enqueue(
            [OutboxDraft("deal", "t:2", Snowflake(DEALS), {"content": "Deal two"})],
            world.app.now())
        reply = await ask(world, {"action": "list"})
        lines = reply.content.splitlines()
        assert lines[1].startswith(f"#{row_id} failed new_game #new_games age ")
        assert "1 attempt: " in lines[1] and "Send Messages" in lines[1]
        assert lines[2].startswith(f"#{row_id + 1} pending deal #deals")

        # list takes no id: said so, not silently ignored (nor shown as the whole list)
        for options in ({"action": "list", "id": row_id}, {"id": row_id}):
            reply = await ask(world, options)
            assert reply.is_ephemeral and "`action:list` takes no id" in reply.content, reply
            assert f"action:retry id:{row_id}" in reply.content and "#new_games" not in (
                reply.content), reply.content

        refused = await ask(world, {"action": "list"}, user=MEMBER)
        assert "admins only" in refused.content

        world.discord.rest.clear_faults()  # the permission was granted
        reply = await ask(world, {"action": "retry", "id": row_id})
        assert f"Retrying 1 announcement(s): #{row_id}" in reply.content
        await world.discord.wait_for_message(CH, lambda m: m.content == "Game one")

        reply = await ask(world, {"action": "drop", "id": row_id + 1})
        assert f"#{row_id + 1}" in reply.content  # dropped, or already sent by the sender
        reply = await ask(world, {"action": "drop", "id": row_id})
        assert "already sent, dropped or unknown" in reply.content


async def test_cli_outbox_list_retry_drop(start_world) -> None:
    world = await start_world(features=["admin_outbox"])
    with trio.fail_after(60):
        row_id = await refused_row(world)
        r = await run_cli(world, "outbox", "list")
        assert r.code == 0, r.err
        assert r.out.startswith(f"#{row_id} failed new_game #new_games") and "Send Messages" in r.out
        r = await run_cli(world, "outbox", "drop", str(row_id))
        assert r.code == 0 and f"dropped 1 row(s): {row_id}" in r.out
        r = await run_cli(world, "outbox", "list", "--status", "dropped")
        assert r.out.startswith(f"#{row_id} dropped")
        r = await run_cli(world, "outbox", "drop", str(row_id))
        assert r.code == 1 and "no unsent row with id" in r.err
        assert "row(s)" not in r.out, r.out          # no "dropped 0 row(s): -" before it
        r = await run_cli(world, "outbox", "retry", "99999")
        assert r.code == 1 and "no unsent row with id 99999" in r.err and r.out == "", r.out
        world.discord.rest.clear_faults()
        r = await run_cli(world, "outbox", "retry", str(row_id))
        assert r.code == 0 and f"retrying 1 row(s): {row_id}" in r.out
        await world.app.flush_outbox()
        assert [m.content for m in world.discord.messages(CH)] == ["Game one"]
        r = await run_cli(world, "outbox", "list", "--status", "sent")
        assert r.out.startswith(f"#{row_id} sent")


def test_cli_status_choices_match_the_store() -> None:
    assert sorted(cli_outbox.STATUSES) == sorted(STATUSES)
