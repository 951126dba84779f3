"""Logging setup: text or JSON lines, per-logger levels, and secret redaction everywhere.

Secrets (the Discord bot token, the Steam Web API key, the Steam access token, the ITAD key)
must never reach a log line. Config objects already hide them (`field(repr=False)`); this
module is the safety net for everything else: an httpx URL with `?key=...`, an exception
whose message quotes a header, a traceback whose locals were formatted into text.

Redaction runs at two points, so no code path can leak:

1. A log-record factory (installed once, process-wide) renders each record's message with its
   %-args, its exception text and its stack text, redacts them, and stores the result back
   (`msg` = the final text, `args` = None, `exc_text` = the redacted traceback). Every handler,
   ours or a library's or pytest's, therefore sees redacted text only.
2. Our handler's formatter redacts the final formatted line again (this catches secrets
   registered after the record was made, and anything a format string adds).

What is redacted: every value passed to `setup_logging(secrets=...)` or `add_secret()` (also
in its URL-encoded form; the CLI passes `Config.log_secrets`: the three API secrets,
FAMILYBOT_DISCORD_CLIENT_SECRET and `[dashboard] metrics_token`), and these patterns:
`access_token=...`, `key=...`, `token=...`, `password=...` (query or form style, any `*_key` /
`*_token` name), `"access_token": "..."` (JSON style), the token in
`/interactions/<id>/<token>/...` and `/webhooks/<id>/<token>...` URL paths,
`Authorization: Bot ...` / `Bearer ...` / `Basic ...` (the OAuth2 token exchange sends
client_id:client_secret as Basic), Discord-token-shaped strings, and JWT-looking strings
(`eyJ...`, which is what Steam access tokens are).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Final, Literal, TextIO

import trio

REDACTED: Final = "[REDACTED]"
#: Shorter values are not registered: redacting "abc" everywhere would garble every line,
#: and a real token/key is far longer.
MIN_SECRET_CHARS: Final = 6
#: Loggers that would print full request URLs (with keys in the query) at INFO.
QUIET_BY_DEFAULT: Final[Mapping[str, str]] = {"httpx": "WARNING", "httpcore": "WARNING"}
TEXT_FORMAT: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # Authorization headers, in any quoting: "Authorization: Bot abc", {'authorization': 'Bearer x'}
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bot|bearer|basic)\s+)[^\s'\",}]+"),
     r"\1" + REDACTED),
    # Query / form style: access_token=..., key=..., api_key=..., webapi_token=...
    (re.compile(r"(?i)((?<![\w-])[\w-]*?(?:token|key|secret|password)=)[^&\s'\"<>,;)]+"),
     r"\1" + REDACTED),
    # JSON / dict style: "access_token": "...", 'key': '...'
    (re.compile(r"(?i)(['\"][\w-]*?(?:token|key|secret|password)['\"]\s*:\s*['\"])[^'\"]+"),
     r"\1" + REDACTED),
    # JWTs (Steam access tokens): base64url '{"' header, optionally with payload/signature.
    (re.compile(r"eyJ[\w-]{8,}(?:\.[\w-]+){0,2}"), REDACTED),
    # Interaction and webhook tokens in URL paths: /interactions/<id>/<token>/callback,
    # /webhooks/<application id>/<token>[/messages/...] (Discord: Receiving and Responding).
    (re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?#'\"<>]+"), r"\1" + REDACTED),
    # Discord bot tokens: base64(user id) . timestamp . hmac
    (re.compile(r"\b[MNO][\w-]{23,27}\.[\w-]{6,7}\.[\w-]{27,40}\b"), REDACTED),
)

_lock = threading.Lock()  # secrets may be added from a worker thread
_secrets: set[str] = set()
_secret_re: re.Pattern[str] | None = None
_factory_installed = False
_previous_factory: Callable[..., logging.LogRecord] | None = None
_handler: logging.Handler | None = None


def add_secret(value: str | None) -> None:
    """Register a secret learned at runtime (a token set by an admin) for redaction.

    Args: value: the secret; None, "" and values shorter than MIN_SECRET_CHARS are ignored
        (see there). Its URL-encoded form is registered too.
    """
    global _secret_re
    if not value or len(value) < MIN_SECRET_CHARS:
        return
    with _lock:
        _secrets.update({value, urllib.parse.quote(value, safe=""),
                         urllib.parse.quote_plus(value)})
        alternatives = sorted(_secrets, key=len, reverse=True)  # longest first
        _secret_re = re.compile("|".join(re.escape(s) for s in alternatives))


def redact(text: str) -> str:
    """Replace every registered secret and secret-looking pattern in `text` with REDACTED.

    Args: text: any string. Returns: the redacted string (unchanged when nothing matched).
    """
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for regex, replacement in _PATTERNS:
        text = regex.sub(replacement, text)
    return text


def _task_name() -> str | None:
    try:
        return trio.lowlevel.current_task().name
    except RuntimeError:  # not inside trio (a worker thread, the CLI)
        return None


def _install_factory() -> None:
    """Wrap the log-record factory once so every record is redacted at creation."""
    global _factory_installed, _previous_factory
    if _factory_installed:
        return
    previous = _previous_factory = logging.getLogRecordFactory()
    plain = logging.Formatter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # bad %-args: keep the evidence, redacted
            message = f"unformattable log message {record.msg!r} with args {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(plain.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record.trio_task = _task_name()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


class RedactingFormatter(logging.Formatter):
    """A text formatter whose final line (message, traceback, stack) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        return redact(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC ISO 8601), level, logger, msg, task, exc, stack."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        task = getattr(record, "trio_task", None)
        if task:
            entry["task"] = task
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return redact(json.dumps(entry, ensure_ascii=False))


def _level(name: str, value: str) -> int:
    level = logging.getLevelName(str(value).upper())
    if not isinstance(level, int):
        raise ValueError(f"log level {value!r} for logger {name!r} is not one of DEBUG, INFO, "
                         "WARNING, ERROR, CRITICAL")
    return level


def redact_secrets(secrets: Iterable[str | None]) -> None:
    """Redact these values (and the known patterns: Authorization headers, key= queries,
    access tokens) from every log record from now on, without touching handlers or levels:
    for the one-shot CLI commands, whose warnings go to Python's last-resort handler.
    Args: secrets: values to redact (None / "" skipped). Undone by `reset_logging`."""
    for value in secrets:
        add_secret(value)
    _install_factory()


def setup_logging(
    *,
    fmt: Literal["text", "json"] = "text",
    levels: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Configure the root logger: one redacting handler, per-logger levels, known secrets.

    Args: fmt: "text" (human-readable, default) or "json" (one object per line).
        levels: logger name -> level name; "root" (or "") sets the root level (default INFO).
        httpx and httpcore default to WARNING (they log full URLs at INFO); a value here wins.
        secrets: values to redact (None / "" are skipped, so optional config fits).
        stream: where lines go (default sys.stderr).
    Returns: the installed handler. Calling again replaces the previous one (idempotent).
    Raises: ValueError for an unknown fmt or level name.
    """
    global _handler
    if fmt not in ("text", "json"):
        raise ValueError(f"log format {fmt!r} is not 'text' or 'json'")
    wanted = {**QUIET_BY_DEFAULT, **dict(levels or {})}
    parsed = {name: _level(name, value) for name, value in wanted.items()}  # validate first
    redact_secrets(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else RedactingFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    _handler = handler
    root.setLevel(parsed.pop("root", parsed.pop("", logging.INFO)))
    for name, level in parsed.items():
        logging.getLogger(name).setLevel(level)
    return handler


def reset_logging() -> None:
    """Undo `setup_logging`: remove our handler, restore the record factory, forget secrets.

    For tests and for embedding; the bot itself never needs it.
    """
    global _handler, _factory_installed, _previous_factory, _secret_re
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None
    if _factory_installed and _previous_factory is not None:
        logging.setLogRecordFactory(_previous_factory)
    _factory_installed, _previous_factory = False, None
    with _lock:
        _secrets.clear()
        _secret_re = None


def format_exception(exc: BaseException) -> str:
    """A redacted traceback text for `exc` (for admin DMs and the console)."""
    return redact("".join(traceback.format_exception(exc)))
