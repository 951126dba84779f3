"""Steam sign-in against the sandbox's fake IAuthenticationService and web renewal path.

Real sockets (the sandbox on 127.0.0.1:0), the real state file, the real family endpoint
(GetSharedLibraryApps through the `steam` package) to prove the tokens work. The fake hands
out a 10 ms poll interval (Steam's is 5 s) and the tests move the bot's and the sandbox's
clocks by hand (`Env.advance`), so token lifetimes of days pass without sleeping; the knob
steps wait for the sign-in's own events, never for time.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trio
import trio.testing

from bench.soak._clock import ThreadAwareClock, counting_threads
from familybot_trio import logs
from familybot_trio.errors import UpstreamError
from familybot_trio.sandbox import Sandbox
from familybot_trio.sandbox._auth import AuthFake, fake_auth
from familybot_trio.signin import SignIn, SignInNeeded
from familybot_trio.upstream.models import FamilyGroupId
from familybot_trio.upstream.steam_auth import QrDenied, QrExpired
from familybot_trio.upstream.steam_webapi import SteamWebAPI
from familybot_trio.upstream.tokens import AccessTokenStore


class Env:
    """A served sandbox, its auth fake, a SignIn on tmp_path, reports and a moving clock."""

    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        self.sandbox, self.tmp = sandbox, tmp
        self.auth: AuthFake = fake_auth(sandbox)
        self.offset_s = 0.0
        self.reports: list[str] = []
        self.tokens = AccessTokenStore(tmp / "data")

        async def report(text: str) -> None:
            self.reports.append(text)

        self.auth.interval_s = 0.01
        self.signin = SignIn(tmp / "data", self.tokens, api_base=sandbox.urls["steam_webapi"],
                             login_base=sandbox.urls["steam_auth"], now=self.now, report=report,
                             min_poll_s=0.0)
        self.session = requests.Session()
        self.steam = SteamWebAPI(self.session, tokens=self.tokens, apihost=sandbox.apihost,
                                 https=False)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset_s)

    def advance(self, seconds: float) -> None:
        """Move the bot's and the sandbox's clocks together."""
        self.offset_s += seconds
        self.auth.advance(seconds)

    async def family_apps(self) -> int:
        apps = await self.steam.get_shared_library_apps(
            FamilyGroupId(self.sandbox.family.family_groupid), include_own=True)
        return len(apps)

    async def login(self, nursery: trio.Nursery, then=("approve",)) -> list[str]:
        """Run qr_login; apply knob steps in order, each once the previous one showed up
        as an event ("scan" -> "scanned", "rotate" -> "rotated"); return the events."""
        events: list[str] = []
        changed = trio.Event()
        expect = {"scan": "scanned", "rotate": "rotated"}

        async def on_update(event: str, challenge) -> None:
            nonlocal changed
            events.append(event)
            changed.set()
            changed = trio.Event()

        async def knobs() -> None:
            while not events:
                await changed.wait()
            for step in then:
                getattr(self.auth, step)()
                if step in expect:
                    while expect[step] not in events:
                        await changed.wait()

        nursery.start_soon(knobs)
        await self.signin.qr_login(on_update)
        return events


@pytest.fixture
def clock() -> Iterator[trio.testing.MockClock]:
    """Autojump, but never while a worker thread runs (the sandbox builds big answers in
    threads: a slow one let the clock jump straight to the tests' 3600 s deadline)."""
    clock = ThreadAwareClock(autojump_threshold=0.25)
    with counting_threads(clock):
        yield clock


@pytest.fixture
async def env(nursery: trio.Nursery, tmp_path: Path) -> Env:
    sandbox = await nursery.start(Sandbox(rate_limits=False).serve)
    return Env(sandbox, tmp_path)


def _secrets(env: Env) -> list[str]:
    return [*env.auth.refresh, *env.auth.issued_access,
            *(s.request_id for s in env.auth.sessions)]


async def test_qr_login_scanned_rotated_approved_saves_0600_state(clock, env: Env) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            events = await env.login(nursery, then=("scan", "rotate", "approve"))
    assert events == ["challenge", "scanned", "rotated"]
    state = env.signin.state
    assert state.route == "qr" and state.steamid == env.sandbox.family.members[0].steamid
    assert state.refresh_token in env.auth.refresh
    # the stored access token is the store cookie's token from settoken, not the poll's
    assert env.tokens.peek().value == state.access_token == env.auth.issued_access[-1]
    assert env.sandbox.counts["steam_auth.finalizelogin"] == 1
    mode = stat.S_IMODE(os.stat(env.signin.path).st_mode)
    assert mode == 0o600
    on_disk = json.loads(env.signin.path.read_text())
    assert on_disk["refresh_token"] == state.refresh_token and on_disk["steamid"] == state.steamid
    assert await env.family_apps() > 0
    assert "token" not in repr(state).replace("_token", "")  # no token text in repr
    for secret in _secrets(env):
        assert secret not in repr(state)


@pytest.mark.parametrize("knob, error, words", [("deny", QrDenied, "denied"),
                                                 ("expire", QrExpired, "expired")])
async def test_qr_denied_or_expired_says_which(clock, env: Env, knob, error, words) -> None:
    caught: list[BaseException] = []
    with trio.fail_after(3600):
        try:
            async with trio.open_nursery() as nursery:
                await env.login(nursery, then=(knob,))
        except* error as group:
            caught.extend(group.exceptions)
    assert len(caught) == 1 and words in str(caught[0]) and "new QR code" in str(caught[0])
    assert env.signin.state is None and not env.signin.path.exists()


async def test_qr_nobody_approves_stops_after_timeout(clock, env: Env) -> None:
    async def on_update(event: str, challenge) -> None:
        pass
    # Polls 0.3 s apart (virtual): each idle wait costs the autojump clock 0.25 s of real
    # time, so the 0.01 s of the other tests would make this 1 s timeout take ~25 s.
    env.auth.interval_s = 0.3
    with trio.fail_after(30), pytest.raises(QrExpired, match="within 1 s"):
        await env.signin.qr_login(on_update, timeout_s=1.0)
    polls = env.sandbox.counts["steam_auth.PollAuthSessionStatus"]
    assert polls >= 2                 # it polled, then gave up; never restarted
    assert env.sandbox.counts["steam_auth.BeginAuthSessionViaQR"] == 1


async def test_renewal_before_expiry_no_family_call_fails(clock, env: Env) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        first = env.signin.state.access_token
        for _hour in range(60):           # 2.5 days, a job run and a family call each hour
            env.advance(3600)
            await env.signin.run_job()
            await env.signin.ensure_fresh()
            assert await env.family_apps() > 0
    state = env.signin.state
    assert state.access_token != first and state.last_error is None
    assert env.sandbox.counts["steam_auth.finalizelogin"] in (3, 4)  # ~once per 22 h
    assert env.reports == []


async def test_expired_token_is_renewed_before_the_call_and_401_renews_once(clock, env: Env
                                                                             ) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        env.advance(25 * 3600)            # no job ran: the token is expired for both sides
        await env.signin.ensure_fresh()
        assert env.signin.state.access_exp > env.now()
        assert await env.family_apps() > 0
        env.sandbox.expire_access_token()  # revoked early: the family call answers 401
        before = env.sandbox.counts["steam_auth.finalizelogin"]
        with pytest.raises(UpstreamError):
            await env.family_apps()
        assert await env.signin.after_unauthorized() is True
        assert await env.family_apps() > 0
        assert env.sandbox.counts["steam_auth.finalizelogin"] == before + 1


async def test_revoked_refresh_token_one_admin_message_per_streak(clock, env: Env) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        env.auth.revoke_all()
        for _ in range(5):
            env.advance(3600 * 6)
            await env.signin.run_job()
        assert len(env.reports) == 1 and "sign in again" in env.reports[0]
        assert env.signin.state.needs_signin
        with pytest.raises(SignInNeeded, match="/admin_steam_login") as err:
            await env.signin.ensure_fresh()
        assert "familybot-trio steam login" in str(err.value)
        # a new sign-in ends the streak; a second revoke is reported again
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        assert not env.signin.state.needs_signin
        env.auth.revoke_all()
        env.advance(23 * 3600)
        await env.signin.run_job()
        await env.signin.run_job()
    assert len(env.reports) == 2


@pytest.mark.parametrize("kind, needs_person", [
    ("access_denied", True), ("revoked", True), ("expired", True), ("http_401", True),
    ("busy", False), ("http_500", False), ("no_cookie", False)])
async def test_each_renewal_failure(clock, env: Env, kind, needs_person) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        env.auth.fail_renewal(kind)
        env.advance(23 * 3600)
        if needs_person:
            await env.signin.run_job()     # SignInNeeded is handled: the admin is told
            assert env.signin.state.needs_signin and len(env.reports) == 1
        else:
            with pytest.raises(UpstreamError) as err:
                await env.signin.run_job()
            assert not isinstance(err.value, SignInNeeded)
            assert not env.signin.state.needs_signin and env.reports == []
            assert env.signin.state.last_error
            env.auth.clear_renewal_faults()
            assert await env.signin.renew() is True
    for secret in _secrets(env):
        assert secret not in (env.signin.state.last_error or "")


async def test_refresh_expiry_reminders_14_and_2_days_once_each(clock, env: Env) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        days_left = (env.signin.state.refresh_exp - env.now()).days
        env.advance((days_left - 15) * 86400)
        await env.signin.run_job()
        assert env.reports == []
        env.advance(2 * 86400)              # 13 days left
        await env.signin.run_job()
        await env.signin.run_job()
        assert len(env.reports) == 1 and "ends in 13 days" in env.reports[0]
        env.advance(12 * 86400 + 3600)      # < 2 days left
        await env.signin.run_job()
        await env.signin.run_job()
    assert len(env.reports) == 2 and "ends in 1 day " in env.reports[1]
    assert "/admin_steam_login" in env.reports[1]


async def test_logout_revokes_and_forgets(clock, env: Env) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        refresh = env.signin.state.refresh_token
        text = await env.signin.logout()
    assert "Steam revoked the sign-in" in text and refresh in env.auth.revoked
    assert not env.signin.path.exists() and env.signin.state is None
    assert "Not signed in" in env.signin.status_lines()[0]


async def test_no_token_text_in_logs_or_errors(clock, env: Env, caplog) -> None:
    """Everything at DEBUG, httpcore included (it logs response headers, Set-Cookie too):
    the bot's logging setup must leave no token, request_id or cookie in any line."""
    stream = io.StringIO()
    logs.setup_logging(levels={"root": "DEBUG", "httpx": "DEBUG", "httpcore": "DEBUG"},
                       stream=stream)
    caplog.set_level(logging.DEBUG)
    try:
        with trio.fail_after(3600):
            async with trio.open_nursery() as nursery:
                await env.login(nursery, then=("rotate", "approve"))
            env.advance(23 * 3600)
            await env.signin.run_job()
            lines = "\n".join(env.signin.status_lines())
            env.auth.fail_renewal("revoked")
            env.advance(23 * 3600)
            await env.signin.run_job()
            with pytest.raises(SignInNeeded) as err:
                env.advance(2 * 3600)
                await env.signin.ensure_fresh()
    finally:
        logs.reset_logging()
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records) + stream.getvalue()
    assert "HTTP Request: POST" in caplog.text   # httpx's INFO line is there, URL only
    assert "set-cookie" in logged.lower()         # httpcore's header line was logged...
    for secret in _secrets(env):                  # ...redacted, like everything else
        leaks = [r.getMessage()[:300] for r in caplog.records if secret in r.getMessage()]
        assert not leaks, leaks
        assert secret not in logged and secret not in lines
        assert secret not in str(err.value) and secret not in "\n".join(env.reports)


async def test_request_urls_carry_no_secret_even_without_redaction(clock, env: Env,
                                                                   caplog) -> None:
    """httpx logs every request URL at INFO; with no redaction installed, those lines must
    still hold no token, request_id or nonce: all of them travel in POST bodies."""
    caplog.set_level(logging.INFO)
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery, then=("rotate", "scan", "approve"))
        env.advance(23 * 3600)
        assert await env.signin.renew() is True
        await env.signin.logout()
    urls = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("finalizelogin" in u for u in urls) and any("RevokeToken" in u for u in urls)
    for secret in _secrets(env):
        assert not [u for u in urls if secret in u]
        assert secret not in caplog.text


async def test_concurrent_family_calls_renew_once(clock, env: Env) -> None:
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            await env.login(nursery)
        env.advance(25 * 3600)
        before = env.sandbox.counts["steam_auth.finalizelogin"]
        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(env.signin.ensure_fresh)
        assert env.sandbox.counts["steam_auth.finalizelogin"] == before + 1
        assert await env.family_apps() > 0


async def test_running_bot_adopts_a_sign_in_made_by_the_cli(clock, env: Env) -> None:
    cli = SignIn(env.tmp / "data", AccessTokenStore(env.tmp / "data"),
                 api_base=env.sandbox.urls["steam_webapi"],
                 login_base=env.sandbox.urls["steam_auth"], now=env.now)
    await env.signin.load()                      # the bot started before the sign-in
    assert env.signin.state is None and env.tokens.peek() is None
    with trio.fail_after(3600):
        await cli.accept_refresh_cookie(env.auth.mint_refresh())
        await env.signin.run_job()               # the next renewal run
    assert env.signin.state.route == "refresh_cookie"
    assert env.tokens.peek().value == cli.state.access_token
    assert await env.family_apps() > 0
