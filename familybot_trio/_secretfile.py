"""Secret files on disk (the access token, the Steam sign-in state): written atomically, 0600.

Both functions block (file I/O): call them through `blocking.run_sync("files", ...)`; with
the off-the-loop guard on (tests, --debug-blocking) they raise when called on the trio thread.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

from familybot_trio import files, offloop

#: Only the bot's user may read a secret file.
FILE_MODE: Final = 0o600


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600: temp file, fsync, rename, in a private folder
    (`files.private_dir`: 0700, no symlink, nobody else may write it).

    A reader sees the old file or the new one, never half of either; a symlink planted at
    `path` is replaced, never followed. Raises: files.UnsafePath, OSError;
    offloop.BlockingOnLoop when called on the trio thread with the guard on.
    """
    offloop.check("file write (write_atomic)", helper=True)
    files.private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_or_none(path: Path) -> str | None:
    """The file's text, or None when it does not exist; a symlink is refused, not followed.
    Raises: files.UnsafePath, OSError (other failures);
    offloop.BlockingOnLoop when called on the trio thread with the guard on."""
    offloop.check("file read (read_or_none)", helper=True)
    return files.read_text(path)
