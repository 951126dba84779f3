"""Restoring the database from a backup file (sync: for the CLI, with no bot running).

The running bot copies its database with `Store.backup` (SQLite's online backup API);
`restore_from` is the way back. It checks the source first, keeps a copy of what it
replaces, and copies with the backup API too, so a crash midway leaves either the old or
the new database, never a mix.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from familybot_trio import files
from familybot_trio.errors import StoreError


@dataclass(frozen=True, slots=True)
class Restored:
    """What `restore_from` did: the schema version restored and where the old file went."""

    schema_version: int
    kept: Path | None


def restore_from(source: Path, db: Path, *, now: dt.datetime) -> Restored:
    """Replace the database file `db` with the backup `source` (blocking; no bot may run).

    Args: source: a file made by `db backup`; db: the bot's database path; now: aware UTC,
        names the kept copy `<db>.before-restore-<UTC stamp>`.
    Returns: Restored(schema_version, kept copy or None when there was no database).
    Raises: StoreError when the source is missing, not a familybot database, damaged, or the
        copy fails (the message says whether the current database was replaced: it was not).
    """
    if not source.is_file():
        raise StoreError(f"{source} does not exist; give the path of a file made by `db backup`")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src:
            verdict = src.execute("PRAGMA integrity_check").fetchone()[0]
            version = src.execute("PRAGMA user_version").fetchone()[0]
            if verdict != "ok" or version == 0:
                raise StoreError(f"{source} is not a usable familybot database (integrity: "
                                 f"{verdict}, schema {version}); nothing was changed")
            kept = None
            if db.exists():
                kept = db.with_name(f"{db.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
                files.precreate(kept)
                with sqlite3.connect(db) as cur, sqlite3.connect(kept) as copy:
                    cur.backup(copy)
            files.precreate(db)  # 0600 in a 0700 folder, never through a symlink
            dst = sqlite3.connect(db)
            try:
                src.backup(dst)
            finally:
                dst.close()
    except (sqlite3.Error, files.UnsafePath, OSError) as exc:
        raise StoreError(f"restore failed ({exc}); the current database was not replaced") \
            from exc
    return Restored(version, kept)
