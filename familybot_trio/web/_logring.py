"""Recent warnings for the operator page: a bounded, redacted in-memory ring of log records.

Every record is formatted and passed through `logs.redact` when it is captured, so the ring
never holds a registered secret or a token-looking string, whatever a page shows later.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Final

from familybot_trio import logs

RING_SIZE: Final = 200
MAX_MESSAGE_CHARS: Final = 500


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One captured record: at (UTC), level name, logger name, message (redacted)."""

    at: dt.datetime
    level: str
    logger: str
    message: str


class LogRing(logging.Handler):
    """A logging handler keeping the last RING_SIZE records at WARNING or above, redacted.

    Install with `install()` (on the root logger) and remove with `uninstall()`.
    """

    def __init__(self, size: int = RING_SIZE, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.entries: collections.deque[LogEntry] = collections.deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self.entries.append(LogEntry(dt.datetime.fromtimestamp(record.created, dt.UTC),
                                         record.levelname, record.name,
                                         logs.redact(text)[:MAX_MESSAGE_CHARS]))
        except Exception:  # a broken record must never break the code that logged it
            self.handleError(record)

    def install(self) -> None:
        """Attach to the root logger (idempotent)."""
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)

    def uninstall(self) -> None:
        """Detach from the root logger (idempotent)."""
        logging.getLogger().removeHandler(self)

    def recent(self, limit: int = 50) -> list[LogEntry]:
        """The newest entries first."""
        return list(reversed(self.entries))[:limit]
