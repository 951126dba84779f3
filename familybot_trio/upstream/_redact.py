"""Keep secrets out of logs and errors: the Steam Web API takes `key=` and `access_token=`
as query parameters, so any URL or request line may carry them.
"""

from __future__ import annotations

import logging
import re
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

SECRET_PARAMS: Final = frozenset({"key", "access_token", "webapi_token", "token"})


def safe_url(url: str | httpx.URL) -> str:
    """The URL with values of secret query parameters replaced by "***" (for logs/errors)."""
    parts = urlsplit(str(url))
    query = [
        (k, "***" if k.lower() in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*,[]/:")))


_SECRET_QUERY_RE: Final = re.compile(
    r"(?i)\b(" + "|".join(sorted(SECRET_PARAMS)) + r")=[^&\s\"']+"
)


def redact(text: str) -> str:
    """Text with the values of secret query parameters (key=, access_token=) replaced."""
    return _SECRET_QUERY_RE.sub(r"\1=***", text)


class RedactQuerySecrets(logging.Filter):
    """A logging filter that redacts secret query values in a record's message and args.

    urllib3 logs every request line at DEBUG, URL and query included; the Steam Web API
    takes `key=` and `access_token=` in the query, so that line would carry them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


#: Loggers that print request URLs: urllib3 at DEBUG ("GET /path?query"), httpx at INFO
#: ("HTTP Request: GET <url>", URL as an argument: steam-auth.md 8.3).
URL_LOGGERS: Final = ("urllib3.connectionpool", "httpx")


def install_urllib3_redaction() -> None:
    """Attach RedactQuerySecrets to the loggers that print request URLs (idempotent, no I/O)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQuerySecrets) for f in logger.filters):
            logger.addFilter(RedactQuerySecrets())
