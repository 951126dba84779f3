"""Secrets never reach a handler's output, whichever way they travel into a log call."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from familybot_trio import logs
from familybot_trio.config import load_config

BOT_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz012345"
WEBAPI_KEY = "0123456789ABCDEF0123456789ABCDEF"
ACCESS_TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI3NjU2MTE5OCJ9.c2lnbmF0dXJlLWJ5dGVz"
LATE_SECRET = "itad/key+learned=at-runtime42"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    root = logging.getLogger()
    old_level = root.level
    handler = logs.setup_logging(fmt="text", levels={"root": "DEBUG"},
                                 secrets=[BOT_TOKEN, WEBAPI_KEY, None, ""], stream=out)
    yield out
    logs.reset_logging()
    root.setLevel(old_level)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def _assert_clean(text: str) -> None:
    for secret in (BOT_TOKEN, WEBAPI_KEY, ACCESS_TOKEN, LATE_SECRET, "s3cr3t-pass"):
        assert secret not in text
    assert logs.REDACTED in text


def test_secret_as_percent_arg(stream: io.StringIO) -> None:
    logging.getLogger("familybot_trio.test").info("identify with token %s [shard:%d]",
                                                  BOT_TOKEN, 0)
    _assert_clean(stream.getvalue())
    assert "identify with token [REDACTED] [shard:0]" in stream.getvalue()


def test_secret_in_exception_message_and_traceback(stream: io.StringIO) -> None:
    def deep(key: str) -> None:
        raise RuntimeError(f"steam refused key {key}")

    try:
        deep(WEBAPI_KEY)
    except RuntimeError:
        logging.getLogger("familybot_trio.upstream").exception("refresh failed: %s",
                                                               "see traceback")
    text = stream.getvalue()
    _assert_clean(text)
    assert "Traceback (most recent call last)" in text and "RuntimeError" in text


def test_secret_in_url_query_and_patterns(stream: io.StringIO) -> None:
    log = logging.getLogger("familybot_trio.upstream.steam_webapi")
    url = httpx.URL("https://api.steampowered.com/IFamilyGroupsService/GetSharedLibraryApps/v1/",
                    params={"access_token": ACCESS_TOKEN, "family_groupid": "123"})
    log.info("GET %s", url)
    log.info("GET https://api.isthereanydeal.com/games/prices/v3?key=%s&country=US",
             "somekeynotregistered")
    log.debug("headers %r", {"Authorization": "Bot abc.def.ghi-unregistered"})
    log.debug("form password=s3cr3t-pass&user=bob")
    text = stream.getvalue()
    _assert_clean(text)
    for leaked in ("somekeynotregistered", "abc.def.ghi-unregistered"):
        assert leaked not in text
    assert "family_groupid=123" in text and "country=US" in text  # harmless data stays


def test_secret_added_later_and_urlencoded(stream: io.StringIO) -> None:
    log = logging.getLogger("familybot_trio.features.token")
    logs.add_secret(LATE_SECRET)
    log.warning("posting %s to %s", LATE_SECRET, "https://x.test/?q=" + LATE_SECRET)
    encoded = "itad%2Fkey%2Blearned%3Dat-runtime42"
    log.warning("GET https://x.test/prices?c=%s", encoded)
    _assert_clean(stream.getvalue())
    assert encoded not in stream.getvalue()


def test_json_lines_redacted_with_traceback(stream: io.StringIO) -> None:
    out = io.StringIO()  # the fixture restores levels; this call replaces its handler
    handler = logs.setup_logging(fmt="json", levels={"root": "INFO"}, secrets=[BOT_TOKEN],
                                 stream=out)
    try:
        try:
            raise ValueError(f"bad token {BOT_TOKEN}")
        except ValueError:
            logging.getLogger("gateway.shard").exception("closed [code:%d]", 4004)
    finally:
        logging.getLogger().removeHandler(handler)
    line = out.getvalue().strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["logger"] == "gateway.shard" and entry["level"] == "ERROR"
    assert entry["msg"] == "closed [code:4004]"
    assert "ValueError: bad token [REDACTED]" in entry["exc"]
    assert BOT_TOKEN not in line


def test_other_handlers_see_redacted_records_too(
    stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    # caplog's handler is not ours: the record factory already redacted the record.
    logging.getLogger("familybot_trio.test").warning("key is %s", WEBAPI_KEY)
    assert WEBAPI_KEY not in caplog.text and "[REDACTED]" in caplog.text


def test_httpx_quiet_by_default_and_levels_validated(stream: io.StringIO) -> None:
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING
    logging.getLogger("httpx").info("HTTP Request: GET https://x.test/?key=abc123456")
    assert "HTTP Request" not in stream.getvalue()
    with pytest.raises(ValueError, match="'LOUD' for logger 'gateway'"):
        logs.setup_logging(levels={"gateway": "LOUD"}, stream=io.StringIO())
    with pytest.raises(ValueError, match="'xml'"):
        logs.setup_logging(fmt="xml", stream=io.StringIO())  # type: ignore[arg-type]


def test_reset_restores_plain_records() -> None:
    logs.setup_logging(stream=io.StringIO(), secrets=[WEBAPI_KEY])
    logs.reset_logging()
    record = logging.getLogger("x").makeRecord("x", logging.INFO, "f", 1, "k %s",
                                                (WEBAPI_KEY,), None)
    assert record.args == (WEBAPI_KEY,)  # other tests in the session are not affected


def test_redact_leaves_plain_text_alone() -> None:
    text = "job ran [job:refresh duration_s:0.120 trigger:schedule] appid=620 monkeys"
    assert logs.redact(text) == text


def test_interaction_and_webhook_tokens_in_logged_urls_are_redacted(stream: io.StringIO) -> None:
    """httpx at INFO logs every request URL; the token in Discord's path must not show."""
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OnNlY3JldHRva2Vu"
    logging.getLogger("httpx").setLevel(logging.INFO)
    with httpx.Client(transport=httpx.MockTransport(lambda req: httpx.Response(204))) as client:
        client.post(f"https://discord.test/api/v10/interactions/123456789012345678/{token}"
                    "/callback")
        client.patch(f"https://discord.test/api/v10/webhooks/987654321098765432/{token}"
                     "/messages/@original")
        client.post(f"https://discord.test/api/v10/webhooks/987654321098765432/{token}?wait=true")
    text = stream.getvalue()
    assert text.count("HTTP Request") == 3, text
    assert token not in text
    assert "/interactions/123456789012345678/[REDACTED]/callback" in text
    assert "/webhooks/987654321098765432/[REDACTED]/messages/@original" in text
    assert "/webhooks/987654321098765432/[REDACTED]?wait=true" in text


def test_basic_authorization_of_the_oauth_token_exchange_is_redacted(
        stream: io.StringIO) -> None:
    """POST /oauth2/token sends client_id:client_secret as HTTP Basic (client_secret_basic)."""
    basic = base64.b64encode(b"123456789012345678:unregistered-client-secret").decode()
    log = logging.getLogger("familybot_trio.web")
    log.debug("token exchange headers %r", {"Authorization": f"Basic {basic}"})
    log.debug("Authorization: basic %s", basic)
    text = stream.getvalue()
    assert basic not in text and text.count(logs.REDACTED) == 2, text


def test_the_dashboards_client_secret_and_metrics_token_are_registered(
        tmp_path: Path, stream: io.StringIO) -> None:
    client_secret, metrics_token = "oauth-client-secret-9f8e7d", "metrics-token-0123456789abcdef"
    cfg = tmp_path / "config.toml"
    cfg.write_text('[family]\ngroup_id = 1\n[[members]]\nsteamid = "76561198000000001"\n'
                   f'name = "A"\n[dashboard]\nmetrics_token = "{metrics_token}"\n')
    config = load_config(cfg, {"FAMILYBOT_DISCORD_CLIENT_SECRET": client_secret},
                         require_secrets=False)
    logs.setup_logging(fmt="text", levels={"root": "DEBUG"}, secrets=config.log_secrets,
                       stream=stream)
    # plain text: no pattern would catch these, only the registered values
    logging.getLogger("familybot_trio.web").warning("scraper sent %s; oauth said %s",
                                                    metrics_token, client_secret)
    text = stream.getvalue()
    assert metrics_token not in text and client_secret not in text, text
    assert text.count(logs.REDACTED) == 2, text


class _Stop(Exception):
    pass


@pytest.mark.parametrize("command", ["run", "populate"])
def test_run_and_populate_register_every_secret_of_the_config(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI paths that set up logging hand it all five secrets (stopped right there)."""
    from familybot_trio.cli import main

    env = {"FAMILYBOT_DISCORD_TOKEN": BOT_TOKEN, "FAMILYBOT_STEAM_API_KEY": WEBAPI_KEY,
           "FAMILYBOT_ITAD_API_KEY": "itad-key-0123456789",
           "FAMILYBOT_DISCORD_CLIENT_SECRET": "oauth-client-secret-9f8e7d"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    metrics_token = "metrics-token-0123456789abcdef"
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "{tmp_path}"\n[family]\ngroup_id = 1\n[[members]]\n'
                   'steamid = "76561198000000001"\nname = "A"\n[dashboard]\n'
                   f'metrics_token = "{metrics_token}"\n')
    seen: list[str] = []

    def setup_logging(**kw: object) -> None:
        seen.extend(kw["secrets"])  # type: ignore[call-overload]
        raise _Stop

    monkeypatch.setattr(logs, "setup_logging", setup_logging)
    with pytest.raises(_Stop):
        main([command, "--config", str(cfg)])
    assert set(seen) >= {*env.values(), metrics_token}, seen


@pytest.mark.parametrize("argv", [["token", "status"], ["outbox", "list"]])
def test_one_shot_commands_redact_the_configs_secrets_too(
        argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A command that sets up no log handler (its warnings go to Python's last-resort
    handler) still redacts every secret of the config from the records it makes."""
    from familybot_trio.cli import main

    secret = "oauth-client-secret-9f8e7d"
    monkeypatch.setenv("FAMILYBOT_DISCORD_CLIENT_SECRET", secret)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "{tmp_path}"\n[family]\ngroup_id = 1\n[[members]]\n'
                   'steamid = "76561198000000001"\nname = "A"\n')
    try:
        main([*argv, "--config", str(cfg)])
        record = logging.getLogger("familybot_trio.test").makeRecord(
            "familybot_trio.test", logging.WARNING, __file__, 1, "exchange failed: %s",
            (f"client_secret={secret}",), None)
        assert secret not in record.getMessage()
    finally:
        logs.reset_logging()


def _log_and_raise(text: str) -> None:
    """Log `text` as a message and, separately, as the message of a logged exception (the
    exc_text path)."""
    log = logging.getLogger("familybot_trio.upstream.test")
    log.debug("request was %s", text)
    try:
        raise RuntimeError(f"send failed: {text}")
    except RuntimeError:
        log.exception("request failed")


def _written(stream: io.StringIO) -> str:
    out = stream.getvalue()
    assert "Traceback (most recent call last)" in out and "RuntimeError: send failed" in out
    return out


def test_bytes_header_lists_and_dicts_are_redacted(stream: io.StringIO) -> None:
    """h11 and httpx keep headers as bytes pairs; their repr reaches a message or an
    exception text as [(b'authorization', b'Bot ...')] or {b'Authorization': b'Bearer ...'}."""
    import h11

    bot, basic, bearer, raw = ("unregistered-bot-credential", "dW5yZWdpc3RlcmVkOmJhc2lj",
                               "unregistered-bearer-value", "unregistered-raw-value")
    request = h11.Request(method="POST", target="/api/v10/channels/1/messages",
                          headers=[("Host", "discord.com"), ("Authorization", f"Bot {bot}")])
    _log_and_raise(repr(request))
    _log_and_raise(repr({b"Authorization": f"Basic {basic}".encode()}))
    _log_and_raise(repr([(b"authorization", f"Bearer {bearer}".encode())]))
    _log_and_raise(repr({b"authorization": raw.encode()}))
    _log_and_raise(repr({b"refresh_token": b"unregistered-refresh-bytes"}))
    text = _written(stream)
    for secret in (bot, basic, bearer, raw, "unregistered-refresh-bytes"):
        assert secret not in text, secret
    assert "(b'authorization', b'Bot [REDACTED]')" in text  # the scheme stays readable
    assert "(b'host', b'discord.com')" in text and "/api/v10/channels/1/messages" in text


def test_cookie_and_set_cookie_headers_are_redacted(stream: io.StringIO) -> None:
    """Session cookies are credentials: Steam's steamLoginSecure/sessionid, the dashboard's."""
    login, session = "76561198000000001%7C%7Cunregistered-login", "0123abcdunregistered"
    _log_and_raise(f"Cookie: steamLoginSecure={login}; sessionid={session}")
    _log_and_raise(f"Set-Cookie: fb_session={session}; Path=/; HttpOnly; Secure")
    _log_and_raise(repr({"cookie": f"steamLoginSecure={login}; sessionid={session}"}))
    _log_and_raise(repr([(b"set-cookie", f"steamLoginSecure={login}; Path=/".encode())]))
    _log_and_raise(f"POST /checkout/addfreelicense sessionid={session}&subid=1")
    jar = httpx.Cookies()
    jar.set("steamLoginSecure", login, domain="store.steampowered.com")
    _log_and_raise(repr(jar))            # <Cookies[<Cookie steamLoginSecure=... for ... />]>
    _log_and_raise(repr(list(jar.jar)))  # [Cookie(version=0, name='...', value='...', ...)]
    text = _written(stream)
    assert login not in text and session not in text and "unregistered" not in text, text
    assert "subid=1" in text and "store.steampowered.com" in text
    # prose about cookies is not a cookie
    logging.getLogger("familybot_trio.test").warning(
        "the store's steamLoginSecure cookie holds no token; no cookie: retrying")
    assert "no cookie: retrying" in stream.getvalue()


def test_oauth_codes_and_refresh_tokens_are_redacted_but_status_codes_stay(
        stream: io.StringIO) -> None:
    """Rule: a parameter named exactly `code` with >= MIN_OAUTH_CODE_CHARS characters
    (Discord's authorization codes have 30); numbers like code=200 or [code:4004] stay."""
    import urllib.parse

    code, refresh = "NhhvTDYsFcdgNLnnLijcl7Ku7bEEeeX", "unregistered-refresh-token-42"
    _log_and_raise(f"GET /auth/callback?code={code}&state=abc")
    _log_and_raise(f"grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fx")
    _log_and_raise(repr({"grant_type": "authorization_code", "code": code}))
    _log_and_raise(repr(urllib.parse.parse_qsl(f"code={code}&state=abc")))
    _log_and_raise(repr(f"code={code}".encode()))
    _log_and_raise(f"grant_type=refresh_token&refresh_token={refresh}&client_secret=cs-unreg1")
    _log_and_raise(repr({"refresh_token": refresh}))
    statuses = ('HTTP 200 code=200 status_code=429 error_code=50001 [code:4004] '
                '{"code": 50001, "message": "Missing Access"} code=invalid')
    logging.getLogger("familybot_trio.test").warning("%s", statuses)
    text = _written(stream)
    assert code not in text and refresh not in text and "cs-unreg1" not in text, text
    assert "state=abc" in text and "grant_type=authorization_code" in text
    assert statuses in text


def test_api_key_headers_are_redacted(stream: io.StringIO) -> None:
    """The ITAD client sends its key as the ITAD-API-Key header (upstream/itad.py)."""
    keys = [f"unregistered-api-key-{n}" for n in range(6)]
    _log_and_raise(f"ITAD-API-Key: {keys[0]}")
    _log_and_raise(f"headers: x-api-key: {keys[1]}, Accept: application/json")
    _log_and_raise(f"api-key: {keys[2]} apikey: {keys[3]}")
    _log_and_raise(repr([(b"itad-api-key", keys[4].encode())]))
    _log_and_raise(repr({"X-API-Key": keys[5]}))
    logging.getLogger("familybot_trio.test").info("keyboard monkey tokens: 5 key: appid 620")
    text = _written(stream)
    for key in keys:
        assert key not in text, key
    assert "Accept: application/json" in text
    assert "keyboard monkey tokens: 5 key: appid 620" in text


def test_registered_secrets_match_in_any_letter_case(stream: io.StringIO) -> None:
    """The Steam key is hex: the same key written lower-case (a hand-edited URL, a config
    value) is still the key; percent escapes may come lower-case (%2f) from some encoders."""
    client_secret = "oauth-client-secret-9f8e7d"  # no pattern would catch it, re-cased or not
    logs.add_secret(LATE_SECRET)
    logs.add_secret(client_secret)
    _log_and_raise(f"steam refused {WEBAPI_KEY.lower()} for /ISteamUser/v2/")
    _log_and_raise("GET https://x.test/prices?c=itad%2fkey%2blearned%3dat-runtime42")
    _log_and_raise(f"oauth said {client_secret.upper()}")
    text = _written(stream)
    for secret in (WEBAPI_KEY.lower(), "itad%2fkey%2blearned%3dat-runtime42",
                   client_secret.upper()):
        assert secret not in text, secret
    assert "/ISteamUser/v2/" in text


def test_json_lines_redact_bytes_headers_and_cookies(stream: io.StringIO) -> None:
    out = io.StringIO()
    handler = logs.setup_logging(fmt="json", levels={"root": "INFO"}, stream=out)
    try:
        try:
            raise RuntimeError(repr([(b"cookie", b"fb_session=unregistered-session")]))
        except RuntimeError:
            logging.getLogger("web").exception("%r", {b"x-api-key": b"unregistered-key-9"})
    finally:
        logging.getLogger().removeHandler(handler)
    entry = json.loads(out.getvalue().strip().splitlines()[-1])
    assert entry["msg"] == "{b'x-api-key': b'[REDACTED]'}"
    assert "(b'cookie', b'[REDACTED]')" in entry["exc"]
    assert "unregistered" not in out.getvalue()


def test_session_cookie_names_match_the_ones_the_bot_sets() -> None:
    from familybot_trio.web._auth import SESSION_COOKIE
    from familybot_trio.web._signin import PRESIGN_COOKIE, STATE_COOKIE

    assert {SESSION_COOKIE, STATE_COOKIE, PRESIGN_COOKIE} <= set(logs.SESSION_COOKIE_NAMES)
    assert "steamLoginSecure" in logs.SESSION_COOKIE_NAMES  # upstream/steam_auth.py reads it
