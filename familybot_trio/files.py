"""The data directory's file rules: private folders, no symlinks, 0600 files, whatever the umask.

Every file the bot keeps (the lock, the access token, the Steam sign-in state, the
database and its backups) lives in `data_dir` or a folder under it, and every command that
creates one (`run`, `purge`, `populate`, `db backup`, `token set`, ...) goes through here:

- `private_dir(path)`: creates the folder 0700 (mkdir, then chmod: the umask cannot widen
  or narrow it), refuses a symlink in its place and a folder another user can write
  (group or world write bit, or owned by someone else), with a clear `UnsafePath`.
- `open_private(path, flags)`: `os.open` with O_NOFOLLOW (a planted symlink is an error,
  never followed) and O_CLOEXEC; a file we create or own is set to 0600.
- `precreate(path)`: makes an empty 0600 file before SQLite opens it, so the database (and
  its -wal/-shm files, which SQLite creates with the database's mode) are private too.

Why refuse instead of fixing: a data directory someone else can write lets them swap the
database or plant symlinks between our checks; only the operator can tell whether that is
intended. All functions block (file system calls): call them from a worker thread.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Final

from familybot_trio import offloop
from familybot_trio.errors import FamilybotError

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600


class UnsafePath(FamilybotError):
    """A data file or folder is a symlink, or writable by another user; the message says how
    to fix it. Attributes: path."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        super().__init__(f"{path}: {problem}; {fix}")
        self.path = path


def private_dir(path: Path, *, strict: bool = True) -> Path:
    """Create `path` (and missing parents) or check it: a real folder, 0700 if we made it.

    Args: strict: also refuse a folder someone else owns or may write (the data directory
        and what is in it); False for a folder the operator chose elsewhere (e.g. `db
        backup /mnt/usb/x.db`), which must still not be a symlink.
    Returns: path. Raises: UnsafePath (a symlink, not a folder, another user can write it,
        someone else owns it); OSError (e.g. permission denied).
    """
    offloop.check("file system (private_dir)", helper=True)
    path = Path(path)
    try:
        os.mkdir(path, DIR_MODE)
        os.chmod(path, DIR_MODE)  # mkdir applied the umask; 0700 is what we want, exactly
    except FileNotFoundError:
        os.makedirs(path.parent, exist_ok=True)
        os.mkdir(path, DIR_MODE)
        os.chmod(path, DIR_MODE)
    except FileExistsError:
        pass
    check_dir(path, strict=strict)
    return path


def check_dir(path: Path, *, strict: bool = True) -> None:
    """Raise UnsafePath unless `path` is a folder (not a symlink) and, if `strict`, one only
    we can write."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(path, "is a symlink (to "
                         f"{os.readlink(path)}), which the bot does not follow",
                         "remove it and let the bot create a real folder there")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(path, "is not a folder", "move that file away")
    if not strict:
        return
    if st.st_uid != os.getuid():
        raise UnsafePath(path, f"belongs to user id {st.st_uid}, not to the bot's user "
                         f"({os.getuid()})", f"chown it to the bot's user, or point data_dir "
                         "elsewhere")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePath(path, f"can be written by other users (mode "
                         f"{stat.S_IMODE(st.st_mode):04o})", f"run `chmod 700 {path}`")


def open_private(path: Path, flags: int) -> int:
    """`os.open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600)`; a file we own is set to 0600.

    Returns: the file descriptor. Raises: UnsafePath (path is a symlink); OSError.
    """
    offloop.check("file open (open_private)", helper=True)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(Path(path), "is a symlink, which the bot does not follow",
                             "remove it; the bot creates the file itself") from None
        raise
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def precreate(path: Path, *, strict: bool = True) -> Path:
    """Create `path` empty with 0600 if missing (never through a symlink), in a private folder
    (`private_dir(parent, strict=strict)`).

    Returns: path. Raises: UnsafePath; OSError.
    """
    private_dir(Path(path).parent, strict=strict)
    os.close(open_private(Path(path), os.O_RDWR | os.O_CREAT))
    return Path(path)


def read_text(path: Path) -> str | None:
    """The UTF-8 text of `path` without following a symlink; None when it does not exist.

    Raises: UnsafePath (a symlink); OSError; UnicodeDecodeError.
    """
    try:
        fd = open_private(Path(path), os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read().decode("utf-8")
