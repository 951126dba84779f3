"""`familybot-trio db backup | restore | check` and `purge`: the database's maintenance.

Each `*_cmd` is the body of one `trio.run` and returns the exit status; output goes to
stdout (results) and stderr (problems). `restore` is plain sync code: it runs outside any
event loop, and refuses while a bot holds the data directory's lock.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Final

from familybot_trio.cli import _clients
from familybot_trio.config import Config
from familybot_trio.errors import StoreError
from familybot_trio.store import Store
from familybot_trio.store.restore import restore_from

EXIT_FAILED: Final = 1


def _out(text: str) -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def is_live_database(config: Config, path: Path) -> bool:
    """True when `path` (made absolute, no I/O) is the live database or its -wal/-shm."""
    db = config.db_path
    live = {p.absolute() for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))}
    return Path(path).absolute() in live


async def backup_cmd(config: Config, dest: Path) -> int:
    """`db backup PATH`: SQLite online backup (consistent even while the bot writes)."""
    if is_live_database(config, dest):
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
        now = _clients.now_utc()
        for on, prefix in ((details, "details:"), (prices, "price:")):
            if on:
                deleted[f"cache {prefix[:-1]}"] = await store.cache.purge(
                    now, namespace_prefix=prefix)
        if which == "all":
            deleted["cache (all)"] = await store.cache.purge(now, namespace_prefix="")
    for what, n in deleted.items():
        _out(f"purged {n} rows from {what}")
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
    if is_live_database(config, source):
        _err(f"error: {source} is the live database itself; give a backup file, e.g. one "
             f"from {config.data_dir / 'backups'} or one written by `familybot-trio db backup`")
        return EXIT_FAILED
    try:
        done = restore_from(source, config.db_path, now=dt.datetime.now(dt.UTC))
    except StoreError as exc:
        _err(f"error: {exc}")
        return EXIT_FAILED
    if done.kept is not None:
        _out(f"the replaced database was kept as {done.kept}")
    _out(f"restored {config.db_path} from {source} (schema {done.schema_version})")
    return 0


__all__ = ["backup_cmd", "db_check_cmd", "is_live_database", "purge_cmd", "restore"]
