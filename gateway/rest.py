"""Discord REST over one httpx.AsyncClient: rate limits, retries, typed errors.

`Rest` receives its `httpx.AsyncClient` (nothing connects in the constructor) and adds the
bot's `Authorization` and `User-Agent` per request. Every call goes through
`gateway._buckets.RateLimiter`; 429s are waited out per scope (route, shared, global) up to
`max_wait_s`, then raised as `RateLimited`; a Cloudflare 429 (HTML or no `retry_after`)
stops all calls for `CLOUDFLARE_BACKOFF_S` and raises `CloudflareBanned`; 5xx and transport
failures are retried with exponential backoff, then raised as `ServerError`.

Logger: `gateway.rest`. Paths with interaction tokens are never logged; templates are.
Upstream: discord-api-docs developers/reference.mdx, topics/rate-limits.mdx,
interactions/receiving-and-responding.mdx.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import h11  # noqa: F401  (see below)
import httpcore  # noqa: F401
import httpcore._backends.trio  # noqa: F401
import httpx
import trio

from gateway import _protocol as P
from gateway import _routes as r
from gateway._buckets import RateLimiter
from gateway._responses import error_of, scope_of
from gateway._retry import IDEMPOTENT, INTERACTION_CALLBACK, NOT_IDEMPOTENT, RetryPolicy
from gateway._routes import Route
from gateway._threads import RunSync, default_run_sync
from gateway.errors import (
    CloudflareBanned,
    Forbidden,
    HTTPError,
    NotFound,
    RateLimited,
    ServerError,
)
from gateway.tls import tls_context
from gateway.messages import EMBEDS_PER_MESSAGE_MAX, check_content

# httpx imports httpcore, h11 and the trio backend lazily, inside the first client's
# constructor and first request: ~100 ms that would hold the event loop. The imports above
# pay that once at import time instead.

log = logging.getLogger("gateway.rest")

DEFAULT_BASE_URL: Final = "https://discord.com/api/v10"
USER_AGENT: Final = P.USER_AGENT
#: 5xx / connection failures: attempts for idempotent calls (per-route policies are in
#: gateway._retry), first backoff (doubles each time).
MAX_ATTEMPTS: Final = IDEMPOTENT.attempts
BACKOFF_BASE_S: Final = 0.5
#: A 429 asking us to wait longer than this is raised instead of waited out.
MAX_WAIT_S: Final = 60.0
#: After a Cloudflare 429, no request at all for this long (their bans last minutes to an hour).
CLOUDFLARE_BACKOFF_S: Final = 600.0
#: Longest `nonce` Discord accepts on create message.
NONCE_MAX: Final = 25
#: Discord message flag for ephemeral interaction replies.
EPHEMERAL: Final = 64


async def open_client(*, timeout_s: float = 30.0,
                      run_sync: RunSync = default_run_sync) -> httpx.AsyncClient:
    """A new httpx.AsyncClient for Rest, built off the event loop.

    Building a client loads the CA bundle (a file read of tens of ms), so it runs in a
    worker thread through `run_sync`. The caller owns and closes it:
    `async with await open_client() as client:`.
    Args: timeout_s: connect/read/write/pool timeout per request, seconds; run_sync:
        `await run_sync(fn)` runs the blocking build off the loop (default: a worker thread
        under the gateway's own small limiter; an application passes its policy's).
    """
    return await run_sync(lambda: httpx.AsyncClient(timeout=timeout_s, verify=tls_context()))


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to upload with a message: filename, data (bytes), content_type (MIME)."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"


class Rest:
    """A Discord REST client for one bot token.

    Args: token: the bot token (kept out of reprs, logs and errors); client: an open
        httpx.AsyncClient the caller owns; base_url: API root with version
        (FakeDiscord gives "http://127.0.0.1:PORT/api/v10"); max_wait_s: longest 429 we wait
        out before raising RateLimited; limiter: share one RateLimiter per token.
    """

    def __init__(
        self,
        *,
        token: str,
        client: httpx.AsyncClient,
        base_url: str = DEFAULT_BASE_URL,
        max_wait_s: float = MAX_WAIT_S,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._headers = {"Authorization": f"Bot {token}", "User-Agent": USER_AGENT}
        self._client = client
        self.base_url = base_url.rstrip("/")
        self.max_wait_s = max_wait_s
        self.limiter = limiter or RateLimiter()

    def __repr__(self) -> str:
        return f"Rest(base_url={self.base_url!r})"

    async def request(self, route: Route, *, json_body: object = None,
                      query: dict[str, str] | None = None,
                      files: Sequence[Attachment] = (),
                      policy: RetryPolicy = IDEMPOTENT) -> Any:
        """Make one REST call with rate limiting and retries.

        Args: route: method, template and params; json_body: JSON payload or None;
            query: query-string parameters; files: attachments, sent as multipart/form-data
            with the JSON in `payload_json` (Upstream: Reference > Uploading Files);
            policy: which failures are retried and the per-attempt timeout (gateway._retry).
        Returns: the decoded JSON body, or None for 204.
        Raises: RateLimited (429 longer than max_wait_s), CloudflareBanned (HTML 429 or
            ban in force), Forbidden (403), NotFound (404), ServerError (5xx or transport
            failure the policy does not retry, or still failing after its attempts),
            HTTPError (other 4xx; carries Discord's code and, for 50035, the field paths).
        Cancellation: safe; a request already sent may still take effect at Discord.
        """
        headers = dict(self._headers)
        upload: dict[str, Any] = {}
        if files:  # httpx sets the multipart Content-Type with its boundary
            # Reference > Uploading Files: the JSON goes in a `payload_json` part with
            # Content-Type application/json (a file tuple without a filename sets it).
            upload["files"] = [("payload_json", (None, json.dumps(json_body or {}).encode(),
                                                 "application/json"))]
            upload["files"] += [(f"files[{i}]", (f.filename, f.data, f.content_type))
                                for i, f in enumerate(files)]
        elif json_body is not None:
            headers["Content-Type"] = "application/json"
            upload["content"] = json.dumps(json_body)
        if policy.timeout_s is not None:
            upload["timeout"] = policy.timeout_s
        attempt = 0
        while True:
            banned_s = self.limiter.banned_for_s()
            if banned_s > 0:
                raise CloudflareBanned(
                    429, 0, f"REST calls paused for {banned_s:.0f} s after a Cloudflare ban; "
                    "stop restarting the bot and check for a request loop",
                    method=route.method, route=route.template)
            error: httpx.TransportError | None = None
            async with self.limiter.acquire(route) as permit:
                try:
                    resp = await self._client.request(
                        route.method, self.base_url + route.path, headers=headers,
                        params=query, **upload,
                    )
                except httpx.TransportError as exc:
                    resp, error = None, exc
                    failure = f"connection failed: {type(exc).__name__}"
                else:
                    permit.update(resp.headers)
                    if resp.status_code == 429:
                        wait_s = self._on_429(route, resp, permit)
                        if wait_s > self.max_wait_s:
                            raise RateLimited(wait_s, scope_of(resp), method=route.method,
                                              route=route.template)
                        continue  # the next acquire waits the bucket / global pause out
            if resp is not None and resp.status_code < 500:
                return self._result(route, resp)
            status = resp.status_code if resp is not None else 0
            if resp is not None:
                failure = f"HTTP {status}"
            attempt += 1
            retry = policy.retries(error, status)
            if attempt >= policy.attempts or not retry:
                code, message, _ = error_of(resp) if resp is not None else (0, failure, None)
                why = (f"gave up after {attempt} attempts; Discord may be having an outage"
                       if retry else "not retried: Discord may have acted on it already")
                raise ServerError(status, code, f"{message} ({why})",
                                  method=route.method, route=route.template)
            delay = BACKOFF_BASE_S * 2 ** (attempt - 1)
            log.warning("discord server error, retrying [route:%s cause:%s attempt:%d wait_s:%.1f]",
                        route.route_key, failure, attempt, delay)
            await trio.sleep(delay)

    def _on_429(self, route: Route, resp: httpx.Response, permit: Any) -> float:
        """Classify a 429; returns seconds to wait or raises CloudflareBanned."""
        try:
            body = resp.json()
            retry_after = float(body["retry_after"])
        except (ValueError, KeyError, TypeError):
            self.limiter.ban(CLOUDFLARE_BACKOFF_S)
            raise CloudflareBanned(
                429, 0, f"a 429 without retry_after ({resp.headers.get('content-type', '?')}): "
                f"Cloudflare blocks this IP for too many invalid requests; all calls pause for "
                f"{CLOUDFLARE_BACKOFF_S:.0f} s", method=route.method, route=route.template,
            ) from None
        scope = scope_of(resp)
        permit.retry_after(scope, retry_after)
        return retry_after

    def _result(self, route: Route, resp: httpx.Response) -> Any:
        status = resp.status_code
        if status < 400:
            return None if status == 204 or not resp.content else resp.json()
        code, message, errors = error_of(resp)
        if status in (401, 403):
            self.limiter.invalid_requests += 1
        cls = {403: Forbidden, 404: NotFound}.get(status, HTTPError)
        raise cls(status, code, message, method=route.method, route=route.template,
                  errors=errors)

    # ---- calls -------------------------------------------------------------------------

    async def get_gateway_bot(self) -> dict:
        """The gateway URL, recommended shards and session_start_limit (raw JSON dict).

        Upstream: GET /gateway/bot (reset_after inside is in milliseconds).
        """
        return await self.request(Route("GET", r.GATEWAY_BOT))

    async def create_message(
        self, channel_id: int, *, content: str | None = None, embeds: list[dict] | None = None,
        nonce: str | None = None, allowed_mentions: dict | None = None, flags: int | None = None,
        message_reference: dict | None = None, components: list[dict] | None = None,
        files: Sequence[Attachment] = (),
    ) -> dict:
        """Post a message; with a nonce, `enforce_nonce` makes a retry return the first post.

        Args: content (<= 2000 chars), embeds (<= 10, dicts), nonce (<= 25 chars),
            allowed_mentions (default: none parsed), flags, message_reference, components.
        Returns: the message object.
        Raises: ValueError before sending when content, embeds or nonce break Discord's
            limits (Discord would answer 400 / 50035); otherwise see `request`.
        Upstream: POST /channels/{channel.id}/messages
        """
        check_content(content)
        if embeds is not None and len(embeds) > EMBEDS_PER_MESSAGE_MAX:
            raise ValueError(f"{len(embeds)} embeds in one message, but the max is "
                             f"{EMBEDS_PER_MESSAGE_MAX}; group them with gateway.messages.pack_embeds")
        if nonce is not None and not 1 <= len(nonce) <= NONCE_MAX:
            raise ValueError(f"nonce {nonce!r} is {len(nonce)} characters; Discord allows "
                             f"1-{NONCE_MAX}")
        body = _message_body(content=content, embeds=embeds, allowed_mentions=allowed_mentions,
                             flags=flags, components=components)
        if nonce is not None:
            body["nonce"], body["enforce_nonce"] = nonce, True
        if message_reference is not None:
            body["message_reference"] = message_reference
        if files:
            # Attachment ids are snowflake strings (OpenAPI MessageAttachmentRequest); for a
            # new upload the id is the n of its `files[n]` part.
            body["attachments"] = [{"id": str(i), "filename": f.filename}
                                   for i, f in enumerate(files)]
        return await self.request(Route("POST", r.CHANNEL_MESSAGES, {"channel_id": channel_id}),
                                  json_body=body, files=files,
                                  policy=IDEMPOTENT if nonce is not None else NOT_IDEMPOTENT)

    async def get_messages(self, channel_id: int, *, limit: int = 50) -> list[dict]:
        """The channel's most recent messages, newest first (needs Read Message History).

        Args: limit: 1-100. Returns: message objects (Discord does not return `nonce` here).
        Upstream: GET /channels/{channel.id}/messages?limit=N
        """
        if not 1 <= limit <= 100:
            raise ValueError(f"limit {limit} is outside Discord's 1-100 for GET messages")
        return await self.request(Route("GET", r.CHANNEL_MESSAGES, {"channel_id": channel_id}),
                                  query={"limit": str(limit)})

    async def edit_message(self, channel_id: int, message_id: int, **fields: Any) -> dict:
        """Edit a message's content/embeds/flags/components/allowed_mentions.

        Upstream: PATCH /channels/{channel.id}/messages/{message.id}
        """
        return await self.request(
            Route("PATCH", r.CHANNEL_MESSAGE, {"channel_id": channel_id, "message_id": message_id}),
            json_body=_no_mentions(dict(fields)))

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a message. Upstream: DELETE /channels/{channel.id}/messages/{message.id}"""
        await self.request(
            Route("DELETE", r.CHANNEL_MESSAGE, {"channel_id": channel_id, "message_id": message_id}))

    async def get_pinned_messages(self, channel_id: int) -> list[dict]:
        """Pinned messages of a channel, newest pin first (the first page: up to 50).

        Returns: message objects. Upstream: GET /channels/{channel.id}/messages/pins
        (list_pins; answers {"items": [{"pinned_at", "message"}], "has_more"}).
        """
        page = await self.request(Route("GET", r.CHANNEL_PINS, {"channel_id": channel_id}),
                                  query={"limit": "50"})
        return [item["message"] for item in page.get("items") or ()]

    async def pin_message(self, channel_id: int, message_id: int) -> None:
        """Pin a message; needs the Pin Messages permission (since 2026-01-12, no longer
        part of Manage Messages: discord-api-docs #7958).

        Raises: Forbidden (50013) without it, HTTPError 30003 at the channel's pin limit.
        Upstream: PUT /channels/{channel.id}/messages/pins/{message.id}
        """
        await self.request(
            Route("PUT", r.CHANNEL_PIN, {"channel_id": channel_id, "message_id": message_id}))

    async def create_dm(self, user_id: int) -> dict:
        """Open (or fetch) the DM channel with a user. Upstream: POST /users/@me/channels"""
        return await self.request(Route("POST", r.USER_DM_CHANNELS),
                                  json_body={"recipient_id": str(user_id)})

    async def bulk_overwrite_commands(self, application_id: int, commands: list[dict], *,
                                      guild_id: int | None = None) -> list[dict]:
        """Replace all application commands (global, or one guild's) with `commands`.

        Returns: the commands as Discord stored them. New names count toward 200 creates/day.
        Upstream: PUT /applications/{id}/commands, PUT /applications/{id}/guilds/{id}/commands
        """
        if guild_id is None:
            route = Route("PUT", r.GLOBAL_COMMANDS, {"application_id": application_id})
        else:
            route = Route("PUT", r.GUILD_COMMANDS,
                          {"application_id": application_id, "guild_id": guild_id})
        return await self.request(route, json_body=commands)

    async def interaction_callback(self, interaction_id: int, interaction_token: str,
                                   type: int, data: dict | None = None) -> None:
        """Answer an interaction (must happen within 3 s of its creation).

        Args: type: 4 message, 5 deferred message, 6 deferred update, 7 update message,
            8 autocomplete result; data: the message / choices payload.
        Raises: NotFound (10062: deadline missed or unknown), HTTPError (40060: already
            acknowledged), ServerError at once on a 5xx or no answer within
            gateway._retry.INTERACTION_TIMEOUT_S (never resent: it may have arrived),
            see `request`.
        Upstream: POST /interactions/{interaction.id}/{interaction.token}/callback
        """
        body: dict[str, Any] = {"type": type}
        if data is not None:
            body["data"] = _no_mentions(dict(data)) if type in (4, 7) else data
        await self.request(
            Route("POST", r.INTERACTION_CALLBACK,
                  {"interaction_id": interaction_id, "webhook_token": interaction_token},
                  exempt_global=True),
            json_body=body, policy=INTERACTION_CALLBACK)

    async def create_followup(self, application_id: int, interaction_token: str,
                              **fields: Any) -> dict:
        """Send a follow-up message to an answered interaction (token valid 15 min).

        Args: fields: content, embeds, allowed_mentions, flags (64 = ephemeral).
        Raises: ServerError at once on a 5xx (not retried: it may have been posted).
        Upstream: POST /webhooks/{application.id}/{interaction.token}?wait=true
        """
        return await self.request(
            Route("POST", r.WEBHOOK, {"webhook_id": application_id,
                                      "webhook_token": interaction_token}, exempt_global=True),
            json_body=_no_mentions(dict(fields)), query={"wait": "true"}, policy=NOT_IDEMPOTENT)

    async def edit_original(self, application_id: int, interaction_token: str,
                            **fields: Any) -> dict:
        """Edit the first response (e.g. after a deferral).

        Upstream: PATCH /webhooks/{application.id}/{interaction.token}/messages/@original
        """
        return await self.request(
            Route("PATCH", r.WEBHOOK_ORIGINAL, {"webhook_id": application_id,
                                                "webhook_token": interaction_token},
                  exempt_global=True),
            json_body=_no_mentions(dict(fields)))

    async def aclose(self) -> None:
        """Close the httpx client (idempotent)."""
        await self._client.aclose()


def _message_body(**fields: Any) -> dict[str, Any]:
    """A message payload without None fields, pinging nobody (see `_no_mentions`)."""
    return _no_mentions({k: v for k, v in fields.items() if v is not None})


def _no_mentions(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with allowed_mentions {"parse": []}, whatever the caller passed.

    This client never pings anyone: every message it creates or edits (channel messages,
    interaction responses, follow-ups, @original) carries empty allowed_mentions, so a name
    containing `<@&role>` or `@everyone` can never notify. Upstream: message.mdx "Allowed
    Mentions Object" (absent = Discord parses every mention in content).
    """
    body["allowed_mentions"] = {"parse": []}
    return body
