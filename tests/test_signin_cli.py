"""`familybot-trio steam ...`: the CLI handlers against the sandbox's fake Steam sign-in.

Handlers run with their output stream injected; `login_cmd` runs inside the test's trio run
beside the served sandbox, the stdin-reading actions run through `familybot_trio.cli._steam.run` (its own
trio.run) from a sync test.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import stat
import time
from pathlib import Path
from types import MappingProxyType, SimpleNamespace

import trio

from familybot_trio import blocking
from familybot_trio.cli import _steam as _cli_steam
from familybot_trio.config import load_config
from familybot_trio.sandbox import Sandbox
from familybot_trio.sandbox._auth import build_jwt, fake_auth
from familybot_trio.sandbox.world import write_config


class Out(io.StringIO):
    """Captured stdout that signals when `marker` was printed."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker, self.seen = marker, trio.Event()

    def write(self, text: str) -> int:
        n = super().write(text)
        if self.marker in self.getvalue():
            self.seen.set()
        return n


def make_config(tmp: Path, sandbox_urls: dict[str, str], family=None, sandbox=None):
    fake_discord = SimpleNamespace(rest_url="http://127.0.0.1:9/api/v10")
    path = write_config(tmp / "config.toml", sandbox, fake_discord, tmp / "data")
    config = load_config(path, {"FAMILYBOT_DISCORD_TOKEN": "x", "FAMILYBOT_STEAM_API_KEY": "k",
                                "FAMILYBOT_ITAD_API_KEY": "i"})
    ups = {**config.upstreams, "steam_auth": sandbox_urls["steam_auth"]}
    return dataclasses.replace(config, upstreams=MappingProxyType(ups))


async def served(nursery, tmp):
    sandbox = await nursery.start(Sandbox(rate_limits=False).serve)
    auth = fake_auth(sandbox)
    auth.interval_s = 0.01
    config = await blocking.run_sync("files", make_config, tmp, sandbox.urls, None, sandbox)
    return sandbox, auth, config


async def test_cli_login_prints_qr_waits_for_approval_then_status_and_logout(
        nursery, tmp_path) -> None:
    sandbox, auth, config = await served(nursery, tmp_path)
    out = Out("Scan this QR code")

    async def approve_when_shown() -> None:
        await out.seen.wait()
        auth.approve()

    with trio.fail_after(30):
        nursery.start_soon(approve_when_shown)
        code = await _cli_steam.login_cmd(config, out, min_poll_s=0.0)
        text = out.getvalue()
        assert code == 0, text
        assert "█" in text and "▀" in text            # the QR drawn in the terminal
        assert f"signed in as SteamID64 {sandbox.family.members[0].steamid}" in text
        path = config.data_dir / "steam_signin.json"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        status = io.StringIO()
        assert await _cli_steam.status_cmd(config, status) == 0
        assert "Access token expires" in status.getvalue()
        bye = io.StringIO()
        assert await _cli_steam.logout_cmd(config, bye) == 0
        assert "Steam revoked the sign-in" in bye.getvalue() and not path.exists()
    everything = text + status.getvalue() + bye.getvalue()
    for secret in [*auth.refresh, *auth.issued_access, auth.latest.request_id]:
        assert secret not in everything


async def test_cli_login_denied_exits_1_and_says_so(nursery, tmp_path) -> None:
    sandbox, auth, config = await served(nursery, tmp_path)
    auth.auto = "deny"
    out = io.StringIO()
    with trio.fail_after(30):
        code = await _cli_steam.login_cmd(config, out, min_poll_s=0.0)
    assert code == 1 and "not signed in: the QR login was denied" in out.getvalue()
    assert not (config.data_dir / "steam_signin.json").exists()


def _token(aud: list[str], ttl_s: float, sub: str = "76561197960287930") -> str:
    now = int(time.time())
    return build_jwt({"iss": "steam", "sub": sub, "aud": aud, "exp": now + int(ttl_s),
                      "iat": now, "jti": "J1"})


def test_cli_paste_token_from_stdin_validated(tmp_path) -> None:
    parser = argparse.ArgumentParser()
    _cli_steam.add_steam_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["steam", "paste-token"])
    config = make_config(tmp_path, {"steam_auth": "http://127.0.0.1:9"},
                         sandbox=SimpleNamespace(
                             family=SimpleNamespace(family_groupid=1, members=[SimpleNamespace(
                                 steamid=76561197960287930, persona="Ann")]),
                             urls={k: "http://127.0.0.1:9" for k in (
                                 "steam_webapi", "storefront", "itad", "epic", "reddit",
                                 "steam_auth")}))
    cases = [(_token(["web", "renew", "derive"], 86400 * 200), 1, "that is a refresh token"),
             (_token(["web:store"], -60), 1, "expired"),
             ("not-a-jwt-at-all-secret", 1, "not a Steam token"),
             ("", 1, "nothing was pasted"),
             ('{"success": 1, "data": []}', 1, "has no data.webapi_token"),
             (_token(["web:store"], 86400), 0, "Saved for SteamID64 76561197960287930")]
    for pasted, want, words in cases:
        out = io.StringIO()
        code = _cli_steam.run(args, config, stdin=io.StringIO(pasted), stdout=out)
        assert (code, words in out.getvalue()) == (want, True), (words, out.getvalue())
        if pasted:
            assert pasted not in out.getvalue()


async def test_cli_status_speaks_as_the_terminal_not_as_the_bot(nursery, tmp_path) -> None:
    sandbox, auth, config = await served(nursery, tmp_path)
    out = io.StringIO()
    assert await _cli_steam.status_cmd(config, out) == 0
    text = out.getvalue()
    assert "DM me" not in text, text
    assert "Run `familybot-trio steam login` or DM the bot /admin_steam_login" in text
