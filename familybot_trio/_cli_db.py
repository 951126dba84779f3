"""The one-shot CLI commands: check, populate, db backup/restore/check, purge, token.

Each `*_cmd` is the body of one `trio.run` and returns the exit status; output goes to
stdout (results) and stderr (problems). `restore` is plain sync code: it runs outside any
event loop, and refuses while a bot holds the data directory's lock.
"""

from __future__ import annotations

import datetime as dt
import io
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Final

import trio

from familybot_trio import _cli_check, _cli_clients, _cli_populate, _cli_run, blocking, console
from familybot_trio.config import Config
from familybot_trio.errors import FamilybotError, StoreError
from familybot_trio.store import Store
from familybot_trio.store.restore import restore_from
from familybot_trio.upstream.tokens import SET_HINT, AccessTokenStore

EXIT_FAILED: Final = 1
EXIT_INTERRUPTED: Final = 130


def _out(text: str) -> None:
    print(text, flush=True)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def check_cmd(config: Config) -> int:
    """`check`: the credential table; 1 when a required check failed."""
    rows = await _cli_check.run_checks(config)
    _cli_check.print_table(rows, sys.stdout)
    return _cli_check.exit_code(rows)


async def populate_cmd(config: Config, *, restart: bool = False) -> int:
    """`populate` with rich progress bars on stderr.

    A first SIGINT/SIGTERM ends the run after the batch in flight is stored; a second one
    cancels at once (at most that batch is lost).

    Returns: 0 done, 1 an upstream failed (progress kept), 130 interrupted (progress kept).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bars = Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                    console=Console(stderr=True), auto_refresh=False, transient=False,
                    redirect_stdout=False, redirect_stderr=False)  # no refresh thread
    ids: dict[str, object] = {}

    def tick(phase: str, done: int, total: int) -> None:
        if phase not in ids:
            ids[phase] = bars.add_task(phase, total=max(total, 1))
        bars.update(ids[phase], completed=done, total=max(total, 1))
        bars.refresh()

    report: _cli_populate.PopulateReport | None = None
    async with Store.open_ctx(config.db_path) as store, \
            _cli_clients.open_clients(config, store) as clients:
        with ExitStack() as stack, trio.CancelScope() as scope:
            # Signals can be received only in the main thread (tests call main() in a worker).
            signals = stack.enter_context(trio.open_signal_receiver(
                signal.SIGINT, signal.SIGTERM)) if _main_thread() else None

            stop = trio.Event()

            async def stop_on_signal() -> None:
                async for _ in signals:
                    if not stop.is_set():
                        _err("stopping after the batch in flight; Ctrl-C again to stop now")
                        stop.set()
                    else:
                        scope.cancel()   # a write in flight still commits (store policy)
                        return

            async with trio.open_nursery() as nursery:
                if signals is not None:
                    nursery.start_soon(stop_on_signal)
                bars.start()
                try:
                    report = await _cli_populate.populate(
                        config, store, clients, _cli_clients.now_utc, progress=tick,
                        stop=stop, restart=restart)
                except FamilybotError as exc:
                    _err(f"error: {exc}\nprogress is saved; run `familybot-trio populate` "
                         "again to continue")
                    return EXIT_FAILED
                finally:
                    bars.stop()
                nursery.cancel_scope.cancel()
    if report is None or report.stopped:
        _err("interrupted; progress is saved, run `familybot-trio populate` again to continue")
        return EXIT_INTERRUPTED
    _out(f"populated: {report.library_apps} library apps, {report.members} members, "
         f"{report.details} app details, {report.prices} prices in {report.batches} batches")
    for line in report.skipped:
        _err(f"skipped: {line}")
    return 0


async def backup_cmd(config: Config, dest: Path) -> int:
    """`db backup PATH`: SQLite online backup (consistent even while the bot writes)."""
    live = {config.db_path.absolute(), *(config.db_path.with_name(config.db_path.name + x)
                                         .absolute() for x in ("-wal", "-shm"))}
    if Path(dest).absolute() in live:
        _err(f"error: {dest} is the live database itself; give a path outside it, e.g. "
             f"{config.data_dir / 'backups' / 'manual.db'}")
        return EXIT_FAILED
    async with Store.open_ctx(config.db_path) as store:
        path = await store.backup(dest)
    _out(f"backup written to {path}")
    return 0


async def db_check_cmd(config: Config) -> int:
    """`db check`: integrity problems (exit 1 if any) and row counts per table."""
    async with Store.open_ctx(config.db_path) as store:
        problems = await store.integrity_check()
        counts = await store.row_counts()
        version = await store.schema_version()
    _out(f"database {config.db_path} (schema {version})")
    for table, n in counts.items():
        _out(f"  {table:<24} {n:>8}")
    if problems:
        for p in problems:
            _err(f"integrity: {p}")
        _err("the database is damaged: restore a backup with `familybot-trio db restore PATH`")
        return EXIT_FAILED
    _out("integrity: ok")
    return 0


async def purge_cmd(config: Config, which: str) -> int:
    """`purge details|prices|all`: delete cached rows (store tables and catalog cache)."""
    details, prices = which in ("details", "all"), which in ("prices", "all")
    async with Store.open_ctx(config.db_path) as store:
        deleted = await store.catalog.purge(details=details, prices=prices)
        now = _cli_clients.now_utc()
        for on, prefix in ((details, "details:"), (prices, "price:")):
            if on:
                deleted[f"cache {prefix[:-1]}"] = await store.cache.purge(
                    now, namespace_prefix=prefix)
        if which == "all":
            deleted["cache (all)"] = await store.cache.purge(now, namespace_prefix="")
    for what, n in deleted.items():
        _out(f"purged {n} rows from {what}")
    return 0


async def token_set_cmd(config: Config, value: str) -> int:
    """`token set`: validate and save the token read from stdin; prints owner and expiry."""
    if not value:
        _err(f"error: no token on standard input; {SET_HINT}")
        return EXIT_FAILED
    token = await AccessTokenStore(config.data_dir).set(value)
    _out(f"saved the access token of {token.steamid}; expires {token.expires_at:%Y-%m-%d %H:%M} "
         f"UTC (in {token.expires_in_hours():.1f} h)")
    if await blocking.run_sync("files", _cli_run.is_bot_running, config):
        reloaded = await blocking.run_sync("files", _reload_in_bot, _cli_run.console_path(config))
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
        _err(f"no access token saved; {SET_HINT}")
        return EXIT_FAILED
    left_h = token.expires_in_hours()
    state = "EXPIRED" if token.is_expired() else f"{left_h:.1f} h left"
    _out(f"owner     {token.steamid}\nexpires   {token.expires_at:%Y-%m-%d %H:%M} UTC\n"
         f"status    {state}")
    if token.is_expired():
        _err(f"the token expired; {SET_HINT}")
        return EXIT_FAILED
    return 0


def restore(config: Config, source: Path, *, running: bool) -> int:
    """`db restore PATH` (sync, no event loop): replace the database with a backup.

    Checks the source first (a SQLite file passing integrity_check), copies the current
    database to `<db>.before-restore-<UTC stamp>`, then copies the source in with SQLite's
    backup API (which also resets the WAL), so a crash midway leaves either the old or the
    new database, never a mix. Refuses while a bot runs on the data directory.
    Returns: 0 restored, 1 refused or failed (the message says why).
    """
    if running:
        _err(f"error: a bot is running on {config.data_dir}; stop it before restoring "
             "(the running bot would keep writing to the old database)")
        return EXIT_FAILED
    source = Path(source)
    try:
        done = restore_from(source, config.db_path, now=dt.datetime.now(dt.UTC))
    except StoreError as exc:
        _err(f"error: {exc}")
        return EXIT_FAILED
    if done.kept is not None:
        _out(f"the replaced database was kept as {done.kept}")
    _out(f"restored {config.db_path} from {source} (schema {done.schema_version})")
    return 0


__all__ = ["backup_cmd", "check_cmd", "db_check_cmd", "populate_cmd", "purge_cmd", "restore",
           "token_set_cmd", "token_status_cmd"]
