"""/help through the real command path (slash and prefix)."""

from __future__ import annotations

import trio

from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS


async def test_help_lists_every_command_and_hides_admin_ones_from_members(start_world) -> None:
    world = await start_world(features=["help"])
    with trio.fail_after(10):
        handle = await world.discord.send_interaction(
            "help", user_id=DISCORD_IDS[1], channel_id=CHANNELS["new_games"])
        reply = await handle.wait_response()
    names = [f["name"] for e in reply.embeds for f in e.get("fields", [])]
    assert any(n.startswith("`/help`") for n in names)
    assert reply.is_ephemeral


async def test_help_as_a_prefix_command(start_world) -> None:
    world = await start_world(features=["help"])
    with trio.fail_after(10):
        await world.discord.send_message(CHANNELS["new_games"], "!help",
                                         author_id=DISCORD_IDS[1])
        msg = await world.discord.wait_for_message(CHANNELS["new_games"])
    assert "`/help`" in str(msg.embeds)
