"""Access token store: decode without verifying, expiry, 0600 atomic persistence."""

from __future__ import annotations

import base64
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio

from familybot_trio.errors import TokenExpired, Unauthorized
from familybot_trio.upstream import AccessTokenStore, decode_access_token
from familybot_trio.upstream.tokens import TOKEN_FILE_NAME
from tests.upstream.conftest import make_token

EXP = 2_000_000_000  # 2033-05-18


def test_decode_reads_exp_sub_aud_without_verifying() -> None:
    tok = decode_access_token(make_token(exp=EXP, aud=("web:store", "mobile")))
    assert tok.steamid == 76561190000000001
    assert tok.expires_at == datetime.fromtimestamp(EXP, tz=UTC)
    assert tok.audience == ("web:store", "mobile")
    now = datetime.fromtimestamp(EXP - 5 * 3600, tz=UTC)
    assert tok.expires_in_hours(now) == pytest.approx(5.0) and not tok.is_expired(now)
    assert tok.value not in repr(tok)


def _jws(header: bytes, payload: bytes) -> str:
    return ".".join(base64.urlsafe_b64encode(p).decode().rstrip("=") for p in (header, payload)) + ".sig"


ALG = b'{"alg":"EdDSA","typ":"JWT"}'


@pytest.mark.parametrize("bad", [
    "", "not-a-jwt", "a.b.c", make_token(exp=EXP)[:-1] + ".",
    _jws(ALG, b"[1]"),                                          # payload not an object
    _jws(b"{}", b'{"sub": "76561190000000001", "exp": 1}'),     # header without alg
    _jws(ALG, b'{"sub": "76561190000000001"}'),                 # no exp
    _jws(ALG, b'{"sub": "76561190000000001", "exp": 1e400}'),   # exp out of range
    _jws(ALG, b"\xff\xfe"),                                     # not UTF-8 JSON
])
def test_garbage_is_unauthorized_and_not_echoed(bad: str) -> None:
    with pytest.raises(Unauthorized, match="token set") as info:
        decode_access_token(bad)
    assert not bad or bad not in str(info.value)


async def test_set_persists_0600_atomically_and_load_reads_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    value = make_token(exp=EXP)
    store = AccessTokenStore(tmp_path / "data")
    assert await store.load() is None
    with pytest.raises(Unauthorized, match="no Steam access token"):
        store.current()
    saved = await store.set(value)
    path = tmp_path / "data" / TOKEN_FILE_NAME
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (await trio.Path(path).read_text()).strip() == value
    assert [p.name for p in path.parent.iterdir()] == [TOKEN_FILE_NAME]  # no temp left
    again = AccessTokenStore(tmp_path / "data")
    assert (await again.load()) == saved and again.current() == saved
    assert value not in caplog.text and value not in repr(store)


async def test_set_refuses_an_expired_token_and_keeps_the_old(tmp_path: Path) -> None:
    store = AccessTokenStore(tmp_path)
    good = await store.set(make_token(exp=EXP))
    with pytest.raises(TokenExpired, match="2020-09-13"):
        await store.set(make_token(exp=1_600_000_000))
    assert store.current() == good
    assert (await trio.Path(store.path).read_text()).strip() == good.value


async def test_current_raises_once_expired(tmp_path: Path) -> None:
    store = AccessTokenStore(tmp_path)
    await store.set(make_token(exp=EXP))
    later = datetime.fromtimestamp(EXP + 1, tz=UTC)
    with pytest.raises(TokenExpired) as info:
        store.current(now=later)
    assert info.value.expired_at == datetime.fromtimestamp(EXP, tz=UTC)
    assert store.peek() is not None
