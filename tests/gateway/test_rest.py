"""Rest against FakeRest on 127.0.0.1: calls, headers, errors with Discord codes.

Rate-limit and failure scenarios (discord-protocol.md 3.5 #14, 5xx) are in test_rest_limits.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import trio
from trio.testing import MockClock

from gateway.errors import Forbidden, HTTPError, NotFound
from gateway.rest import Rest
from gateway.testing import FakeRest, open_rest
from tests._clocks import thread_aware_autojump


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


@asynccontextmanager
async def serving(**knobs: object) -> AsyncIterator[tuple[FakeRest, Rest]]:
    fake = FakeRest(token="tok.for-tests")
    for k, v in knobs.items():
        setattr(fake, k, v)
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        async with open_rest(fake) as rest:
            yield fake, rest
        nursery.cancel_scope.cancel()


async def test_headers_and_gateway_bot(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with serving(gateway_url="ws://127.0.0.1:9") as (fake, rest):
            info = await rest.get_gateway_bot()
            assert info["url"] == "ws://127.0.0.1:9"
            assert info["session_start_limit"]["remaining"] == 1000
            await rest.create_message(7, content="hi")
    get, post = fake.requests
    assert get.path == "/gateway/bot" and get.headers["authorization"] == "Bot tok.for-tests"
    assert get.headers["user-agent"].startswith("DiscordBot (https://")
    assert post.headers["content-type"] == "application/json"
    assert post.json == {"content": "hi", "allowed_mentions": {"parse": []}}


async def test_message_lifecycle_nonce_pin_dm(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with serving() as (fake, rest):
            first = await rest.create_message(7, content="new game", nonce="outbox-41")
            again = await rest.create_message(7, content="new game", nonce="outbox-41")
            assert again["id"] == first["id"]  # enforce_nonce: a retry does not post twice
            await rest.edit_message(7, int(first["id"]), content="new game (edited)")
            await rest.pin_message(7, int(first["id"]))
            pins = await rest.get_pinned_messages(7)
            other = await rest.create_message(7, embeds=[{"title": "x"}])
            await rest.delete_message(7, int(other["id"]))
            dm = await rest.create_dm(555)
    assert fake.requests[0].json["enforce_nonce"] is True
    assert [p["id"] for p in pins] == [first["id"]]
    (stored,) = fake.messages(7)
    assert (stored.content, stored.nonce, stored.pinned, stored.edits) == (
        "new game (edited)", "outbox-41", True, 1)
    assert dm["recipients"][0]["id"] == "555"
    assert fake.requests[-1].json == {"recipient_id": "555"}


async def test_bulk_overwrite_global_and_guild(clock: MockClock) -> None:
    cmds = [{"name": "ping", "description": "pong", "type": 1}]
    with trio.fail_after(60):
        async with serving() as (fake, rest):
            stored = await rest.bulk_overwrite_commands(99, cmds)
            await rest.bulk_overwrite_commands(99, cmds, guild_id=1234)
    assert stored[0]["name"] == "ping" and stored[0]["id"]
    assert set(fake.commands) == {(99, None), (99, 1234)}
    assert [q.path for q in fake.requests] == [
        "/applications/99/commands", "/applications/99/guilds/1234/commands"]


async def test_interaction_callback_followup_and_edit_original(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with serving() as (fake, rest):
            state = fake.add_interaction(11, "tok-a", application_id=99, channel_id=7)
            await rest.interaction_callback(11, "tok-a", 5)
            await rest.edit_original(99, "tok-a", content="done")
            await rest.create_followup(99, "tok-a", content="more", flags=64)
    assert state.callback_types == [5]
    original, followup = (m for m in fake.messages(7))
    assert (original.kind, original.content, original.edits) == ("original", "done", 1)
    assert (followup.kind, followup.content, followup.is_ephemeral) == ("followup", "more", True)
    assert fake.requests[-1].query == {"wait": "true"}
    # The interaction token sits in the path; Rest's errors and logs use templates only.
    assert "tok-a" in fake.requests[-1].path


async def test_interaction_deadline_and_double_ack_errors(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with serving() as (fake, rest):
            fake.add_interaction(21, "tok-late", application_id=99, channel_id=7)
            await trio.sleep(3.5)  # virtual: past Discord's 3 s deadline
            with pytest.raises(NotFound) as late:
                await rest.interaction_callback(21, "tok-late", 4, {"content": "too late"})
            fake.add_interaction(22, "tok-twice", application_id=99, channel_id=7)
            await rest.interaction_callback(22, "tok-twice", 4, {"content": "one"})
            with pytest.raises(HTTPError) as twice:
                await rest.interaction_callback(22, "tok-twice", 4, {"content": "two"})
    assert late.value.code == 10062 and late.value.status == 404
    assert twice.value.code == 40060 and twice.value.status == 400
    assert "tok-" not in str(late.value) and "tok-" not in str(twice.value)
    assert "/interactions/{interaction_id}/{webhook_token}/callback" in str(twice.value)


async def test_errors_carry_discord_code_and_no_token(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with serving() as (fake, rest):
            with pytest.raises(NotFound) as missing:
                await rest.edit_message(7, 42, content="x")
            fake.fail_next("POST", "/channels/7/messages", 403,
                           body={"code": 50013, "message": "Missing Permissions"})
            with pytest.raises(Forbidden) as forbidden:
                await rest.create_message(7, content="x")
            with pytest.raises(HTTPError) as empty:
                await rest.create_message(7)
    assert (missing.value.code, missing.value.message) == (10008, "Unknown Message")
    assert forbidden.value.code == 50013 and "Missing Permissions" in str(forbidden.value)
    assert empty.value.code == 50006
    for err in (missing.value, forbidden.value, empty.value):
        assert "tok.for-tests" not in str(err)
    assert "tok.for-tests" not in repr(rest)


async def test_bad_token_is_401(clock: MockClock) -> None:
    fake = FakeRest(token="right")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(fake.serve)
            async with open_rest(fake) as good:
                await good.get_gateway_bot()
                wrong = Rest(token="wrong", client=good._client, base_url=fake.url)
                with pytest.raises(HTTPError) as err:
                    await wrong.get_gateway_bot()
            nursery.cancel_scope.cancel()
    assert err.value.status == 401 and "wrong" not in str(err.value)
    assert wrong.limiter.invalid_requests == 1


async def test_limits_checked_before_sending(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with serving() as (fake, rest):
            with pytest.raises(ValueError, match="2001 characters"):
                await rest.create_message(7, content="x" * 2001)
            with pytest.raises(ValueError, match="11 embeds"):
                await rest.create_message(7, embeds=[{"title": "t"}] * 11)
            with pytest.raises(ValueError, match="1-25"):
                await rest.create_message(7, content="x", nonce="n" * 26)
    assert fake.requests == []  # nothing reached Discord


async def test_invalid_form_body_names_the_fields(clock: MockClock) -> None:
    bad = [{"name": "ok", "description": "d", "options": [
        {"name": "flag", "description": "d", "type": 5, "min_value": 1}]}, {"name": "Bad"}]
    with trio.fail_after(60):
        async with serving() as (_, rest):
            with pytest.raises(HTTPError) as err:
                await rest.bulk_overwrite_commands(1, bad)
    assert err.value.status == 400 and err.value.code == 50035
    assert err.value.field_paths == ["0.options.0.min_value", "1.name", "1.description"]
    assert "0.options.0.min_value: APPLICATION_COMMAND_OPTION_INVALID" in str(err.value)
    assert err.value.errors["1"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
