"""FakeDiscord refuses what Discord refuses, with Discord's error shape (issue 11 "Why" 1).

Raw httpx calls, so nothing in gateway.rest checks a limit before the fake sees the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
from trio.testing import MockClock

from gateway.testing import APPLICATION_ID, CHANNEL_ID, FakeRest
from tests._clocks import thread_aware_autojump


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


@asynccontextmanager
async def raw() -> AsyncIterator[tuple[FakeRest, httpx.AsyncClient]]:
    fake = FakeRest(token="tok")
    fake.bucket_limit = 1000  # these tests are about bodies, not rate limits
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        async with httpx.AsyncClient(base_url=fake.url, verify=False, timeout=3600,
                                     headers={"Authorization": "Bot tok"}) as client:
            yield fake, client
        nursery.cancel_scope.cancel()


def form_errors(resp: httpx.Response) -> dict[str, Any]:
    """The 50035 `errors` tree of a refused request."""
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
    return body["errors"]


def codes_at(tree: dict, *path: str) -> list[str]:
    node = tree
    for key in path:
        node = node[key]
    return [e["code"] for e in node["_errors"]]


async def post(client: httpx.AsyncClient, path: str, body: Any) -> httpx.Response:
    return await client.post(path, json=body)


async def test_bad_command_names_each_broken_field(clock: MockClock) -> None:
    command = {"name": "Bad Name", "description": "", "type": 1, "options": [
        {"name": "opt", "description": "optional", "type": 3},
        {"name": "req", "description": "required after optional", "type": 3, "required": True}]}
    with trio.fail_after(60):
        async with raw() as (fake, client):
            resp = await client.put(f"/applications/{APPLICATION_ID}/commands", json=[command])
            ok = await client.put(f"/applications/{APPLICATION_ID}/commands", json=[
                {"name": "good", "description": "fine", "options": command["options"][::-1]}])
    tree = form_errors(resp)
    assert codes_at(tree, "0", "name") == ["APPLICATION_COMMAND_INVALID_NAME"]
    assert codes_at(tree, "0", "description") == ["BASE_TYPE_BAD_LENGTH"]
    assert codes_at(tree, "0", "options", "1", "required") == [
        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"]
    assert ok.status_code == 200
    stored = ok.json()[0]
    assert stored["version"] and stored["default_member_permissions"] is None
    assert fake.commands[(APPLICATION_ID, None)][0]["name"] == "good"


@pytest.mark.parametrize(("option", "path", "code"), [
    ({"name": "x", "description": "d", "type": 3, "choices": [{"name": "a", "value": "v" * 101}]},
     ("options", "0", "choices", "0", "value"), "BASE_TYPE_BAD_LENGTH"),
    ({"name": "x", "description": "d", "type": 3, "autocomplete": True,
      "choices": [{"name": "a", "value": "b"}]}, ("options", "0", "autocomplete"),
     "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES"),
    ({"name": "x", "description": "d", "type": 5, "min_value": 1}, ("options", "0", "min_value"),
     "APPLICATION_COMMAND_OPTION_INVALID"),
    ({"name": "x", "description": "d" * 101, "type": 3}, ("options", "0", "description"),
     "BASE_TYPE_BAD_LENGTH"),
])
async def test_command_option_rules(clock: MockClock, option: dict, path: tuple, code: str) -> None:
    with trio.fail_after(60):
        async with raw() as (_, client):
            resp = await client.put(f"/applications/{APPLICATION_ID}/commands", json=[
                {"name": "cmd", "description": "d", "options": [option]}])
    assert code in codes_at(form_errors(resp), "0", *path)


async def test_message_limits(clock: MockClock) -> None:
    path = f"/channels/{CHANNEL_ID}/messages"
    many = [{"title": "t" * 256, "description": "d" * 1800} for _ in range(3)]  # 6168 chars
    with trio.fail_after(60):
        async with raw() as (fake, client):
            title = await post(client, path, {"embeds": [{"title": "x" * 300}]})
            nonce = await post(client, path, {"content": "hi", "nonce": "n" * 40})
            total = await post(client, path, {"embeds": many})
            mentions = await post(client, path, {"content": "hi", "allowed_mentions": {
                "parse": ["users", "nobody"], "users": ["1"]}})
            buttons = await post(client, path, {"content": "hi", "components": [
                {"type": 1, "components": [{"type": 2, "style": 1, "label": "go"}]}]})
            empty = await post(client, path, {"content": ""})
            fine = await post(client, path, {"content": "ok"})
            mid = fine.json()["id"]
            edit = await client.patch(f"{path}/{mid}", json={"content": "e" * 5000})
    assert codes_at(form_errors(title), "embeds", "0", "title") == ["BASE_TYPE_MAX_LENGTH"]
    assert codes_at(form_errors(nonce), "nonce") == ["BASE_TYPE_MAX_LENGTH"]
    assert codes_at(form_errors(total), "embeds") == ["MAX_EMBED_SIZE_EXCEEDED"]
    tree = form_errors(mentions)
    assert codes_at(tree, "allowed_mentions", "parse", "1") == ["BASE_TYPE_CHOICES"]
    assert codes_at(tree, "allowed_mentions") == ["MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"]
    assert codes_at(form_errors(buttons), "components", "0", "components", "0",
                    "custom_id") == ["BASE_TYPE_REQUIRED"]
    assert empty.status_code == 400 and empty.json()["code"] == 50006
    assert codes_at(form_errors(edit), "content") == ["BASE_TYPE_MAX_LENGTH"]
    assert [m.content for m in fake.messages()] == ["ok"]  # nothing refused was stored


async def test_message_object_has_every_field_and_no_null_nonce(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with raw() as (_, client):
            msg = (await post(client, f"/channels/{CHANNEL_ID}/messages", {"content": "x"})).json()
            me = (await client.get("/users/@me")).json()
            app = (await client.get("/oauth2/applications/@me")).json()
    assert "nonce" not in msg
    for key in ("author", "type", "timestamp", "edited_timestamp", "tts", "mention_everyone",
                "mentions", "mention_roles", "pinned", "attachments", "embeds"):
        assert key in msg, key
    for user in (msg["author"], me):
        assert {"id", "username", "discriminator", "avatar", "global_name"} <= set(user)
    assert app["id"] == str(APPLICATION_ID) and app["bot"]["id"] == me["id"]


async def test_nonce_dedup_expires_after_the_window(clock: MockClock) -> None:
    body = {"content": "x", "nonce": "n-1", "enforce_nonce": True}
    with trio.fail_after(600):
        async with raw() as (fake, client):
            fake.nonce_window_s = 60.0
            first = (await post(client, f"/channels/{CHANNEL_ID}/messages", body)).json()
            again = (await post(client, f"/channels/{CHANNEL_ID}/messages", body)).json()
            await trio.sleep(61)
            later = (await post(client, f"/channels/{CHANNEL_ID}/messages", body)).json()
    assert first["id"] == again["id"] != later["id"]


async def test_pin_limit_and_current_pin_routes(clock: MockClock) -> None:
    path = f"/channels/{CHANNEL_ID}/messages"
    with trio.fail_after(60):
        async with raw() as (fake, client):
            fake.pin_limit = 2
            ids = [(await post(client, path, {"content": str(i)})).json()["id"] for i in range(3)]
            pins = [await client.put(f"{path}/pins/{i}") for i in ids]
            listed = (await client.get(f"{path}/pins")).json()
            old = await client.get(f"/channels/{CHANNEL_ID}/pins")
    assert [p.status_code for p in pins[:2]] == [204, 204]
    assert pins[2].status_code == 400 and pins[2].json()["code"] == 30003
    assert {i["message"]["id"] for i in listed["items"]} == set(ids[:2])
    assert listed["has_more"] is False
    assert old.status_code == 200 and fake.deprecated_calls == [
        f"GET /channels/{CHANNEL_ID}/pins"]


async def test_attachment_id_must_be_a_snowflake_string(clock: MockClock) -> None:
    files = {"payload_json": (None, b'{"content":"x","attachments":[{"id":0}]}',
                              "application/json"),
             "files[0]": ("a.txt", b"hello", "text/plain")}
    with trio.fail_after(60):
        async with raw() as (_, client):
            resp = await client.post(f"/channels/{CHANNEL_ID}/messages", files=files)
    assert codes_at(form_errors(resp), "attachments", "0", "id") == ["NUMBER_TYPE_COERCE"]


async def test_rate_limit_headers_and_interaction_buckets(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with raw() as (fake, client):
            fake.bucket_limit = 2
            fake.bucket_reset_after_s = 1.2
            ok = await post(client, f"/channels/{CHANNEL_ID}/messages", {"content": "a"})
            await post(client, f"/channels/{CHANNEL_ID}/messages", {"content": "b"})
            over = await post(client, f"/channels/{CHANNEL_ID}/messages", {"content": "c"})
            fake.add_interaction(1, "t1", application_id=APPLICATION_ID, channel_id=CHANNEL_ID)
            await client.post("/interactions/1/t1/callback", json={"type": 5})
            hook = f"/webhooks/{APPLICATION_ID}/t1"
            first = await client.post(hook, json={"content": "1"})
            await client.post(hook, json={"content": "2"})
            third = await client.post(hook, json={"content": "3"})
    for key in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                "x-ratelimit-reset-after", "x-ratelimit-bucket"):
        assert key in ok.headers and key in first.headers, key
    assert float(ok.headers["x-ratelimit-reset"]) > 1.7e9  # unix seconds
    assert over.status_code == 429 and over.headers["retry-after"] == "2"  # 1.2 s rounded up
    assert third.status_code == 429  # webhooks have buckets (only the global limit skips them)
