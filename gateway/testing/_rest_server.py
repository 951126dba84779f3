"""FakeRest: Discord's REST API on 127.0.0.1, scriptable, recording everything it is sent.

Served by hypercorn's trio worker (an ASGI app, port 0) inside the caller's nursery, so the
fake runs on the test's trio clock: the 3 s interaction deadline and the rate-limit windows
follow the autojump / mock clock.

What it does like Discord: `Authorization: Bot <token>` checked (401); per-route buckets with
`X-RateLimit-*` headers (hash + major parameter, `bucket_limit` per `bucket_reset_after_s`)
and a route-scope 429 when a client overruns them; the global limit (`global_limit` per
second, interaction routes exempt); `nonce` + `enforce_nonce` dedup; the interaction
deadline (404 / 10062 after 3 s) and double acknowledgement (400 / 40060).
Scripted faults (`fail_next`, `rate_limit_next`, `cloudflare_next`) answer the next
matching request(s) instead of the normal handler. Observers (`before_answer`,
`after_answer`) see each request once the fake has acted on it, before and after its answer
goes out; they change nothing the fake answers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import email.parser
import email.policy
import itertools
import json
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from starlette.requests import Request
from starlette.responses import Response

from gateway.testing._form import Rejected
from gateway.testing._identity import epoch_seconds
from gateway.testing._rest_handlers import _Handlers
from gateway.testing._rules_interactions import INITIAL_RESPONSE_S
from gateway.testing._rest_records import (
    InteractionState,
    MessageRecord,
    RecordedRequest,
    _error,
    _error_rl,
    _Fault,
    _message_json,
    _ok,
)

API_PREFIX: Final = "/api/v10"
INTERACTION_DEADLINE_S: Final = INITIAL_RESPONSE_S
#: Pin Message: "The max pinned messages is 250" per channel (raised from 50 in 2025).
PIN_LIMIT: Final = 250
#: Create Message, enforce_nonce: de-duplicated "in the past few minutes"; a knob.
NONCE_WINDOW_S: Final = 300.0
_FIRST_ID: Final = 1_300_000_000_000_000_000


# (method, regex, handler name, exempt from buckets/global)
_ROUTES: Final = [
    ("GET", r"/gateway/bot", "_gateway_bot", False),
    ("GET", r"/channels/(?P<channel_id>\d+)/messages", "_get_messages", False),
    ("GET", r"/users/@me", "_get_me", False),
    ("GET", r"/oauth2/applications/@me", "_get_application", False),
    ("POST", r"/channels/(?P<channel_id>\d+)/messages", "_create_message", False),
    ("GET", r"/channels/(?P<channel_id>\d+)/messages/pins", "_list_pins", False),
    ("PUT", r"/channels/(?P<channel_id>\d+)/messages/pins/(?P<message_id>\d+)", "_pin", False),
    ("DELETE", r"/channels/(?P<channel_id>\d+)/messages/pins/(?P<message_id>\d+)", "_unpin",
     False),
    ("PATCH", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", "_edit_message", False),
    ("DELETE", r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)", "_delete_message", False),
    # Deprecated in the OpenAPI description (operationId deprecated_*), still served by Discord:
    # counted in `deprecated_calls` so a test can insist the bot uses the current routes.
    ("GET", r"/channels/(?P<channel_id>\d+)/pins", "_get_pins_deprecated", False),
    ("PUT", r"/channels/(?P<channel_id>\d+)/pins/(?P<message_id>\d+)", "_pin", False),
    ("DELETE", r"/channels/(?P<channel_id>\d+)/pins/(?P<message_id>\d+)", "_unpin", False),
    ("POST", r"/users/@me/channels", "_create_dm", False),
    ("PUT", r"/applications/(?P<application_id>\d+)/commands", "_put_commands", False),
    ("PUT", r"/applications/(?P<application_id>\d+)/guilds/(?P<guild_id>\d+)/commands",
     "_put_commands", False),
    ("POST", r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback", "_callback", True),
    ("POST", r"/webhooks/(?P<application_id>\d+)/(?P<token>[^/]+)", "_followup", True),
    ("PATCH", r"/webhooks/(?P<application_id>\d+)/(?P<token>[^/]+)/messages/@original",
     "_edit_original", True),
]


class FakeRest(_Handlers):
    """Discord's REST side for tests and the demo.

    Args: token: the bot token the fake accepts; gateway_url: what /gateway/bot returns.
    Knobs (set any time): bucket_limit, bucket_reset_after_s, global_limit,
        session_start_limit (dict), gateway_url.
    Records: requests (list of RecordedRequest), commands (application_id/guild -> list),
        interactions (id -> InteractionState), rate_limit_violations (429s the client caused).
    """

    def __init__(self, *, token: str = "fake-token", gateway_url: str = "ws://127.0.0.1:1") -> None:
        self.token = token
        self.gateway_url = gateway_url
        self.bucket_limit = 5
        self.bucket_reset_after_s = 1.0
        self.global_limit = 50
        self.session_start_limit = {"total": 1000, "remaining": 1000,
                                    "reset_after": 14_400_000, "max_concurrency": 1}
        self.pin_limit = PIN_LIMIT
        self.nonce_window_s = NONCE_WINDOW_S
        self.deprecated_calls: list[str] = []  # "METHOD path" of deprecated routes used
        self.requests: list[RecordedRequest] = []
        self.commands: dict[tuple[int, int | None], list[dict]] = {}
        self.interactions: dict[int, InteractionState] = {}
        self.rate_limit_violations = 0
        self.url = ""  # "http://127.0.0.1:PORT/api/v10" once serving
        self._messages: dict[int, MessageRecord] = {}
        self._ids = itertools.count(_FIRST_ID)
        self._faults: list[_Fault] = []
        self._slow: list[_Fault] = []  # status field holds the delay, s
        self._windows: dict[str, tuple[float, int]] = {}  # bucket key -> (window start, used)
        self._global: list[float] = []
        self._changed = trio.Event()
        self.oauth: Any = None  # a FakeOAuth answering the OAuth2 paths (see _oauth.py)
        #: Async observers `hook(record)`, awaited in order with the RecordedRequest (status
        #: and answer filled in) once the fake acted on a request: `before_answer` before
        #: the answer is sent (a hook that waits holds the answer back), `after_answer` once
        #: it was sent. For tests that act at that moment (a client stopped mid-request).
        self.before_answer: list[Callable[[RecordedRequest], Awaitable[None]]] = []
        self.after_answer: list[Callable[[RecordedRequest], Awaitable[None]]] = []

    # ---- serving ------------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve on 127.0.0.1:0 until cancelled; `started` gets the API base URL.

        Cancellation: the normal way to stop it.
        """
        config = Config()
        config.bind = ["127.0.0.1:0"]
        config.keep_alive_timeout = 3600  # far beyond any test's virtual time jumps
        config.graceful_timeout = 0.5
        config.accesslog = None
        config.errorlog = None

        async def started(status: Any = trio.TASK_STATUS_IGNORED) -> None:
            urls = await nursery.start(_serve_app, self._asgi, config)
            self.url = urls[0].rstrip("/") + API_PREFIX
            status.started(self.url)

        async with trio.open_nursery() as nursery:
            await started(task_status)

    async def _asgi(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        request = Request(scope, receive)
        response = await self._handle(request)
        record = getattr(response, "record", None)
        if record is not None:
            for hook in list(self.before_answer):
                await hook(record)
        await response(scope, receive, send)
        if record is not None:
            for hook in list(self.after_answer):
                await hook(record)

    async def _handle(self, request: Request) -> Response:
        path = request.url.path.removeprefix(API_PREFIX)
        raw = await request.body()
        if self.oauth is not None:  # gateway/testing/_oauth.py, mounted by FakeDiscord
            answer = self.oauth.respond(request.method, path, request.headers, raw,
                                        dict(request.query_params))
            if answer is not None:
                return answer
        ctype = request.headers.get("content-type", "")
        try:
            if ctype.startswith("multipart/form-data"):
                body = _parse_multipart(ctype, raw)
            else:
                body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(request.method, path, dict(request.query_params),
                                 {k.lower(): v for k, v in request.headers.items()}, body,
                                 trio.current_time())
        response = self._respond(record)
        try:
            answer = json.loads(response.body) if response.body else None
        except ValueError:
            answer = None
        record = dataclasses.replace(record, status=response.status_code, answer=answer,
                                     scripted=getattr(response, "scripted", False))
        self.requests.append(record)
        response.record = record  # type: ignore[attr-defined]  # for the answer observers
        self._changed.set()
        self._changed = trio.Event()
        for slow in list(self._slow):
            if slow.method == request.method and slow.match in path:
                slow.times -= 1
                if slow.times <= 0:
                    self._slow.remove(slow)
                await trio.sleep(slow.status)  # acted on already; only the answer is late
                break
        return response

    def _respond(self, req: RecordedRequest) -> Response:
        for fault in self._faults:
            if fault.method == req.method and fault.match in req.path:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                scripted = Response(fault.body, fault.status, headers=fault.headers)
                scripted.scripted = True  # type: ignore[attr-defined]
                return scripted
        for method, pattern, handler, exempt in _ROUTES:
            found = re.fullmatch(pattern, req.path)
            if method != req.method or not found:
                continue
            params = found.groupdict()
            if not exempt and req.headers.get("authorization") != f"Bot {self.token}":
                return _error(401, 0, "401: Unauthorized")
            headers: dict[str, str] = {}
            # Rate Limits: every route has a bucket; interaction and webhook routes are
            # exempt from the global limit only.
            limited = self._rate_limit(method, pattern, params, headers, use_global=not exempt)
            if limited is not None:
                return limited
            if "/pins" in req.path and "/messages/pins" not in req.path:
                self.deprecated_calls.append(f"{req.method} {req.path}")
            try:
                response = getattr(self, handler)(req, **params)
            except Rejected as exc:
                response = _error(exc.status, exc.code, exc.message, errors=exc.errors)
            response.headers.update(headers)
            return response
        return _error(404, 0, "404: Not Found")

    def _rate_limit(self, method: str, pattern: str, params: dict, headers: dict, *,
                    use_global: bool = True) -> Response | None:
        now = trio.current_time()
        if use_global:
            self._global = [t for t in self._global if t > now - 1.0]
            if len(self._global) >= self.global_limit:
                self.rate_limit_violations += 1
                retry = self._global[0] + 1.0 - now
                return _error_rl(retry, "global")
            self._global.append(now)
        bucket_hash = hashlib.sha256(f"{method} {pattern}".encode()).hexdigest()[:12]
        # Major parameters (Rate Limits): channel, guild, or webhook id + token (an
        # interaction callback counts per interaction).
        major = (params.get("channel_id") or params.get("guild_id")
                 or "+".join(str(params[k]) for k in ("interaction_id", "application_id", "token")
                             if k in params))
        key = f"{bucket_hash}:{major}"
        start, used = self._windows.get(key, (now, 0))
        if now >= start + self.bucket_reset_after_s:
            start, used = now, 0
        reset_after = start + self.bucket_reset_after_s - now
        if used >= self.bucket_limit:
            self.rate_limit_violations += 1
            return _error_rl(reset_after, "user", bucket_hash, self.bucket_limit)
        self._windows[key] = (start, used + 1)
        headers.update({"x-ratelimit-bucket": bucket_hash,
                        "x-ratelimit-limit": str(self.bucket_limit),
                        "x-ratelimit-remaining": str(self.bucket_limit - used - 1),
                        "x-ratelimit-reset": f"{epoch_seconds(start + self.bucket_reset_after_s):.3f}",
                        "x-ratelimit-reset-after": f"{reset_after:.3f}"})
        return None

    # ---- scripting ----------------------------------------------------------------------

    def fail_next(self, method: str, match: str, status: int, *, body: Any = None,
                  headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next `times` requests whose path contains `match` with this response.

        Args: body: dict/list (sent as JSON), str/bytes (sent as is) or None (Discord-style
            {"code": 0, "message": ...}).
        """
        hdrs = dict(headers or {})
        if body is None:
            body = {"code": 0, "message": f"{status}: scripted failure"}
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("content-type", "application/json")
        else:
            data = body.encode() if isinstance(body, str) else body
        self._faults.append(_Fault(method, match, status, data, hdrs, times))

    def clear_faults(self, match: str | None = None) -> None:
        """Forget scripted faults (all, or those whose match is `match`): the outage ends."""
        self._faults = [f for f in self._faults if match is not None and f.match != match]

    def slow_next(self, method: str, match: str, delay_s: float, *, times: int = 1) -> None:
        """Handle the next matching request(s) at once but send the answer `delay_s` later
        (trio clock): a slow link or a Discord hiccup after the request took effect."""
        self._slow.append(_Fault(method, match, delay_s, b"", {}, times))  # type: ignore[arg-type]

    def rate_limit_next(self, method: str, match: str, *, scope: str = "user",
                        retry_after: float = 0.5, times: int = 1) -> None:
        """Answer like Discord's 429 for `scope` "user" (route), "shared" or "global"."""
        body = {"message": "You are being rate limited.", "retry_after": retry_after,
                "global": scope == "global"}
        headers = {"retry-after": str(max(1, math.ceil(retry_after))), "x-ratelimit-scope": scope,
                   "via": "1.1 google"}
        if scope == "global":
            headers["x-ratelimit-global"] = "true"
        else:
            headers.update({"x-ratelimit-limit": "5", "x-ratelimit-remaining": "0",
                            "x-ratelimit-reset": f"{epoch_seconds(trio.current_time() + retry_after):.3f}",
                            "x-ratelimit-reset-after": f"{retry_after:.3f}"})
        self.fail_next(method, match, 429, body=body, headers=headers, times=times)

    def cloudflare_next(self, method: str, match: str, *, times: int = 1) -> None:
        """Answer with Cloudflare's HTML 429 (error 1015), no rate-limit headers."""
        html = "<!DOCTYPE html><html><head><title>Error 1015</title></head><body>You are being " \
               "rate limited (Cloudflare)</body></html>"
        self.fail_next(method, match, 429, body=html,
                       headers={"content-type": "text/html; charset=UTF-8"}, times=times)

    # ---- reading back -------------------------------------------------------------------

    def messages(self, channel_id: int | None = None, *, include_deleted: bool = False
                 ) -> list[MessageRecord]:
        """Messages posted (channel posts, interaction replies), oldest first."""
        return [m for m in self._messages.values()
                if (channel_id is None or m.channel_id == channel_id)
                and (include_deleted or not m.deleted)]

    async def wait_for_message(self, channel_id: int | None = None,
                               predicate: Callable[[MessageRecord], bool] | None = None,
                               ) -> MessageRecord:
        """Wait for a stored message matching channel and predicate; returns the newest."""
        while True:
            for m in reversed(self.messages(channel_id)):
                if predicate is None or predicate(m):
                    return m
            await self._changed.wait()

    async def wait_for_request(self, method: str, match: str, count: int = 1) -> RecordedRequest:
        """Wait until `count` requests matched method + path substring; returns the last."""
        while True:
            hits = [q for q in self.requests if q.method == method and match in q.path]
            if len(hits) >= count:
                return hits[count - 1]
            await self._changed.wait()

    def add_interaction(self, interaction_id: int, token: str, *, application_id: int,
                        channel_id: int, kind: int = 2) -> InteractionState:
        """Start an interaction's 3 s and 15 min clocks now (FakeDiscord calls this before
        dispatching). kind: the interaction type (2 command, 3 component, 4 autocomplete)."""
        state = InteractionState(interaction_id, token, application_id, channel_id,
                                 trio.current_time(), kind)
        self.interactions[interaction_id] = state
        return state

    # ---- handlers -----------------------------------------------------------------------

    def _next_id(self) -> int:
        return next(self._ids)


async def _serve_app(app: Any, config: Config, *,
                     task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    await serve(app, config, task_status=task_status)


def _parse_multipart(content_type: str, raw: bytes) -> dict:
    """A multipart/form-data upload -> its `payload_json` dict, with the uploaded files under
    the key "_files" as [{"filename", "content_type", "data"}] and the payload_json part's
    Content-Type under "_payload_type" (None when absent) (Upstream: Uploading Files).

    Raises: ValueError when there is no payload_json part or it is not JSON.
    """
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    payload: dict | None = None
    payload_type: str | None = None
    files = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            payload = json.loads(data)
            payload_type = part.get_content_type() if part.get("content-type") else None
        elif name and name.startswith("files["):
            files.append({"filename": part.get_filename(), "data": data,
                          "content_type": part.get_content_type()})
    if not isinstance(payload, dict):
        raise ValueError("multipart upload without a payload_json part")
    payload["_files"] = files
    payload["_payload_type"] = payload_type
    return payload
