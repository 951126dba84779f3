"""The README's /ping example, extracted from README.md and run against FakeDiscord."""

from __future__ import annotations

import re
from pathlib import Path

import trio

from familybot_trio import blocking
from gateway.testing import FakeDiscord

README = Path(__file__).resolve().parents[2] / "README.md"


def ping_example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- example: ping -->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "README.md lost its `<!-- example: ping -->` python block"
    return found.group(1)


async def test_readme_ping_bot_answers_ping() -> None:
    # Real clock on purpose: the example builds its httpx client in a worker thread, and an
    # autojump clock would leap over fail_after while that thread runs.
    source = await blocking.run_sync("files", ping_example)
    namespace: dict[str, object] = {"__name__": "readme_ping_example"}
    exec(compile(source, "README.md:ping", "exec"), namespace)
    run_ping_bot = namespace["run_ping_bot"]
    fake = FakeDiscord(token="readme-token")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(fake.serve)
            nursery.start_soon(run_ping_bot, "readme-token", fake.rest_url)
            await fake.rest.wait_for_request("PUT", "/commands")
            handle = await fake.send_interaction("ping")
            reply = await handle.wait_response()
            nursery.cancel_scope.cancel()
    (registered,) = fake.rest.commands[(fake.application_id, None)]
    assert registered["name"] == "ping"
    assert handle.callback_types == [4] and handle.rejected == []
    assert reply.content == "Pong!" and reply.is_ephemeral
