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

from familybot_trio import offloop

#: Only the bot's user may read a secret file.
FILE_MODE: Final = 0o600


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600: temp file, fsync, rename (dir 0700 if created).

    A reader sees the old file or the new one, never half of either. Raises: OSError;
    offloop.BlockingOnLoop when called on the trio thread with the guard on.
    """
    offloop.check("file write (write_atomic)", helper=True)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # 0700 only if we create it
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
    """The file's text, or None when it does not exist. Raises: OSError (other failures);
    offloop.BlockingOnLoop when called on the trio thread with the guard on."""
    offloop.check("file read (read_or_none)", helper=True)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
