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


def _values(reply) -> dict[str, str]:
    """Command name -> its /help field value ("Description (who)")."""
    return {re.match(r"`/([\w-]+)", f["name"]).group(1): f["value"]
            for e in reply.embeds for f in e.get("fields", [])}


async def test_help_says_who_and_where_from_the_commands_real_gate(start_world) -> None:
    world = await start_world()
    with trio.fail_after(20):
        handle = await world.discord.send_interaction(
            "help", user_id=world.admin_id, channel_id=CHANNELS["new_games"])
        values = _values(await handle.wait_response())
        # in a server the secret-carrying slash command is refused: /help says "DM only"
        token_set = await world.discord.send_interaction(
            "admin_token_set", {"token": "x" * 40}, user_id=world.admin_id,
            channel_id=CHANNELS["new_games"])
        refused = await token_set.wait_response()
        # /notify refuses someone with no linked family member, as /help says
        stranger = await world.discord.send_interaction(
            "notify", {}, user_id=1234, channel_id=CHANNELS["new_games"])
        not_member = await stranger.wait_response()
    assert "DM only" in refused.content
    assert values["admin_token_set"].endswith("(admins, DM only)")
    assert "slash command" not in values["admin_token_set"]
    assert values["notify"].endswith("(family members)")
    assert values["coop"].endswith("(everyone)")
    assert "family members" in not_member.content and "/link" in not_member.content
