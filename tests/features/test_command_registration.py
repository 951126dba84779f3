"""A refused command registration keeps the bot running and tells the admins (issue 11)."""

from __future__ import annotations

import trio

from familybot_trio.app import COMMANDS_HASH_KEY
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS


async def test_a_400_on_registration_reports_field_paths_and_the_bot_keeps_running(
        start_world, nursery: trio.Nursery) -> None:
    world = await start_world(features=["help"], start_app=False)
    refusal = {"code": 50035, "message": "Invalid Form Body", "errors": {"0": {"options": {
        "0": {"min_value": {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "too big"}]}}}}}}
    with trio.fail_after(30):
        world.discord.fail_next("PUT", "/commands", 400, body=refusal)
        await world.start_app(nursery)  # READY reached: `run` did not exit
        report = await world.discord.wait_for_message(CHANNELS["admin_reports"])
        await world.discord.send_message(CHANNELS["new_games"], "!help",
                                         author_id=DISCORD_IDS[1])
        helped = await world.discord.wait_for_message(
            CHANNELS["new_games"], lambda m: "`/help`" in str(m.embeds))
    assert "0.options.0.min_value" in report.content and "`!` commands work" in report.content
    assert helped.embeds
    # Not stored as registered: the next start sends the commands again.
    assert await world.app.store.state.get(COMMANDS_HASH_KEY) is None
