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

What is redacted (`redact`; the same list applies to the message, the traceback and the stack):

- every value passed to `setup_logging(secrets=...)`, `redact_secrets()` or `add_secret()`,
  also URL-encoded, in any letter case (the CLI passes `Config.log_secrets`: the three API
  secrets, FAMILYBOT_DISCORD_CLIENT_SECRET and `[dashboard] metrics_token`);
- parameters named `*token`, `*key`, `*secret`, `*password` (access_token, refresh_token,
  client_secret, api_key, ...), as `name=value` (query, form) and quoted, str or bytes:
  `"name": "value"` (JSON, dict repr), `('name', 'value')` (a parse_qsl pair), `name='value'`
  (keyword repr), `{b'name': b'value'}`;
- credential headers, as `Name: value` text and quoted (dicts and h11/httpx header lists
  such as `[(b'authorization', b'Bot ...')]`, str or bytes): `Authorization` /
  `Proxy-Authorization` (`Bot ...`, `Bearer ...`, `Basic ...`: the OAuth2 token exchange
  sends client_id:client_secret as Basic; the scheme word stays visible), `Cookie` and
  `Set-Cookie` (the whole value; as text only when it starts `name=`), `*API-Key` /
  `*apikey` (ITAD-API-Key, X-API-Key, api-key) and `X-*-Key` / `X-*-Token` / `X-*-Secret`.
  Plain prose like "tokens: 5" or "key: appid" stays: the `Name: value` form needs a
  header-shaped name;
- session cookies by name anywhere (`sessionid=`, `steamLoginSecure=`, `fb_session=`, see
  SESSION_COOKIE_NAMES) and every value in a cookie jar's repr (httpx `<Cookie n=v for d />`,
  http.cookiejar `Cookie(..., name='n', value='v', ...)`);
- an OAuth2 authorization code: a parameter named exactly `code` (in a query or form, or
  quoted as above) whose value has at least MIN_OAUTH_CODE_CHARS (16) characters. Discord's
  codes have 30; `code=200`, `[code:4004]`, `status_code=429`, `"code": 50001` stay;
- the token in `/interactions/<id>/<token>/...` and `/webhooks/<id>/<token>...` URL paths,
  Discord-token-shaped strings, and JWT-looking strings (`eyJ...`, which is what Steam access
  tokens are).

Over-redaction is accepted where it is cheap: any name ending in "key" counts as a
parameter (`monkey=1` is redacted, "monkey" and "keyboard" as words are not).
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

#: Session cookies whose `name=value` is redacted wherever it appears (a form body, a cookie
#: jar's repr): Steam's (steam_auth.py reads steamLoginSecure; sessionid is the store's CSRF
#: cookie) and the dashboard's own (web/_auth.py SESSION_COOKIE, web/_signin.py STATE_COOKIE
#: and PRESIGN_COOKIE; tests/test_logs.py checks the names still match).
SESSION_COOKIE_NAMES: Final = ("steamLoginSecure", "steamRefresh_steam", "steamMachineAuth",
                               "sessionid", "fb_session", "fb_oauth", "fb_presign")
#: An OAuth2 authorization code (`code=`) is redacted only when its value has at least this
#: many characters: Discord's codes have 30, while status, close and error codes
#: (`code=200`, `[code:4004]`, `"code": 50001`) are short numbers and stay readable.
MIN_OAUTH_CODE_CHARS: Final = 16

# Names whose whole value is a credential. Header names: Authorization, Proxy-Authorization,
# Cookie, Set-Cookie, any *api-key / *apikey / *api_key (ITAD-API-Key, X-API-Key), and x-*-key /
# x-*-token / x-*-secret. Parameter names: any *token, *key, *secret, *password.
_HEADER_NAME = (r"(?:proxy-)?authorization|(?:set-)?cookie|[\w-]*?api[-_]?key"
                r"|x-[\w-]*?(?:key|token|secret)")
_PARAM_NAME = r"[\w-]*?(?:token|key|secret|password)"
# A quoted name and the opening quote of its value, in the shapes repr() and json.dumps()
# give: 'name': 'v' (dict, JSON), ('name', 'v') (a header tuple, a parse_qsl pair), name='v'
# (keyword repr), each side str or bytes (b'...'), in either quote. The value runs to its
# own closing quote, backslash escapes included.
_QUOTED = (r"(?P<head>(?:\(\s*b?(?P<q1>['\"])(?:{names})(?P=q1)\s*,"
           r"|b?(?P<q3>['\"])(?:{names})(?P=q3)\s*:"
           r"|(?<![\w-])(?:{names})=)"
           r"\s*b?(?P<q2>['\"]){keep})")
_QUOTED_VALUE = r"(?:\\.|(?!(?P=q2))[^\\\r\n])+"
_SCHEME = r"(?:(?:bot|bearer|basic)\s+)?"  # kept visible: it says which credential it was


def _quoted(names: str, value: str = _QUOTED_VALUE, keep: str = "") -> re.Pattern[str]:
    return re.compile("(?i)" + _QUOTED.format(names=names, keep=keep) + value)


_PARAM_WORDS: Final = ("token", "key", "secret", "password")
_QUOTES: Final = ("'", '"')
# (regex, replacement, requires): a regex runs only when the case-folded text holds, for
# each group in `requires`, one of its strings (each group is a substring set that every
# match must hit; () = always run). Most lines fail them, which keeps `redact` cheap
# although it runs two or three times per record.
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str, tuple[tuple[str, ...], ...]], ...]] = (
    # Quoted headers and parameters, str or bytes: {b'authorization': b'Bot x'},
    # [(b'cookie', b'a=b')] (h11 and httpx header lists), {'x-api-key': 'v'}, "access_token": "v"
    (_quoted(_HEADER_NAME, keep=_SCHEME), r"\g<head>" + REDACTED,
     (_QUOTES, ("authoriz", "cookie", "key", "token", "secret"))),
    (_quoted(_PARAM_NAME), r"\g<head>" + REDACTED, (_QUOTES, _PARAM_WORDS)),
    # OAuth2 authorization code, quoted: {'code': '...'}, ('code', '...'), code='...'
    (_quoted("code", value=rf"[^'\"\\\s]{{{MIN_OAUTH_CODE_CHARS},}}(?=(?P=q2))"),
     r"\g<head>" + REDACTED, (_QUOTES, ("code",))),
    # Authorization headers, any quoting: "Authorization: Bot abc", {'authorization': 'Bearer x'}
    (re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=,]\s*b?['\"]?(?:bot|bearer|basic)\s+)"
                r"[^\s'\",}]+"),
     r"\1" + REDACTED, (("authoriz",),)),
    # Header text form, "Cookie: a=b; c=d" / "Set-Cookie: a=b; Path=/": the whole value, only
    # when it starts like a cookie (name=), so prose such as "no cookie: retrying" stays.
    (re.compile(r"(?i)((?<![\w-])(?:set-)?cookie\s*:\s*)"
                r"[^=\s;,'\"]+=(?:[^\r\n'\"]|\"[^\"\r\n]*\")*"),
     r"\1" + REDACTED, (("cookie",),)),
    # Header text form of API keys: "ITAD-API-Key: v", "x-api-key: v", "X-Auth-Token: v"
    # (not "key: v" or "tokens: 5": only header-shaped names).
    (re.compile(r"(?i)((?<![\w-])(?:[\w-]*?api[-_]?key|x-[\w-]*?(?:key|token|secret))\s*:\s*)"
                r"[^\s'\",;}]+"),
     r"\1" + REDACTED, ((":",), ("key", "token", "secret"))),
    # Query / form style: access_token=..., key=..., api_key=..., webapi_token=...
    (re.compile(r"(?i)((?<![\w-])[\w-]*?(?:token|key|secret|password)=)[^&\s'\"<>,;)]+"),
     r"\1" + REDACTED, (("=",), _PARAM_WORDS)),
    # OAuth2 authorization code in a query or form: ?code=...&state=, grant_type=...&code=...
    # (the name exactly "code", not status_code; a short value such as code=200 stays).
    (re.compile(rf"(?i)((?<![\w.-])code=)[^&\s'\"<>,;)]{{{MIN_OAUTH_CODE_CHARS},}}"),
     r"\1" + REDACTED, (("code=",),)),
    # Session cookies by name, anywhere: sessionid=...; steamLoginSecure=...
    (re.compile(r"(?i)((?<![\w-])(?:" + "|".join(SESSION_COOKIE_NAMES) + r")\w*=)"
                r"[^;\s'\"&,<>]+"),
     r"\1" + REDACTED,
     (tuple(name.casefold() for name in SESSION_COOKIE_NAMES),)),
    # Cookie jar reprs, any cookie name: httpx <Cookie name=value for domain />,
    # http.cookiejar Cookie(version=0, name='n', value='v', ...)
    (re.compile(r"(<Cookie [^\s=]+=)[^\s>]+"), r"\1" + REDACTED, (("<cookie ",),)),
    (re.compile(r"(Cookie\(version=\d+, name=(['\"]).*?\2, value=(['\"]))(?:\\.|(?!\3)[^\\])*"),
     r"\1" + REDACTED, (("cookie(version=",),)),
    # JWTs (Steam access tokens): base64url '{"' header, optionally with payload/signature.
    (re.compile(r"eyJ[\w-]{8,}(?:\.[\w-]+){0,2}"), REDACTED, (("eyj",),)),
    # Interaction and webhook tokens in URL paths: /interactions/<id>/<token>/callback,
    # /webhooks/<application id>/<token>[/messages/...] (Discord: Receiving and Responding).
    (re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?#'\"<>]+"), r"\1" + REDACTED,
     (("/interactions/", "/webhooks/"),)),
    # Discord bot tokens: base64(user id) . timestamp . hmac
    (re.compile(r"\b[MNO][\w-]{23,27}\.[\w-]{6,7}\.[\w-]{27,40}\b"), REDACTED, ()),
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
        (see there). Its URL-encoded forms (quote and quote_plus) are registered too.

    Matching ignores case. A hex key (the Steam Web API key is 32 hex digits) means the
    same written in either case, and some encoders write percent escapes lower-case (`%2f`);
    for a case-sensitive secret (a Discord token) a re-cased copy is not the secret, but it
    gives away nearly all of it, so hiding it too only adds redactions. The cost, a
    six-or-more-character run elsewhere that equals a secret but for case, is negligible.
    """
    global _secret_re
    if not value or len(value) < MIN_SECRET_CHARS:
        return
    with _lock:
        _secrets.update({value, urllib.parse.quote(value, safe=""),
                         urllib.parse.quote_plus(value)})
        alternatives = sorted(_secrets, key=len, reverse=True)  # longest first
        _secret_re = re.compile("|".join(re.escape(s) for s in alternatives),
                                re.IGNORECASE)


def redact(text: str) -> str:
    """Replace every registered secret and secret-looking pattern in `text` with REDACTED.

    What counts is listed in the module docstring: registered values (any case, URL-encoded
    too), `*token` / `*key` / `*secret` / `*password` parameters, Authorization, Cookie,
    Set-Cookie and API-key headers (text, dict or header-list form, str or bytes), session
    and cookie-jar cookies, OAuth2 `code=` values of MIN_OAUTH_CODE_CHARS or more, Discord
    interaction/webhook path tokens, Discord tokens and JWTs.
    Args: text: any string. Returns: the redacted string (unchanged when nothing matched).
    """
    pattern = _secret_re
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    folded = text.casefold()
    for regex, replacement, requires in _PATTERNS:
        if all(any(t in folded for t in group) for group in requires):
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
    """Redact these values (in any letter case, URL-encoded too) and the known patterns
    (see `redact`: credential parameters and headers, cookies, OAuth2 codes, tokens) from
    every log record from now on, message, traceback and stack alike, without touching
    handlers or levels: for the one-shot CLI commands, whose warnings go to Python's
    last-resort handler.
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

    Every record (message, exception text, stack) is redacted when it is made and again when
    our handler formats it: the `secrets` values in any letter case and URL-encoded, plus the
    patterns listed in `redact` (credential parameters, Authorization / Cookie / Set-Cookie /
    API-key headers in text, dict and bytes header-list form, cookies, OAuth2 codes, tokens).

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
