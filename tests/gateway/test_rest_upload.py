"""Uploading a file with a message (multipart/form-data with payload_json) against FakeDiscord."""

from __future__ import annotations

import trio

from gateway.rest import Attachment
from gateway.testing import CHANNEL_ID, FakeDiscord, open_rest


async def test_create_message_uploads_a_file_with_its_json_payload(nursery: trio.Nursery) -> None:
    with trio.fail_after(20):
        fake = await nursery.start(FakeDiscord().serve)
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
        async with open_rest(fake) as rest:
            msg = await rest.create_message(
                CHANNEL_ID, content="scan me", nonce="n-1",
                files=[Attachment("qr.png", png, "image/png")])
    assert msg["attachments"][0]["filename"] == "qr.png"
    stored = fake.messages(CHANNEL_ID)[-1]
    assert stored.content == "scan me" and stored.nonce == "n-1"
    assert stored.attachments[0]["data"] == png
    assert stored.attachments[0]["content_type"] == "image/png"
    sent = fake.rest.requests[-1].json  # the payload_json part as the fake parsed it
    assert sent["_payload_type"] == "application/json"  # Reference > Uploading Files
    assert sent["attachments"] == [{"id": "0", "filename": "qr.png"}]  # a snowflake string
