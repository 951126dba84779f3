"""`familybot-trio steam login | status | logout | paste-cookie | paste-token`.

    login         print a QR code, wait until it is approved in the Steam Mobile App (or
                  denied, or expired), then store the sign-in (steam_signin.json, 0600)
    status        whose account, access and refresh expiry, last renewal, last error
    logout        revoke at Steam (best effort) and delete the stored sign-in
    paste-cookie  route C: read a steamRefresh_steam cookie from standard input
    paste-token   route D: read a webapi_token from standard input (24 h, no renewal)

Pasted text is read from standard input (hidden at a terminal), never from an argument,
so it never lands in shell history or `ps`. A running bot picks the new sign-in up at its
next "steam_token_renewal" run (every 30 min) or sooner when a family call needs it.
Hook-up in familybot_trio.cli: `add_steam_parser(sub)` in build_parser and
`if cmd == "steam": return _steam.run(args, config)` in _dispatch.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import trio

from familybot_trio.errors import UpstreamError

if TYPE_CHECKING:  # the sign-in modules import httpx, qrcode, jwt: not needed for --help
    from familybot_trio.config import Config
    from familybot_trio.signin import SignIn
    from familybot_trio.upstream.steam_auth import QrChallenge

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
QR_TIMEOUT_S: Final = 5 * 60.0  # signin.QR_TIMEOUT_S (not imported: keeps --help light)


def add_steam_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `steam` command and its actions to the CLI's subparsers. Returns: its parser."""
    cfg = argparse.ArgumentParser(add_help=False)
    cfg.add_argument("--config", "-c", type=Path, default=Path("config.toml"),
                     help="config file (default: ./config.toml)")
    steam = subparsers.add_parser(
        "steam", help="sign the bot in to Steam by QR code; status; logout",
        description="The Steam sign-in that keeps the family access token fresh.")
    sub = steam.add_subparsers(dest="steam_command", required=True, metavar="ACTION")
    login = sub.add_parser("login", parents=[cfg], help="sign in by scanning a QR code",
                           description="Print a QR code; scan it with the Steam Mobile App "
                           "(Steam Guard > scan a QR code) and approve. Needs the Steam "
                           "Guard mobile authenticator on the account.")
    login.add_argument("--light", action="store_true",
                       help="draw the QR for a light terminal background")
    login.add_argument("--timeout-s", type=float, default=QR_TIMEOUT_S,
                       help=f"give up after this many seconds (default {QR_TIMEOUT_S:.0f})")
    sub.add_parser("status", parents=[cfg], help="account, expiries, last renewal and error")
    sub.add_parser("logout", parents=[cfg], help="revoke and forget the sign-in")
    sub.add_parser("paste-cookie", parents=[cfg],
                   help="sign in from a steamRefresh_steam cookie read from standard input",
                   description="Copy the steamRefresh_steam cookie of login.steampowered.com "
                   "from a browser signed in with 'Remember me' (dev tools > Storage > "
                   "Cookies), then paste it here. Do not log that browser out afterwards.")
    sub.add_parser("paste-token", parents=[cfg],
                   help="use a webapi_token read from standard input (24 h, not renewed)",
                   description="Paste data.webapi_token from store.steampowered.com/"
                   "pointssummary/ajaxgetasyncconfig (or that whole JSON).")
    return steam


def make_signin(config: Config, *, min_poll_s: float | None = None) -> SignIn:
    """The SignIn for `config` (no report target: the CLI prints instead)."""
    from familybot_trio.signin import SignIn
    from familybot_trio.upstream.tokens import AccessTokenStore

    up = config.upstreams
    kw = {} if min_poll_s is None else {"min_poll_s": min_poll_s}
    return SignIn(config.data_dir, AccessTokenStore(config.data_dir),
                  api_base=up["steam_webapi"], login_base=up["steam_auth"], **kw)


async def login_cmd(config: Config, out: TextIO, *, light: bool = False,
                    timeout_s: float = QR_TIMEOUT_S, min_poll_s: float | None = None) -> int:
    """Run one QR sign-in, narrating on `out`. Returns: exit status (0 signed in, 1 not)."""
    from familybot_trio.signin import qr_text

    signin = make_signin(config, min_poll_s=min_poll_s)

    async def on_update(event: str, challenge: QrChallenge | None) -> None:
        if event == "scanned":
            print("Scanned. Approve the sign-in in the Steam Mobile App.", file=out)
            return
        assert challenge is not None
        print("Steam replaced the QR code; scan this one:" if event == "rotated" else
              "Scan this QR code with the Steam Mobile App (Steam Guard > scan a QR code):",
              file=out)
        print(qr_text(challenge.challenge_url, invert=not light), file=out)
        out.flush()

    try:
        state = await signin.qr_login(on_update, timeout_s=timeout_s)
    except (UpstreamError, ValueError) as exc:
        print(f"error: not signed in: {exc}", file=out)
        return EXIT_FAILED
    print(f"Approved: signed in as SteamID64 {state.steamid}.", file=out)
    print("\n".join(signin.status_lines(terminal=True)), file=out)
    return EXIT_OK


async def status_cmd(config: Config, out: TextIO) -> int:
    """Print the sign-in status (never token text). Returns: 0."""
    signin = make_signin(config)
    await signin.load()
    print("\n".join(signin.status_lines(terminal=True)), file=out)
    return EXIT_OK


async def logout_cmd(config: Config, out: TextIO) -> int:
    """Revoke and forget. Returns: 0."""
    print(await make_signin(config).logout(), file=out)
    return EXIT_OK


async def paste_cmd(config: Config, out: TextIO, route: str, text: str) -> int:
    """Routes C ("cookie") and D ("token"). Returns: 0 saved, 1 refused (says why)."""
    signin = make_signin(config)
    try:
        if route == "cookie":
            state = await signin.accept_refresh_cookie(text)
        else:
            state = await signin.accept_webapi_token(text)
    except (ValueError, UpstreamError) as exc:
        print(f"error: not saved: {exc}", file=out)
        return EXIT_FAILED
    print(f"Saved for SteamID64 {state.steamid}.", file=out)
    print("\n".join(signin.status_lines(terminal=True)), file=out)
    return EXIT_OK


def read_secret(stdin: TextIO, prompt: str) -> str:
    """A pasted secret: hidden prompt at a terminal, else all of standard input."""
    if getattr(stdin, "isatty", lambda: False)():
        return getpass.getpass(prompt)
    return stdin.read().strip()


def run(args: argparse.Namespace, config: Config, *, stdin: TextIO | None = None,
        stdout: TextIO | None = None) -> int:
    """Dispatch `steam <action>` (each runs its own trio.run). Returns: the exit status."""
    stdin, out = stdin or sys.stdin, stdout or sys.stdout
    action = args.steam_command
    if action == "login":
        return trio.run(functools.partial(login_cmd, config, out, light=args.light,
                                          timeout_s=args.timeout_s))
    if action == "status":
        return trio.run(status_cmd, config, out)
    if action == "logout":
        return trio.run(logout_cmd, config, out)
    route = "cookie" if action == "paste-cookie" else "token"
    text = read_secret(stdin, "steamRefresh_steam cookie (input hidden): " if route == "cookie"
                       else "webapi_token (input hidden): ")
    if not text:
        print("error: nothing was pasted on standard input", file=out)
        return EXIT_FAILED
    return trio.run(paste_cmd, config, out, route, text)
