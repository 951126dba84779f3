"""`familybot-trio dashboard revoke | link`: end every dashboard session, or print a
one-time sign-in link for an admin (the running bot serves it; 10 minutes, works once).

Both work on the database directly, so they work whether or not the bot runs; a running
bot sees the change at the next request. Hook-up in cli.py: `add_dashboard_parser(sub)` in
build_parser and `if cmd == "dashboard": return _cli_dashboard.run(args, config)`.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import trio

if TYPE_CHECKING:
    from familybot_trio.config import Config

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1


def add_dashboard_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `dashboard` command and its actions to cli.py's subparsers."""
    cfg = argparse.ArgumentParser(add_help=False)
    cfg.add_argument("--config", "-c", type=Path, default=Path("config.toml"),
                     help="config file (default: ./config.toml)")
    dash = subparsers.add_parser("dashboard", help="end dashboard sessions; sign-in links",
                                 description="The web dashboard's sign-in state.")
    sub = dash.add_subparsers(dest="dashboard_command", required=True, metavar="ACTION")
    sub.add_parser("revoke", parents=[cfg], help="end every dashboard session and link",
                   description="Sign everyone out of the dashboard (the same as "
                   "/admin_dashboard action:revoke).")
    link = sub.add_parser("link", parents=[cfg], help="print a one-time sign-in link",
                          description="Print a sign-in link for an admin (10 minutes, works "
                          "once) that the running bot's dashboard accepts.")
    link.add_argument("--discord-id", type=int, default=None,
                      help="the admin's Discord id (default: the first of [admins] discord_ids)")
    return dash


async def _revoke(config: Config) -> int:
    from familybot_trio.store import Store

    async with Store.open_ctx(config.db_path) as store:
        ended = await store.sessions.end_all()
    print(f"ended {ended} dashboard sessions; everyone signs in again")
    return EXIT_OK


async def _link(config: Config, discord_id: int | None) -> int:
    import datetime as dt

    from familybot_trio.store import Store
    from familybot_trio.web._signin import LINK_TTL_S

    admins = sorted(config.admin_ids)
    target = discord_id if discord_id is not None else (admins[0] if admins else None)
    if target is None or target not in config.admin_ids:
        print("error: links from the command line are for admins; add the Discord id to "
              "[admins] discord_ids (or pass --discord-id of an admin)")
        return EXIT_FAILED
    async with Store.open_ctx(config.db_path) as store:
        token = await store.sessions.create_link(target, dt.datetime.now(dt.UTC),
                                                 ttl_s=LINK_TTL_S)
    print(f"{config.dashboard.public_url}/auth/link/{token}")
    print("works once, for 10 minutes, while the bot runs with [dashboard] enabled")
    return EXIT_OK


def run(args: argparse.Namespace, config: Config) -> int:
    """Run `dashboard <action>`; returns the exit status."""
    if args.dashboard_command == "revoke":
        return trio.run(_revoke, config)
    return trio.run(functools.partial(_link, config, args.discord_id))
