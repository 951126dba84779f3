"""Which failures the outbox retries, waits out or gives up on (familybot_trio._outbox_faults),
and the store side of the hourly-for-a-week retry of refused rows."""

from __future__ import annotations

import datetime as dt

import pytest

from familybot_trio._outbox_faults import classify
from familybot_trio.outbox_sender import FAILED_RETRY_EVERY, FAILED_RETRY_FOR
from familybot_trio.store import OutboxDraft, Snowflake, Store
from gateway.errors import (
    CloudflareBanned,
    Forbidden,
    HTTPError,
    NotFound,
    RateLimited,
    ServerError,
)

R = {"method": "POST", "route": "/channels/{channel_id}/messages"}


@pytest.mark.parametrize(("exc", "kind", "cause", "words"), [
    (ServerError(503, 0, "down", **R), "transient", "outage", "not answering"),
    (ServerError(0, 0, "connection failed: ReadTimeout", **R), "transient", "outage", ""),
    (RateLimited(12.5, "global", **R), "transient", "outage", "rate limited"),
    (CloudflareBanned(429, 0, "html 429", **R), "transient", "outage", "Cloudflare"),
    (HTTPError(401, 0, "401: Unauthorized", **R), "transient", "outage", "DISCORD_TOKEN"),
    (Forbidden(403, 50013, "Missing Permissions", **R), "permanent", "forbidden:7",
     "Send Messages and Embed Links in #deals"),
    (Forbidden(403, 50001, "Missing Access", **R), "permanent", "forbidden:7", "View Channel"),
    (NotFound(404, 10003, "Unknown Channel", **R), "permanent", "gone:7",
     "no longer exists: set [channels] deals"),
    (HTTPError(400, 50035, "Invalid Form Body", **R), "permanent", "invalid:deal", "50035"),
    (ValueError("the message content is 2001 characters long"), "permanent", "invalid:deal",
     "2001 characters"),
    (TypeError("create_message() got an unexpected keyword argument 'tts'"), "permanent",
     "invalid:deal", "TypeError"),
])
def test_classify(exc, kind, cause, words) -> None:
    failure = classify(exc, channel_id=7, channel_name="deals", row_kind="deal",
                       paused_for_s=600.0)
    assert (failure.kind, failure.cause) == (kind, cause)
    assert words in failure.reason
    if isinstance(exc, RateLimited):
        assert failure.wait_s == 12.5
    if isinstance(exc, CloudflareBanned):
        assert failure.wait_s == 600.0


def test_a_channel_missing_from_the_config_is_named_by_id() -> None:
    failure = classify(NotFound(404, 10003, "Unknown Channel", **R), channel_id=7,
                       channel_name="", row_kind="deal")
    assert "channel 7 no longer exists" in failure.reason


async def test_refused_rows_come_back_hourly_for_a_week_then_wait_for_an_admin(
        store: Store) -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    (row_id,) = await store.outbox.enqueue(
        [OutboxDraft("deal", "deal:1", Snowflake(7), {"content": "x"})], t0)
    await store.outbox.mark_refused(row_id, "Missing Permissions", t0, t0 + FAILED_RETRY_EVERY)

    async def due(at: dt.datetime) -> list[int]:
        rows = await store.outbox.due(at, retry_failed_since=at - FAILED_RETRY_FOR)
        return [r.id for r in rows]

    assert await due(t0 + dt.timedelta(minutes=59)) == []
    assert await due(t0 + FAILED_RETRY_EVERY) == [row_id]
    later = t0 + dt.timedelta(days=3)
    await store.outbox.mark_refused(row_id, "Missing Permissions", later,
                                    later + FAILED_RETRY_EVERY)
    (row,) = await store.outbox.rows("failed")
    assert row.failed_at == t0 and row.attempts == 2  # the first refusal is kept
    assert await due(t0 + FAILED_RETRY_FOR + dt.timedelta(hours=1)) == []  # a week is over
    assert await store.outbox.retry([row_id]) == [row_id]  # an admin retries by hand
    assert await due(t0 + FAILED_RETRY_FOR + dt.timedelta(hours=1)) == [row_id]
