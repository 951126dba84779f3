"""The command line's argparse tree and dispatch; `familybot_trio.cli` re-exports `main`."""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import trio

from familybot_trio import logs
from familybot_trio.cli import _dashboard, _outbox, _steam
from familybot_trio.config import Config, load_config
from familybot_trio.errors import ConfigError, FamilybotError
from gateway.errors import GatewayError

DEFAULT_CONFIG: Final = "config.toml"
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree; every command and subcommand has its own --help."""
    p = argparse.ArgumentParser(
        prog="familybot-trio", description="A self-hosted Discord bot for a Steam Family.",
        epilog="Secrets come from the environment: FAMILYBOT_DISCORD_TOKEN, "
               "FAMILYBOT_STEAM_API_KEY, FAMILYBOT_ITAD_API_KEY (optional).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cfg = argparse.ArgumentParser(add_help=False)
    cfg.add_argument("--config", "-c", type=Path, default=Path(DEFAULT_CONFIG),
                     help=f"config file (default: ./{DEFAULT_CONFIG})")

    run = sub.add_parser("run", parents=[cfg], help="run the bot",
                         description="Run the bot until SIGINT/SIGTERM (a second one exits at "
                         "once). Serves the debug console on <data_dir>/console.sock.")
    run.add_argument("--log-format", choices=("text", "json"), default="text",
                     help="log line format on stderr (default: text)")
    run.add_argument("--features", metavar="NAME[,NAME]", default=None, type=features_arg,
                     help="run only these feature modules (default: all; e.g. help,new_games); "
                     "for debugging: the slash commands are then NOT registered, so Discord "
                     "keeps the command list of the last full run")
    run.add_argument("--debug-blocking", action="store_true",
                     help="make the store's sqlite connections, the Steam session and the file "
                     "helpers raise when called on the trio thread (names the call site)")
    sub.add_parser("check", parents=[cfg], help="check the config and every credential",
                   description="Print every config problem, then try the Discord token, the "
                   "Steam key, the access token, the ITAD key and each channel. Exit 1 if a "
                   "required check fails.")
    pop = sub.add_parser("populate", parents=[cfg], help="warm the caches (resumable)",
                         description="Fetch library, owned games, wishlists, app details and "
                         "prices in batches of 100; Ctrl-C loses at most one batch and the "
                         "next run continues where this one stopped.")
    pop.add_argument("--restart", action="store_true", help="forget progress, start over")

    db = sub.add_parser("db", help="backup, restore or check the database",
                        description="Database maintenance.")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    b = dbsub.add_parser("backup", parents=[cfg], help="online backup (safe while the bot runs)",
                         description="Copy the live database to PATH with SQLite's online "
                         "backup API (safe while the bot runs).")
    b.add_argument("path", type=Path, help="backup file to write")
    r = dbsub.add_parser("restore", parents=[cfg], help="replace the database with a backup",
                         description="Replace the database with PATH. Refuses while the bot "
                         "runs; keeps a copy of the replaced database next to it.")
    r.add_argument("path", type=Path, help="backup file to restore")
    dbsub.add_parser("check", parents=[cfg], help="integrity check and row counts",
                     description="Run PRAGMA integrity_check and print rows per table.")

    pur = sub.add_parser("purge", parents=[cfg], help="drop cached details and/or prices",
                         description="Delete cached app details, prices or both; the next "
                         "runs fetch them again.")
    pur.add_argument("cache", choices=("details", "prices", "all"))

    tok = sub.add_parser("token", help="the Steam access token",
                         description="Manage the Steam access token (webapi_token).")
    toksub = tok.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    toksub.add_parser("set", parents=[cfg], help="save a new token read from standard input",
                      description="Read the token from standard input (hidden when typed at "
                      "a terminal; never pass it as an argument). The whole JSON of "
                      "ajaxgetasyncconfig is accepted too.")
    toksub.add_parser("status", parents=[cfg], help="owner, expiry and time left",
                      description="Show whose token is saved and when it expires (never the "
                      "token itself).")
    sub.add_parser("console", parents=[cfg], help="attach to the running bot's console",
                   description="Open the debug REPL of the running bot (Ctrl-C interrupts the "
                   "running statement, Ctrl-D leaves).")
    # Listed for the overview only: main() hands `demo ...` to familybot_trio.demo.main.
    sub.add_parser("demo", help="run the bot against fakes (no keys, no network)")
    _steam.add_steam_parser(sub)  # steam login | status | logout | paste-cookie | paste-token
    _outbox.add_outbox_parser(sub, [cfg])  # outbox list | retry | drop
    _outbox.add_accept_parser(sub, [cfg])  # accept library | wishlist | owned
    _dashboard.add_dashboard_parser(sub)  # dashboard revoke | link
    return p


def features_arg(text: str) -> list[str]:
    """argparse type of `run --features`: the names, each one of familybot_trio.features.ALL.

    Raises: argparse.ArgumentTypeError (argparse prints usage and exits 2) for an unknown one.
    """
    from familybot_trio.features import ALL  # a tuple of names; the modules stay unimported

    names = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [n for n in names if n not in ALL]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown feature {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"known: {', '.join(ALL)}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default sys.argv[1:]), run the command, return the exit status.

    Raises: nothing for expected failures (they print and return 1/2/130); SystemExit from
        argparse for --help and usage errors.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        return _demo(argv[1:])   # the demo parses its own options (and its own --help)
    args = build_parser().parse_args(argv)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a closed pipe (`... | head -1`) shows here, not at exit
        return code
    except BrokenPipeError:
        # The reader went away (`| head -1`): nothing to tell it. Point stdout at /dev/null
        # so the interpreter's final flush does not print a traceback either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):
            print(f"config error: {note}", file=sys.stderr)
        return EXIT_USAGE
    except (FamilybotError, GatewayError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _load(args: argparse.Namespace, *, require_secrets: bool = False) -> Config:
    return load_config(args.config, require_secrets=require_secrets)


def _dispatch(args: argparse.Namespace) -> int:
    # Imported here so `--help` and config errors stay fast and need no app import.
    from familybot_trio.cli import _check, _db, _populate, _run, _token

    cmd = args.command
    if cmd == "run":
        return _run.run_cmd(args)
    config = _load(args)
    # Every command's log records are redacted, not only run's and populate's (their
    # handlers come below): the others warn through Python's last-resort handler.
    logs.redact_secrets(config.log_secrets)
    if cmd == "steam":
        return _steam.run(args, config)
    if cmd == "outbox":
        return _outbox.run(args, config)
    if cmd == "accept":
        return _outbox.accept(args, config)
    if cmd == "dashboard":
        return _dashboard.run(args, config)
    if cmd == "check":
        return trio.run(_check.check_cmd, config)
    if cmd == "populate":
        logs.setup_logging(levels={"root": config.log_level, **config.log_levels},
                           secrets=config.log_secrets)
        return trio.run(functools.partial(_populate.populate_cmd, config, restart=args.restart))
    if cmd == "db":
        if args.db_command == "restore":
            return _db.restore(config, args.path, running=_run.is_bot_running(config))
        fn = {"backup": _db.backup_cmd, "check": _db.db_check_cmd}[args.db_command]
        return trio.run(fn, config, *([args.path] if args.db_command == "backup" else []))
    if cmd == "purge":
        return trio.run(_db.purge_cmd, config, args.cache)
    if cmd == "token":
        if args.token_command == "set":
            return trio.run(_token.token_set_cmd, config, read_token(sys.stdin))
        return trio.run(_token.token_status_cmd, config)
    if cmd == "console":
        from familybot_trio import console

        path = _run.console_path(config)
        try:
            return console.connect(path)
        except OSError as exc:
            print(f"error: no bot console at {path} ({exc.strerror or exc}); is the bot running "
                  "with this config? (`familybot-trio run`)", file=sys.stderr)
            return EXIT_FAILED
    raise AssertionError(f"unhandled command {cmd!r}")  # argparse allows only the above


def read_token(stdin: object) -> str:
    """The token from standard input: a hidden prompt on a tty, else all of stdin.

    Accepts the bare token or the whole ajaxgetasyncconfig JSON ({"data": {"webapi_token"}}).
    Returns: the token text, or "" when nothing usable came (the caller reports it).
    """
    if getattr(stdin, "isatty", lambda: False)():
        text = getpass.getpass("Steam access token (webapi_token, input hidden): ")
    else:
        text = stdin.read()  # type: ignore[attr-defined]
    text = text.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["data"]["webapi_token"])
        except (ValueError, KeyError, TypeError):
            return ""
    return text


def _demo(argv: Sequence[str]) -> int:
    try:
        from familybot_trio import demo  # written by the lead; imported lazily
    except ImportError as exc:
        print(f"error: the demo is not available in this build ({exc})", file=sys.stderr)
        return EXIT_FAILED
    return int(demo.main(list(argv)) or 0)


__all__ = ["build_parser", "features_arg", "main", "read_token"]
