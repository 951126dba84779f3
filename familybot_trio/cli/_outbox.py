"""`familybot-trio outbox list | retry | drop` and `accept`: what the bot keeps aside.

`outbox`: the announcements waiting or refused. `accept`: store Steam's next answer for the
library, or for a member's wishlist / owned games, even if the guard would keep it aside.

Works on the database directly (safe while the bot runs: WAL, one writer at a time); a row
made due again is posted by the running bot at its next sender pass (within 30 s).
The bodies are familybot_trio.outbox's functions, shared with /admin_outbox.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import re
import sys
from typing import Any, Final

import trio

from familybot_trio.config import Config

EXIT_FAILED: Final = 1
#: familybot_trio.store.outbox.STATUSES, spelled out so `--help` imports no store code
#: (tests/test_cli_outbox.py checks they agree).
STATUSES: Final = ("pending", "failed", "dropped", "sent", "unsent")
#: The largest row id SQLite can store (a signed 64-bit INTEGER); a bigger one is a typo.
MAX_ROW_ID: Final = 2**63 - 1
#: The most rows `outbox list --limit` shows (the outbox keeps far fewer).
MAX_LIMIT: Final = 1_000_000


def add_outbox_parser(subparsers: Any, parents: list[argparse.ArgumentParser]
                      ) -> argparse.ArgumentParser:
    """Add `outbox` and its actions to the CLI's subparsers. Returns: its parser."""
    outbox = subparsers.add_parser(
        "outbox", help="list, retry or drop announcements waiting or refused",
        description="The announcement outbox: rows waiting to be posted or refused by Discord.")
    sub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    ls = sub.add_parser("list", parents=parents, help="rows waiting or refused (oldest first)",
                        description="Show id, state, kind, channel, age, attempts and the last "
                        "error (with its fix) of each row.")
    ls.add_argument("--status", choices=STATUSES, default="unsent",
                    help="which rows (default: unsent = pending + failed)")
    ls.add_argument("--limit", type=_positive_int, default=200, metavar="N",
                    help="at most this many rows (default: 200)")
    rt = sub.add_parser("retry", parents=parents, help="post failed rows again",
                        description="Make failed (or dropped) rows due now; the running bot "
                        "posts them within 30 s.")
    rt.add_argument("ids", nargs="*", type=_row_id, metavar="ID", help="row ids (default: all failed)")
    dr = sub.add_parser("drop", parents=parents, help="never post these rows",
                        description="Drop rows for good: they are never posted, and the same "
                        "announcement is not queued again.")
    dr.add_argument("ids", nargs="+", type=_row_id, metavar="ID", help="row ids (see `outbox list`)")
    return outbox


def _positive_int(text: str) -> int:
    """argparse type of `--limit`: an int from 1 to MAX_LIMIT. Raises:
    argparse.ArgumentTypeError (exit 2 with the usage line) for anything else."""
    value = _whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value} (the number of rows "
                                         "to show)")
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_LIMIT:,}, not {value} (the "
                                         "number of rows to show)")
    return value


def _row_id(text: str) -> int:
    """argparse type of an outbox row id: an int from 1 to MAX_ROW_ID (SQLite's signed
    64-bit INTEGER; a bigger one would overflow in sqlite3). Raises:
    argparse.ArgumentTypeError (exit 2 with the usage line) for anything else."""
    value = _whole_number(text)
    if not 1 <= value <= MAX_ROW_ID:
        raise argparse.ArgumentTypeError(
            f"{value} is not a row id: ids run from 1 to {MAX_ROW_ID} (SQLite's signed 64-bit "
            "INTEGER); copy the id from `familybot-trio outbox list`")
    return value


def _whole_number(text: str) -> int:
    """Plain decimal digits (an optional leading "-") -> int. int() alone would also take
    "1_0" (as 10), " 7", "+7" and non-ASCII digits: a typo would name another row.
    Raises: argparse.ArgumentTypeError for anything else."""
    if not re.fullmatch(r"-?[0-9]+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (plain digits "
                                         "0-9, as `familybot-trio outbox list` prints them)")
    return int(text)


def add_accept_parser(subparsers: Any, parents: list[argparse.ArgumentParser]
                      ) -> argparse.ArgumentParser:
    """Add `accept WHAT [--member MEMBER]` to the CLI's subparsers (MEMBER: a SteamID64 or
    a name from config.toml [[members]], checked by `accept`). Returns: its parser."""
    acc = subparsers.add_parser(
        "accept", parents=parents, help="store Steam's next answer even if it looks wrong",
        description="The bot keeps cached data when a fetch looks wrong (a big wishlist that "
        "comes back empty, a library that shrinks by half) and tells the admins. If the "
        "change is real, this makes the next answer be stored as it comes.")
    acc.add_argument("what", choices=("library", "wishlist", "owned"))
    acc.add_argument("--member", action="append", metavar="MEMBER",
                     help="only this member: a SteamID64 or a name from config.toml "
                     "[[members]] (repeatable; default: every member; not with library)")
    return acc


EXIT_USAGE: Final = 2


def no_database(config: Config) -> str | None:
    """Why `outbox` / `accept` cannot run (None when they can): the bot's database is not in
    `data_dir`. Opening it would create an empty one the bot never reads (a typo in data_dir
    would go unnoticed, and `accept` would write where nobody looks)."""
    if config.db_path.is_file():
        return None
    return (f"error: no bot database at {config.db_path}: is data_dir in {config.path} the "
            "one `familybot-trio run` uses? (it is made by the bot's first run or by "
            "`familybot-trio populate`)")


def accept(args: argparse.Namespace, config: Config) -> int:
    """Run `accept` in its own trio.run. Returns: the exit status (2: a wrong command line,
    i.e. --member with library or naming no member, or no database)."""
    if args.member and args.what == "library":
        print("error: library takes no --member (it is the family's; `familybot-trio accept "
              "library` accepts it)", file=sys.stderr)
        return EXIT_USAGE
    if problem := no_database(config):
        print(problem, file=sys.stderr)
        return EXIT_USAGE

    async def _accept() -> int:
        from familybot_trio.kept_aside import accept_next
        from familybot_trio.store import Store

        async with Store.open_ctx(config.db_path) as store:
            members = await store.members.all()
            steamids, unknown = _resolve_members(args.member or (), members)
            if unknown:
                valid = ", ".join(f"{m.name} ({m.steamid})" for m in members) or "none"
                print(f"error: --member {', '.join(unknown)}: not a family member in "
                      f"config.toml [[members]]; give a SteamID64 or a name: {valid}",
                      file=sys.stderr)
                return EXIT_USAGE
            subjects = await accept_next(store, args.what, steamids or None,
                                         dt.datetime.now(dt.UTC))
        print(f"the next {args.what} answer will be stored as it comes "
              f"[{', '.join(subjects)}]")
        return 0
    return trio.run(_accept)


def _resolve_members(refs: Any, members: Any) -> tuple[list[int], list[str]]:
    """`--member` values -> (SteamID64s, in order, once each; the refs naming no member).
    A ref is a member's SteamID64 (plain digits) or name (any letter case), as
    /admin_accept takes them (familybot_trio.features._common.resolve_member_ref; the CLI
    has no Discord to resolve mentions)."""
    found: dict[int, None] = {}
    unknown = []
    for ref in refs:
        text = ref.strip()
        match = next((m for m in members if (str(int(m.steamid)) == text if text.isdecimal()
                                             else m.name.casefold() == text.casefold())), None)
        if match is None:
            unknown.append(ref)
        else:
            found[int(match.steamid)] = None
    return list(found), unknown


def run(args: argparse.Namespace, config: Config) -> int:
    """Dispatch `outbox <action>` in its own trio.run. Returns: the exit status (2: no
    database, see `no_database`)."""
    if problem := no_database(config):
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    return trio.run(functools.partial(_run, args, config))


async def _run(args: argparse.Namespace, config: Config) -> int:
    from familybot_trio.outbox import (
        channel_names,
        drop_outbox,
        format_entry,
        list_outbox,
        retry_outbox,
    )
    from familybot_trio.store import Store

    now = dt.datetime.now(dt.UTC)
    async with Store.open_ctx(config.db_path) as store:
        action = args.outbox_command
        if action == "list":
            rows = await list_outbox(store, status=args.status, limit=args.limit)
            names = channel_names(config.channels)
            for entry in rows:
                print(format_entry(entry, now=now, channel_names=names))
            total = len(rows)
            if total == args.limit:  # maybe cut: say how many there are
                total = await store.outbox.count(args.status)
            if total > len(rows):
                print(f"showing {len(rows)} of {total} row(s) {args.status} (oldest first; "
                      f"--limit {total} shows them all)", file=sys.stderr)
            else:
                print(f"{len(rows)} row(s) {args.status}", file=sys.stderr)
            return 0
        ids = list(dict.fromkeys(args.ids))  # `retry 4 4` is one row: dedupe, keep the order
        if action == "retry":
            done = await retry_outbox(store, ids or None)
            if done:  # nothing found: only the error below
                print(f"retrying {len(done)} row(s): {' '.join(map(str, done))}")
            elif not ids:
                print("nothing to retry: no failed rows (`familybot-trio outbox list` shows "
                      "what is waiting; dropped rows are retried by id)")
                return 0
            # retry takes any unsent row: failed, dropped or pending
            why = "already sent or unknown"
        else:
            done = await drop_outbox(store, ids, now)
            if done:
                print(f"dropped {len(done)} row(s): {' '.join(map(str, done))}")
            why = "already sent, already dropped or unknown"
        if missed := [i for i in ids if i not in set(done)]:
            see = ("`familybot-trio outbox list --status dropped` or `--status sent`"
                   if action == "drop" else "`familybot-trio outbox list --status sent`")
            print(f"error: no unsent row with id {', '.join(map(str, missed))} ({why}; see "
                  f"{see})", file=sys.stderr)
            return EXIT_FAILED
        return 0
