"""FakeDiscord: Discord's gateway and REST on 127.0.0.1, for tests and the demo.

Like `trio.testing`, this ships inside the package: `familybot-trio demo` runs the real bot
against it. `FakeDiscord` composes `FakeGateway` (trio-websocket, zlib-stream) and
`FakeRest` (hypercorn + ASGI); both run on the caller's trio clock, so the 3 s interaction
deadline and rate-limit windows follow the autojump / mock clock in tests.

    async with trio.open_nursery() as nursery:
        fake = await nursery.start(FakeDiscord().serve)
        # point Rest at fake.rest_url, the Shard's get_gateway_bot at Rest.get_gateway_bot
        handle = await fake.send_interaction("ping", user_id=USER_ID, channel_id=CHANNEL_ID)
        reply = await handle.wait_response()
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import httpx
import trio

from gateway import _threads
from gateway import rest as _rest
from gateway.testing._gateway_server import FakeGateway
from gateway.testing import _identity
from gateway.testing._identity import APPLICATION_ID, BOT_USER
from gateway.testing._oauth import FakeOAuth
from gateway.testing._rest_server import (
    FakeRest,
    InteractionState,
    MessageRecord,
    RecordedRequest,
)

__all__ = ["APPLICATION_ID", "BOT_USER", "CHANNEL_ID", "GUILD_ID", "USER_ID", "FakeDiscord",
           "FakeGateway", "FakeOAuth", "FakeRest", "InteractionHandle", "InteractionState", "MessageRecord",
           "RecordedRequest", "open_rest"]

#: Defaults for scripted events (snowflakes as ints; JSON carries them as strings).
GUILD_ID: Final = 1234
CHANNEL_ID: Final = 1_200_000_000_000_000_001
USER_ID: Final = 1_200_000_000_000_000_100
_PY_TYPES: Final = ((bool, 5), (int, 4), (str, 3))
#: app_permissions the fake grants the bot: View Channel, Send Messages, Embed Links,
#: Attach Files, Read Message History, Pin Messages (1 << 51).
_APP_PERMISSIONS: Final = str(1 << 10 | 1 << 11 | 1 << 14 | 1 << 15 | 1 << 16 | 1 << 51)


def _member(user: dict[str, Any]) -> dict[str, Any]:
    """A Guild Member Object (resources/guild.mdx) for a plain member."""
    return {"user": user, "roles": [], "nick": None, "avatar": None, "banner": None,
            "joined_at": _identity.iso_timestamp(0.0), "premium_since": None, "deaf": False,
            "mute": False, "flags": 0, "pending": False, "permissions": _APP_PERMISSIONS,
            "communication_disabled_until": None}


@dataclass(frozen=True, slots=True)
class InteractionHandle:
    """A dispatched interaction; read back what the bot answered.

    Attributes: id, token; state: the fake's live InteractionState (callback_types,
        rejected error codes, message_ids, choices).
    """

    id: int
    token: str
    state: InteractionState
    rest: FakeRest

    @property
    def callback_types(self) -> list[int]:
        """Callback types the fake accepted, in order (a second one never gets in: 40060)."""
        return list(self.state.callback_types)

    @property
    def rejected(self) -> list[int]:
        """Discord error codes the fake answered (10062 late, 40060 double ack)."""
        return list(self.state.rejected)

    def replies(self) -> list[MessageRecord]:
        """Every message of this interaction (first response, then follow-ups)."""
        by_id = {m.id: m for m in self.rest.messages(include_deleted=True)}
        return [by_id[i] for i in self.state.message_ids]

    async def wait_response(self) -> MessageRecord:
        """The first visible answer: a type 4 reply, or @original once a deferral was edited.

        Raises: AssertionError if the fake rejected a callback (10062 / 40060) first.
        """
        while True:
            if self.state.rejected:
                raise AssertionError(f"Discord would have rejected the bot's callback: "
                                     f"codes {self.state.rejected}")
            replies = self.replies()
            if replies and (replies[0].kind == "callback" or replies[0].edits > 0):
                return replies[0]
            await self.state.changed.wait()

    async def wait_replies(self, count: int) -> list[MessageRecord]:
        """Wait until the interaction has `count` messages (response + follow-ups)."""
        while len(self.state.message_ids) < count:
            await self.state.changed.wait()
        return self.replies()

    async def wait_choices(self) -> list[dict]:
        """Autocomplete: the choices the bot answered with (callback type 8)."""
        while self.state.choices is None:
            await self.state.changed.wait()
        return list(self.state.choices)


class FakeDiscord:
    """FakeRest + FakeGateway on 127.0.0.1; also the Discord side of the demo.

    Args: token: the bot token both sides accept; heartbeat_interval_ms; guild_ids: guilds
        in READY; allowed_intents: privileged intents the "portal" enabled (default:
        MESSAGE_CONTENT, so prefix commands work); run_sync: how FakeGateway runs blocking
        work off the loop (see gateway._threads; default: the gateway's own small limiter).
    Attributes: rest (FakeRest), gateway (FakeGateway), rest_url once serving.
    """

    def __init__(self, *, token: str = "fake-token", heartbeat_interval_ms: int = 41250,
                 guild_ids: tuple[int, ...] = (GUILD_ID,), allowed_intents: int = 1 << 15,
                 run_sync: _threads.RunSync = _threads.default_run_sync) -> None:
        self.token = token
        self.rest = FakeRest(token=token)
        self.gateway = FakeGateway(heartbeat_interval_ms=heartbeat_interval_ms, token=token,
                                   allowed_intents=allowed_intents, guild_ids=guild_ids,
                                   run_sync=run_sync)
        self.application_id = APPLICATION_ID
        self.oauth = self.rest.oauth = FakeOAuth(APPLICATION_ID)  # OAuth2 on the REST port
        self._ids = itertools.count(1_250_000_000_000_000_000)

    @property
    def rest_url(self) -> str:
        """REST base URL ("http://127.0.0.1:PORT/api/v10"); empty until serving."""
        return self.rest.url

    async def serve(self, *, task_status: trio.TaskStatus[FakeDiscord] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        """Serve the gateway and REST until cancelled; `started(self)` once both listen."""
        async with trio.open_nursery() as nursery:
            self.rest.gateway_url = await nursery.start(self.gateway.serve)
            await nursery.start(self.rest.serve)
            task_status.started(self)

    # ---- delegated knobs and records -----------------------------------------------------

    def messages(self, channel_id: int | None = None) -> list[MessageRecord]:
        """Messages the bot created (posts and interaction replies), latest versions."""
        return self.rest.messages(channel_id)

    async def wait_for_message(self, channel_id: int | None = None,
                               predicate: Callable[[MessageRecord], bool] | None = None
                               ) -> MessageRecord:
        """Wait for a stored message in `channel_id` (any if None) matching `predicate`."""
        return await self.rest.wait_for_message(channel_id, predicate)

    def fail_next(self, method: str, match: str, status: int, **kw: Any) -> None:
        """Script the next matching REST answer (see FakeRest.fail_next)."""
        self.rest.fail_next(method, match, status, **kw)

    # ---- driving the bot ---------------------------------------------------------------

    async def send_interaction(self, name: str, options: dict[str, object] | None = None, *,
                               user_id: int = USER_ID, channel_id: int = CHANNEL_ID,
                               guild_id: int | None = GUILD_ID, focused: str | None = None,
                               ) -> InteractionHandle:
        """Dispatch INTERACTION_CREATE for /name; its 3 s deadline starts now.

        Args: options: option name -> value (types taken from the registered command when
            known, else from the Python type); focused: name of the option being typed,
            which makes it an autocomplete interaction (type 4); guild_id None = a DM.
        Returns: an InteractionHandle. Call after the bot's shard is READY.
        """
        await self.gateway.wait_for_op(2)  # a session exists once IDENTIFY was answered
        interaction_id, token = next(self._ids), "itok-" + secrets.token_urlsafe(24)
        itype = 4 if focused else 2  # APPLICATION_COMMAND_AUTOCOMPLETE or APPLICATION_COMMAND
        state = self.rest.add_interaction(interaction_id, token, application_id=APPLICATION_ID,
                                          channel_id=channel_id, kind=itype)
        declared = self._declared_types(name)
        opts = []
        for key, value in (options or {}).items():
            kind = declared.get(key) or next(t for py, t in _PY_TYPES if isinstance(value, py))
            opt: dict[str, Any] = {"name": key, "type": kind,
                                   "value": str(value) if kind == 6 else value}
            if key == focused:
                opt["focused"] = True
            opts.append(opt)
        author = _identity.user_json(user_id, bot=False)
        # Interaction Object (interactions/receiving-and-responding.mdx): every field Discord
        # sends for a guild-installed app; `context` 0 = guild, 1 = the bot's DM.
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(APPLICATION_ID),
            "type": itype, "token": token, "version": 1, "locale": "en-US",
            "data": {"id": str(next(self._ids)), "name": name, "type": 1, "options": opts},
            "channel_id": str(channel_id),
            "channel": {"id": str(channel_id), "type": 1 if guild_id is None else 0},
            "app_permissions": _APP_PERMISSIONS, "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id or 0)},
            "context": 1 if guild_id is None else 0, "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
            payload["guild"] = {"id": str(guild_id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = _member(author)
        else:
            payload["user"] = author
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return InteractionHandle(interaction_id, token, state, self.rest)

    async def send_message(self, channel_id: int, content: str, *, author_id: int = USER_ID,
                           guild_id: int | None = GUILD_ID, bot: bool = False) -> int:
        """Dispatch MESSAGE_CREATE as if a user typed `content`; returns the message id."""
        await self.gateway.wait_for_op(2)
        message_id = next(self._ids)
        author = _identity.user_json(author_id, bot=bot)
        # Message Create event: a Message Object (resources/message.mdx) plus guild_id and
        # member in guilds (topics/gateway-events.mdx "Message Create").
        payload: dict[str, Any] = {
            "id": str(message_id), "channel_id": str(channel_id), "content": content,
            "author": author, "type": 0, "mentions": [], "mention_roles": [],
            "mention_everyone": False, "attachments": [], "embeds": [], "components": [],
            "timestamp": _identity.iso_timestamp(trio.current_time()), "edited_timestamp": None,
            "tts": False, "pinned": False, "flags": 0,
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
            payload["member"] = {k: v for k, v in _member(author).items() if k != "user"}
        await self.gateway.dispatch("MESSAGE_CREATE", payload)
        return message_id

    def _declared_types(self, name: str) -> dict[str, int]:
        for stored in self.rest.commands.values():
            for command in stored:
                if command.get("name") == name:
                    return {o["name"]: o["type"] for o in command.get("options") or ()}
        return {}


@asynccontextmanager
async def open_rest(fake: FakeDiscord | FakeRest, **kw: Any) -> AsyncIterator[_rest.Rest]:
    """A `Rest` bound to a serving fake, with its own httpx client (closed on exit).

    Args: kw: extra Rest arguments (max_wait_s, limiter).
    """
    rest_fake = fake.rest if isinstance(fake, FakeDiscord) else fake
    # Long timeouts: under a mock clock a short one could fire during a virtual-time jump.
    # verify=False: plain http on loopback, and it skips loading the CA bundle, a file read
    # of ~50 ms that would hold the loop (a real bot builds its client with open_client).
    async with httpx.AsyncClient(timeout=httpx.Timeout(3600.0), verify=False) as client:
        yield _rest.Rest(token=rest_fake.token, client=client, base_url=rest_fake.url, **kw)
