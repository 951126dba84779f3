"""`familybot-trio token set | status`: the Steam access token (webapi_token) on disk.

Each `*_cmd` is the body of one `trio.run` and returns the exit status; output goes to
stdout (results) and stderr (problems). `token set` gets the text the CLI read from
standard input before `trio.run` (`familybot_trio.cli.read_token`).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Final

from familybot_trio import blocking, console
from familybot_trio.cli import _run
from familybot_trio.cli._check import RENEW_HINT
from familybot_trio.config import Config
from familybot_trio.upstream.tokens import SET_HINT, AccessTokenStore

EXIT_FAILED: Final = 1


def _out(text: str) -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def token_set_cmd(config: Config, value: str) -> int:
    """`token set`: validate and save the token read from stdin; prints owner and expiry."""
    if not value:
        _err(f"error: no token on standard input; {SET_HINT}")
        return EXIT_FAILED
    token = await AccessTokenStore(config.data_dir).set(value)
    _out(f"saved the access token of {token.steamid}; expires {token.expires_at:%Y-%m-%d %H:%M} "
         f"UTC (in {token.expires_in_hours():.1f} h)")
    if await blocking.run_sync("files", _run.is_bot_running, config):
        reloaded = await blocking.run_sync("files", _reload_in_bot, _run.console_path(config))
        _out("the running bot now uses it" if reloaded else
             "the running bot did not answer on its console: restart it to use the new token")
    return 0


#: Console input that makes the running bot re-read the token file (prints the marker).
_RELOAD_SCRIPT: Final = "await app.tokens.load()\nprint('TOKEN-RELOADED')\n"


def _reload_in_bot(sock: Path) -> bool:
    """Blocking: ask the running bot, through its console socket, to re-read the token file."""
    out = io.StringIO()
    try:
        console.connect(sock, stdin=io.StringIO(_RELOAD_SCRIPT), stdout=out)
    except OSError:
        return False
    return "TOKEN-RELOADED" in out.getvalue()


async def token_status_cmd(config: Config) -> int:
    """`token status`: owner SteamID64, expiry and time left; 1 when none or expired."""
    token = await AccessTokenStore(config.data_dir).load()
    if token is None:
        _err(f"no access token saved; {RENEW_HINT}")
        return EXIT_FAILED
    left_h = token.expires_in_hours()
    state = "EXPIRED" if token.is_expired() else f"{left_h:.1f} h left"
    _out(f"owner     {token.steamid}\nexpires   {token.expires_at:%Y-%m-%d %H:%M} UTC\n"
         f"status    {state}")
    if token.is_expired():
        _err(f"the token expired; {RENEW_HINT}")
        return EXIT_FAILED
    return 0


__all__ = ["token_set_cmd", "token_status_cmd"]
