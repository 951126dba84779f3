"""/help through the real command path (slash and prefix)."""

from __future__ import annotations

import re

import trio

from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS


def _listed(reply) -> set[str]:
    """Command names in /help's fields ("`/coop [copies]` or `!coop ...`" -> "coop")."""
    return {re.match(r"`/([\w-]+)", f["name"]).group(1)
            for e in reply.embeds for f in e.get("fields", [])}


async def test_help_lists_every_command_and_hides_admin_ones_from_members(start_world) -> None:
    world = await start_world()  # every feature: admin commands exist to be hidden
    commands = world.app.registry.commands
    admin = {c.name for c in commands if c.admin_only}
    everyone = {c.name for c in commands if not c.admin_only}
    assert admin and everyone  # or this test could not fail
    with trio.fail_after(10):
        handle = await world.discord.send_interaction(
            "help", user_id=DISCORD_IDS[1], channel_id=CHANNELS["new_games"])
        reply = await handle.wait_response()
    assert _listed(reply) == everyone
    assert reply.is_ephemeral
    with trio.fail_after(10):
        handle = await world.discord.send_interaction(
            "help", user_id=world.admin_id, channel_id=CHANNELS["new_games"])
        reply = await handle.wait_response()
    assert _listed(reply) == admin | everyone


async def test_help_as_a_prefix_command(start_world) -> None:
    world = await start_world(features=["help"])
    with trio.fail_after(10):
        await world.discord.send_message(CHANNELS["new_games"], "!help",
                                         author_id=DISCORD_IDS[1])
        msg = await world.discord.wait_for_message(CHANNELS["new_games"])
    assert "`/help`" in str(msg.embeds)
