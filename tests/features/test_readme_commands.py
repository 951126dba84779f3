"""The README's Discord command table lists every command the running bot registers."""

from __future__ import annotations

import re
from pathlib import Path

import trio

README = Path(__file__).resolve().parents[2] / "README.md"


async def test_every_registered_command_is_in_the_readme_table(start_world) -> None:
    world = await start_world()
    registered = {c.name for c in world.app.registry.commands}
    text = await trio.Path(README).read_text(encoding="utf-8")
    table = text.split("### Discord commands", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `/([a-z_]+)", table, flags=re.M))
    assert registered - documented == set(), "commands missing from the README table"
    assert documented - registered == set(), "README documents commands the bot lacks"
