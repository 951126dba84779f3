"""FakeDiscord's interaction rules: callback types per kind, empty and long replies,
one initial response, tokens valid 15 minutes (issue 11 "Why" 1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trio
from trio.testing import MockClock

from gateway.testing import APPLICATION_ID, CHANNEL_ID
from tests._clocks import thread_aware_autojump
from tests.gateway.test_fake_strict import codes_at, form_errors, raw


@pytest.fixture
def clock() -> Iterator[MockClock]:
    with thread_aware_autojump(0.05) as clock:  # never while a worker thread runs
        yield clock


async def test_callback_types_and_bodies(clock: MockClock) -> None:
    with trio.fail_after(60):
        async with raw() as (fake, client):
            def new(i: int, kind: int = 2) -> str:
                fake.add_interaction(i, f"t{i}", application_id=APPLICATION_ID,
                                     channel_id=CHANNEL_ID, kind=kind)
                return f"/interactions/{i}/t{i}/callback"
            update = await client.post(new(1), json={"type": 7, "data": {"content": "x"}})
            empty = await client.post(new(2), json={"type": 4, "data": {}})
            long = await client.post(new(3), json={"type": 4, "data": {"content": "x" * 2500}})
            choices = await client.post(new(4), json={"type": 4, "data": {"content": "x"}})
            auto = await client.post(new(5, kind=4), json={"type": 8, "data": {"choices": [
                {"name": "a", "value": "a"}] * 26}})
            fine = await client.post(new(6), json={"type": 4, "data": {"content": "ok"}})
            twice = await client.post("/interactions/6/t6/callback",
                                      json={"type": 4, "data": {"content": "again"}})
    assert codes_at(form_errors(update), "type") == ["INTERACTION_RESPONSE_TYPE_INVALID"]
    assert empty.status_code == 400 and empty.json()["code"] == 50006
    assert codes_at(form_errors(long), "data", "content") == ["BASE_TYPE_MAX_LENGTH"]
    assert choices.status_code == 204  # a type 4 answer to a command is fine
    assert codes_at(form_errors(auto), "data", "choices") == ["BASE_TYPE_MAX_LENGTH"]
    assert fine.status_code == 204
    assert twice.status_code == 400 and twice.json()["code"] == 40060
    assert fake.interactions[1].callback_types == [] and fake.interactions[1].rejected == [50035]


async def test_followups_limits_and_the_15_minute_token(clock: MockClock) -> None:
    with trio.fail_after(3600):
        async with raw() as (fake, client):
            fake.add_interaction(1, "tok1", application_id=APPLICATION_ID, channel_id=CHANNEL_ID)
            await client.post("/interactions/1/tok1/callback", json={"type": 5})
            hook = f"/webhooks/{APPLICATION_ID}/tok1"
            long = await client.post(hook, json={"content": "y" * 2500})
            edit_long = await client.patch(f"{hook}/messages/@original",
                                           json={"content": "y" * 2001})
            ok = await client.post(hook, json={"content": "fine"})
            await trio.sleep(14 * 60)
            still = await client.patch(f"{hook}/messages/@original", json={"content": "done"})
            await trio.sleep(61)
            late = await client.post(hook, json={"content": "too late"})
            late_edit = await client.patch(f"{hook}/messages/@original", json={"content": "x"})
    assert codes_at(form_errors(long), "content") == ["BASE_TYPE_MAX_LENGTH"]
    assert codes_at(form_errors(edit_long), "content") == ["BASE_TYPE_MAX_LENGTH"]
    assert ok.status_code == 200 and still.status_code == 200
    for resp in (late, late_edit):
        assert resp.status_code == 401 and resp.json()["code"] == 50027
