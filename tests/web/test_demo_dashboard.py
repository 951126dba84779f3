"""The demo starts the dashboard and prints its URL and a one-time sign-in link that works."""

from __future__ import annotations

import functools
import io
import re
from pathlib import Path

import trio

from familybot_trio import demo
from tests.web._flows import link_sign_in
from tests.web.conftest import open_client


async def test_demo_serve_prints_the_dashboard_and_a_link_that_signs_in(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    out = io.StringIO()
    with trio.fail_after(180):
        world, link = await nursery.start(functools.partial(demo.run_demo, out, tmp_path,
                                                            serve=True))
        async with await open_client(world) as client:
            used = await link_sign_in(client, link)
            home = await client.get("/")
    text = out.getvalue()
    assert re.search(r"== Dashboard: http://127\.0\.0\.1:\d+/", text) and link in text
    assert text.index("== Dashboard:") < text.index("== Summary:")
    assert "stay up until Ctrl-C" in text
    assert used.status_code == 303 and home.status_code == 200
    assert "<h1>Family library</h1>" in home.text
    nursery.cancel_scope.cancel()
