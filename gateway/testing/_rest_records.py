"""FakeRest's records and response helpers: what was sent, what is stored, JSON answers.

Records are frozen snapshots (`MessageRecord` is replaced on edit); `InteractionState` is the
fake's own mutable bookkeeping for one interaction's deadline and acknowledgements.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import trio
from starlette.responses import Response

from gateway.testing._identity import APPLICATION_ID, BOT_USER, epoch_seconds, iso_timestamp

@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received: method, path (under /api/v10), query, headers, json, at."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    at: float  # trio clock, s
    status: int = 0  # what the fake answered
    answer: Any = None  # the JSON body the fake answered (None for 204 or non-JSON)
    scripted: bool = False  # answered by a scripted fault (fail_next, rate_limit_next, ...)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as the fake stores it (latest version; edits replace the record).

    kind: "message" (channel post), "callback" (interaction type 4 reply), "original"
    (the @original edited after a deferral), "followup".
    """

    id: int
    channel_id: int
    content: str | None
    embeds: tuple[dict, ...] = ()
    nonce: str | None = None
    flags: int = 0
    pinned: bool = False
    kind: str = "message"
    interaction_id: int | None = None
    allowed_mentions: dict | None = None
    edits: int = 0
    deleted: bool = False
    #: uploaded files: [{"filename", "content_type", "data" (bytes)}]
    attachments: tuple[dict, ...] = ()
    at: float = 0.0  # trio clock when created, s
    components: tuple[dict, ...] = ()
    edited_at: float | None = None
    pinned_at: float = 0.0

    @property
    def is_ephemeral(self) -> bool:
        """True when flag 64 (EPHEMERAL) is set."""
        return bool(self.flags & 64)


@dataclass(slots=True)
class InteractionState:
    """The fake's view of one interaction: deadline, acks, replies (mutable, fake-internal)."""

    id: int
    token: str
    application_id: int
    channel_id: int
    created_at: float
    kind: int = 2  # interaction type: 2 command, 3 component, 4 autocomplete, 5 modal
    callback_types: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)  # Discord error codes answered
    message_ids: list[int] = field(default_factory=list)
    choices: list[dict] | None = None  # autocomplete result
    changed: trio.Event = field(default_factory=trio.Event)

    def touch(self) -> None:
        self.changed.set()
        self.changed = trio.Event()


@dataclass(slots=True)
class _Fault:
    method: str
    match: str
    status: int
    body: bytes
    headers: dict[str, str]
    times: int


def _error(status: int, code: int, message: str, headers: dict | None = None,
           errors: dict | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return Response(json.dumps(body), status, headers=headers, media_type="application/json")


def _ok(body: Any, headers: dict | None = None) -> Response:
    if body is None:
        return Response(status_code=204, headers=headers)
    return Response(json.dumps(body), 200, headers=headers, media_type="application/json")


def _error_rl(retry_after: float, scope: str, bucket: str = "", limit: int = 0) -> Response:
    # Rate Limits, "Exceeding A Rate Limit": Retry-After is whole seconds, rounded up.
    headers = {"retry-after": str(max(1, math.ceil(retry_after))), "x-ratelimit-scope": scope}
    if scope == "global":
        headers["x-ratelimit-global"] = "true"
    else:
        headers.update({"x-ratelimit-bucket": bucket, "x-ratelimit-limit": str(limit),
                        "x-ratelimit-remaining": "0",
                        "x-ratelimit-reset": f"{epoch_seconds(trio.current_time() + retry_after):.3f}",
                        "x-ratelimit-reset-after": f"{retry_after:.3f}"})
    return Response(json.dumps({"message": "You are being rate limited.",
                                "retry_after": round(retry_after, 3),
                                "global": scope == "global"}), 429, headers=headers,
                    media_type="application/json")


def _message_json(m: MessageRecord) -> dict:
    """The Message Object Discord returns (resources/message.mdx; OpenAPI MessageResponse):
    every required field, ids as strings, `nonce` only when one was sent."""
    out: dict[str, Any] = {
        "id": str(m.id), "channel_id": str(m.channel_id), "type": 0 if m.kind == "message" else 20,
        "author": BOT_USER, "content": m.content or "", "timestamp": iso_timestamp(m.at),
        "edited_timestamp": None if m.edited_at is None else iso_timestamp(m.edited_at),
        "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
        "embeds": list(m.embeds), "components": list(m.components), "flags": m.flags,
        "pinned": m.pinned,
        "attachments": [{"id": str(m.id + 1 + i), "filename": f["filename"],
                         "size": len(f["data"]), "content_type": f["content_type"],
                         "url": f"https://cdn.discordapp.com/attachments/{m.channel_id}/"
                                f"{m.id + 1 + i}/{f['filename']}",
                         "proxy_url": f"https://media.discordapp.net/attachments/"
                                      f"{m.channel_id}/{m.id + 1 + i}/{f['filename']}"}
                        for i, f in enumerate(m.attachments)]}
    if m.nonce is not None:
        out["nonce"] = m.nonce
    if m.interaction_id is not None:  # interaction replies come from the app's webhook
        out["webhook_id"] = str(APPLICATION_ID)
        out["application_id"] = str(APPLICATION_ID)
    return out
