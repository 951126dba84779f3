"""The README's Discord command table matches what the running bot registers: every command,
its usage string (`Command.usage`) and who may run it (`help.who_of`, the /help column)."""

from __future__ import annotations

import re
from pathlib import Path

import trio

from familybot_trio.features.help import who_of

README = Path(__file__).resolve().parents[2] / "README.md"


async def _table() -> dict[str, tuple[str, str]]:
    """Command name -> (usage, who) from the README's Discord commands table."""
    text = await trio.Path(README).read_text(encoding="utf-8")
    table = text.split("### Discord commands", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(/([a-z_]+)[^`]*)` \| ([^|]+) \|", table, flags=re.M)
    return {name: (usage.replace("\\|", "|"), who.strip()) for usage, name, who in rows}


async def test_every_registered_command_is_in_the_readme_table(start_world) -> None:
    world = await start_world()
    registered = {c.name for c in world.app.registry.commands}
    documented = set(await _table())
    assert registered - documented == set(), "commands missing from the README table"
    assert documented - registered == set(), "README documents commands the bot lacks"


async def test_the_readme_table_gives_each_commands_real_usage_and_who(start_world) -> None:
    world = await start_world()
    table = await _table()
    wrong = {c.name: (table[c.name], (c.usage("/"), who_of(c)))
             for c in world.app.registry.commands
             if c.name in table and table[c.name] != (c.usage("/"), who_of(c))}
    assert wrong == {}, "README row (usage, who) != registry (usage, who)"


async def test_every_cli_command_and_action_is_in_the_readme() -> None:
    import argparse

    from familybot_trio.cli import build_parser

    def actions(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        return next((a.choices for a in parser._actions
                     if isinstance(a, argparse._SubParsersAction)), {})

    text = await trio.Path(README).read_text(encoding="utf-8")
    wanted = [f"{name} {action}".strip() for name, sub in actions(build_parser()).items()
              for action in (list(actions(sub)) or [""])]
    # "`familybot-trio outbox list`", or "`outbox retry [ID...]`" in that row's text
    missing = [w for w in wanted if f"`familybot-trio {w}" not in text and f"`{w}" not in text]
    assert missing == [], "CLI commands the README does not document"
