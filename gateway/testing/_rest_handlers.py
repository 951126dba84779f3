"""FakeRest's route handlers: messages, pins, DMs, commands, interactions.

Each handler validates the body with the rules modules (`_rules_*`, which name their doc
sections) and answers like Discord: the stored object, or a `Rejected` error turned into
Discord's JSON error body by `FakeRest._respond`. Mixed into `FakeRest`, which owns the
records (`_messages`, `commands`, `interactions`) and the knobs (`pin_limit`,
`nonce_window_s`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import trio
from starlette.responses import Response

from gateway.testing._form import Rejected
from gateway.testing._identity import application_json, iso_timestamp, user_json
from gateway.testing._rest_records import (
    InteractionState,
    MessageRecord,
    RecordedRequest,
    _message_json,
    _ok,
)
from gateway.testing._rules_commands import check_commands
from gateway.testing._rules_interactions import (
    INITIAL_RESPONSE_S,
    TOKEN_VALID_S,
    check_callback,
)
from gateway.testing._rules_messages import check_message

UNKNOWN_MESSAGE: Final = Rejected(404, 10008, "Unknown Message")
UNKNOWN_CHANNEL: Final = Rejected(404, 10003, "Unknown Channel")


class _Handlers:
    """Route handlers (mixin of FakeRest; see there for the attributes they use)."""

    _messages: dict[int, MessageRecord]
    interactions: dict[int, InteractionState]
    commands: dict[tuple[int, int | None], list[dict]]
    pin_limit: int
    nonce_window_s: float
    gateway_url: str
    session_start_limit: dict

    def _next_id(self) -> int:
        raise NotImplementedError

    def _store(self, **fields: Any) -> MessageRecord:
        fields.setdefault("id", self._next_id())
        body = fields.pop("body", None) or {}
        record = MessageRecord(
            channel_id=int(fields.pop("channel_id")), content=body.get("content"),
            embeds=tuple(body.get("embeds") or ()), flags=int(body.get("flags") or 0),
            allowed_mentions=body.get("allowed_mentions"),
            components=tuple(body.get("components") or ()),
            attachments=tuple(body.get("_files") or ()), at=trio.current_time(),
            **fields)
        self._messages[record.id] = record
        return record

    def _gateway_bot(self, req: RecordedRequest) -> Response:
        return _ok({"url": self.gateway_url, "shards": 1,
                    "session_start_limit": dict(self.session_start_limit)})

    def _get_me(self, req: RecordedRequest) -> Response:
        """Upstream: GET /users/@me (User Object)."""
        return _ok(user_json())

    def _get_application(self, req: RecordedRequest) -> Response:
        """Upstream: GET /oauth2/applications/@me (Application Object)."""
        return _ok(application_json())

    def _create_message(self, req: RecordedRequest, channel_id: str) -> Response:
        body = req.json
        files = len((body or {}).get("_files") or ()) if isinstance(body, dict) else 0
        check_message(_without_files(body), files=files)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # Create Message: enforce_nonce "checks ... a message created with the same nonce
            # in the past few minutes"; the window is the `nonce_window_s` knob.
            now = trio.current_time()
            for m in self._messages.values():
                if (m.channel_id == int(channel_id) and m.nonce == nonce
                        and now - m.at <= self.nonce_window_s):
                    return _ok(_message_json(m))
        return _ok(_message_json(self._store(channel_id=channel_id, body=body, nonce=nonce)))

    def _get_messages(self, req: RecordedRequest, channel_id: str) -> Response:
        """Upstream: Get Channel Messages; limit 1-100 (default 50), newest first, no nonce."""
        try:
            limit = int(req.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise Rejected(400, 50035, "Invalid Form Body", {"limit": {"_errors": [
                {"code": "NUMBER_TYPE_MAX", "message": "Must be between 1 and 100."}]}})
        recent = [m for m in self._messages.values()
                  if m.channel_id == int(channel_id) and not m.deleted
                  and m.kind == "message"][-limit:]
        return _ok([{k: v for k, v in _message_json(m).items() if k != "nonce"}
                    for m in reversed(recent)])

    def _edit_message(self, req: RecordedRequest, channel_id: str, message_id: str) -> Response:
        old = self._messages.get(int(message_id))
        if old is None or old.deleted or old.channel_id != int(channel_id):
            raise UNKNOWN_MESSAGE
        return _ok(_message_json(self._edit(old, req.json)))

    def _edit(self, old: MessageRecord, body: Any) -> MessageRecord:
        """Edit Message: every field optional, null clears; same limits as create."""
        check_message(_without_files(body), edit=True,
                      files=len((body or {}).get("_files") or ()) if isinstance(body, dict) else 0)
        merged = {"content": old.content, "embeds": list(old.embeds)}
        merged.update({k: body[k] for k in ("content", "embeds") if k in body})
        if not (merged["content"] or merged["embeds"] or old.attachments or old.components
                or body.get("components")):
            raise Rejected(400, 50006, "Cannot send an empty message")
        new = dataclasses.replace(
            old, content=body.get("content", old.content),
            embeds=tuple(body["embeds"] or ()) if "embeds" in body else old.embeds,
            components=tuple(body["components"] or ()) if "components" in body else old.components,
            flags=int(body.get("flags", old.flags) or 0), edits=old.edits + 1,
            allowed_mentions=body.get("allowed_mentions", old.allowed_mentions),
            edited_at=trio.current_time())
        self._messages[old.id] = new
        return new

    def _delete_message(self, req: RecordedRequest, channel_id: str, message_id: str) -> Response:
        old = self._messages.get(int(message_id))
        if old is None or old.deleted:
            raise UNKNOWN_MESSAGE
        self._messages[old.id] = dataclasses.replace(old, deleted=True)
        return _ok(None)

    def _pinned(self, channel_id: int) -> list[MessageRecord]:
        return [m for m in self._messages.values()
                if m.channel_id == channel_id and m.pinned and not m.deleted]

    def _get_pins_deprecated(self, req: RecordedRequest, channel_id: str) -> Response:
        """Upstream: GET /channels/{id}/pins (deprecated_list_pins): a bare list."""
        return _ok([_message_json(m) for m in self._pinned(int(channel_id))])

    def _list_pins(self, req: RecordedRequest, channel_id: str) -> Response:
        """Upstream: GET /channels/{id}/messages/pins (list_pins): {items, has_more}."""
        limit = int(req.query.get("limit", 50))
        if not 1 <= limit <= 50:  # Get Channel Pins: limit 1-50
            raise Rejected(400, 50035, "Invalid Form Body", {"limit": {"_errors": [
                {"code": "NUMBER_TYPE_MAX", "message": "Must be between 1 and 50."}]}})
        pins = sorted(self._pinned(int(channel_id)), key=lambda m: -m.pinned_at)
        return _ok({"items": [{"pinned_at": iso_timestamp(m.pinned_at), "message": _message_json(m)}
                              for m in pins[:limit]], "has_more": len(pins) > limit})

    def _pin(self, req: RecordedRequest, channel_id: str, message_id: str) -> Response:
        """Pin Message: 204; 30003 past the per-channel pin limit (`pin_limit` knob)."""
        old = self._messages.get(int(message_id))
        if old is None or old.deleted or old.channel_id != int(channel_id):
            raise UNKNOWN_MESSAGE
        if not old.pinned and len(self._pinned(old.channel_id)) >= self.pin_limit:
            raise Rejected(400, 30003, f"Maximum number of pins reached ({self.pin_limit})")
        self._messages[old.id] = dataclasses.replace(old, pinned=True,
                                                     pinned_at=trio.current_time())
        return _ok(None)

    def _unpin(self, req: RecordedRequest, channel_id: str, message_id: str) -> Response:
        old = self._messages.get(int(message_id))
        if old is None or old.deleted or old.channel_id != int(channel_id):
            raise UNKNOWN_MESSAGE
        self._messages[old.id] = dataclasses.replace(old, pinned=False)
        return _ok(None)

    def _create_dm(self, req: RecordedRequest) -> Response:
        recipient = int((req.json or {}).get("recipient_id", 0))
        return _ok({"id": str(recipient + 1), "type": 1, "last_message_id": None, "flags": 0,
                    "recipients": [user_json(recipient, bot=False)]})

    def _put_commands(self, req: RecordedRequest, application_id: str,
                      guild_id: str | None = None) -> Response:
        check_commands(req.json)
        stored = []
        for c in req.json:
            # Application Command Object: what Discord stores and returns for each command.
            command = {"type": 1, "description": "", "options": [], "nsfw": False,
                       "default_member_permissions": None, **c,
                       "id": str(self._next_id()), "application_id": application_id,
                       "version": str(self._next_id())}
            if command["default_member_permissions"] is not None:
                command["default_member_permissions"] = str(command["default_member_permissions"])
            if guild_id is not None:
                command["guild_id"] = guild_id
            stored.append(command)
        self.commands[(int(application_id), None if guild_id is None else int(guild_id))] = stored
        return _ok(stored)

    def _interaction(self, token: str) -> InteractionState | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _callback(self, req: RecordedRequest, interaction_id: str, token: str) -> Response:
        state = self.interactions.get(int(interaction_id))
        body = req.json or {}
        if state is None or state.token != token or (
                trio.current_time() - state.created_at > INITIAL_RESPONSE_S):
            if state is not None:
                state.rejected.append(10062)
                state.touch()
            raise Rejected(404, 10062, "Unknown interaction")
        if state.callback_types:  # one initial response only
            state.rejected.append(40060)
            state.touch()
            raise Rejected(400, 40060, "Interaction has already been acknowledged.")
        try:
            check_callback(body, state.kind)
        except Rejected as exc:
            state.rejected.append(exc.code)
            state.touch()
            raise
        kind = int(body["type"])
        state.callback_types.append(kind)
        if kind == 4:
            msg = self._store(channel_id=state.channel_id, body=body.get("data") or {},
                              kind="callback", interaction_id=state.id)
            state.message_ids.append(msg.id)
        elif kind == 5:
            data = body.get("data") or {}
            msg = self._store(channel_id=state.channel_id, body={"flags": data.get("flags", 0)},
                              kind="original", interaction_id=state.id)
            state.message_ids.append(msg.id)
        elif kind == 8:
            state.choices = list((body.get("data") or {}).get("choices") or [])
        state.touch()
        return _ok(None)

    def _live_token(self, token: str) -> InteractionState:
        """The interaction behind a webhook token, refusing one older than 15 minutes."""
        state = self._interaction(token)
        if state is None:
            raise Rejected(404, 10015, "Unknown Webhook")
        if trio.current_time() - state.created_at > TOKEN_VALID_S:
            raise Rejected(401, 50027, "Invalid Webhook Token")
        return state

    def _followup(self, req: RecordedRequest, application_id: str, token: str) -> Response:
        state = self._live_token(token)
        if not state.callback_types:
            raise Rejected(404, 10015, "Unknown Webhook")
        body = req.json
        check_message(_without_files(body),
                      files=len((body or {}).get("_files") or ()) if isinstance(body, dict) else 0)
        msg = self._store(channel_id=state.channel_id, body=body, kind="followup",
                          interaction_id=state.id)
        state.message_ids.append(msg.id)
        state.touch()
        return _ok(_message_json(msg))

    def _edit_original(self, req: RecordedRequest, application_id: str, token: str) -> Response:
        state = self._live_token(token)
        if not state.message_ids:
            raise UNKNOWN_MESSAGE
        msg = self._edit(self._messages[state.message_ids[0]], req.json)
        state.touch()
        return _ok(_message_json(msg))


def _without_files(body: Any) -> Any:
    if isinstance(body, dict) and "_files" in body:
        return {k: v for k, v in body.items() if k not in ("_files", "_payload_type")}
    return body
