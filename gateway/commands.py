"""One command registry for slash commands and `!` prefix commands.

A command is declared once (`CommandRegistry.command`) with typed options. The registry
turns the set into the JSON for a bulk overwrite of application commands (sent only when its
hash changed), and dispatches both `INTERACTION_CREATE` (slash, autocomplete) and
`MESSAGE_CREATE` (`!name args`) to the same handler with the same parsed arguments.

Interaction rules kept here (discord-protocol.md 2.4): the first response must reach
Discord within 3 s, so a handler still running after `DEFER_AFTER_S` gets a deferral
(callback type 5) and its reply then edits `@original`; every response goes through one
lock per interaction, so a reply racing the auto-defer never acknowledges twice (40060).

Logger: `gateway.commands`.
Upstream: discord-api-docs interactions/application-commands.mdx,
interactions/receiving-and-responding.mdx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shlex
from collections.abc import Callable, Collection, Sequence
from typing import Any, Final

import trio

from gateway import _late_reply
from gateway._command import Autocomplete, Command, Gate, Handler, refuse_pasted_secret
from gateway._options import (ArgumentError, Option, OptionType, boolean, check_command, integer,
                              string, user)
from gateway.errors import GatewayError, HTTPError, NotFound
from gateway.messages import CONTENT_MAX, NO_MENTIONS, Embed, pack_embeds, split_lines, truncate
from gateway.rest import EPHEMERAL, Rest

__all__ = ["ArgumentError", "Autocomplete", "Command", "CommandContext", "CommandRegistry", "Gate",
           "Handler", "Option", "OptionType", "boolean", "integer", "string", "user"]

log = logging.getLogger("gateway.commands")

#: Defer a handler still running after this long (Discord's deadline is 3 s; keep ~1 s for
#: the round trip on a slow link).
DEFER_AFTER_S: Final = 2.0
#: A command slower than this logs a WARNING (Discord saw a deferral first).
SLOW_COMMAND_S: Final = 1.0
#: Longest we let a deferral request run once started (it is shielded from cancellation).
DEFER_REQUEST_TIMEOUT_S: Final = 10.0
#: Interaction types and callback types used here (Upstream: Interaction Type / Callback Type).
APPLICATION_COMMAND: Final = 2
AUTOCOMPLETE: Final = 4
CALLBACK_MESSAGE: Final = 4
CALLBACK_DEFERRED: Final = 5
CALLBACK_AUTOCOMPLETE: Final = 8
UNKNOWN_INTERACTION: Final = 10062
MAX_CHOICES: Final = 25

class CommandContext:
    """One invocation, the same shape for slash and prefix commands.

    Attributes: name, args (option name -> parsed value), user_id, channel_id, guild_id
        (None in DMs), is_admin, is_dm, is_interaction, responded (a reply was sent),
        deferred.
    """

    def __init__(self, rest: Rest, *, name: str, args: dict[str, object], user_id: int,
                 channel_id: int, guild_id: int | None, is_admin: bool,
                 interaction: dict | None = None, message_id: int | None = None) -> None:
        self.rest, self.name, self.args = rest, name, args
        self.user_id, self.channel_id, self.guild_id = user_id, channel_id, guild_id
        self.is_admin, self.is_dm = is_admin, guild_id is None
        self._interaction, self._message_id = interaction, message_id
        self.received_at = trio.current_time()  # the interaction token's life starts here
        self._lock = trio.Lock()
        self._acked = self.deferred = self.responded = self._original_done = False

    @property
    def is_interaction(self) -> bool:
        """True for slash commands, False for `!` prefix commands."""
        return self._interaction is not None

    async def reply(self, content: str | None = None, *,
                    embeds: Sequence[Embed | dict] | None = None, ephemeral: bool = False) -> None:
        """Answer the command.

        First reply: callback type 4, or an edit of @original once deferred; later replies:
        follow-ups. Prefix commands post a channel message (ephemeral is ignored there).
        Mentions never ping (allowed_mentions parse: []).
        Args: content (cut to 2000 chars with "…": an error echoing a long input still
            goes out), embeds (<= 10; Embed objects or dicts), ephemeral.
        Raises: HTTPError from Discord.
        Cancellation: safe to cancel; if cancelled mid-request Discord may still show the
            answer while `responded` is already True.
        """
        if content is not None and len(content) > CONTENT_MAX:
            log.warning("reply cut to Discord's limit [command:%s chars:%d]", self.name,
                        len(content))
            content = truncate(content, CONTENT_MAX)
        data: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if content is not None:
            data["content"] = content
        if embeds:
            data["embeds"] = [e.to_dict() if isinstance(e, Embed) else e for e in embeds]
        async with self._lock:
            self.responded = True
            it = self._interaction
            if it is not None and (trio.current_time() - self.received_at
                                   > _late_reply.TOKEN_SAFE_S):
                await _late_reply.send_late(self, data, ephemeral)
                return
            if it is None:
                ref = {"message_id": str(self._message_id), "fail_if_not_exists": False}
                await self.rest.create_message(self.channel_id, message_reference=ref, **{
                    k: v for k, v in data.items() if k in ("content", "embeds", "allowed_mentions")})
                return
            if ephemeral:
                data["flags"] = EPHEMERAL
            app_id, token = int(it["application_id"]), it["token"]
            if not self._acked:
                try:
                    await self.rest.interaction_callback(int(it["id"]), token, CALLBACK_MESSAGE, data)
                except NotFound as exc:
                    if exc.code != UNKNOWN_INTERACTION or ephemeral:
                        raise
                    log.warning("interaction expired before the reply, posting to the channel "
                                "[command:%s channel:%d]", self.name, self.channel_id)
                    await self.rest.create_message(self.channel_id, content=content,
                                                   embeds=data.get("embeds"))
                    return
                self._acked = self._original_done = True
            elif self.deferred and not self._original_done:
                data.pop("flags", None)  # the deferral fixed ephemeral-ness already
                await self.rest.edit_original(app_id, token, **data)
                self._original_done = True
            else:
                await self.rest.create_followup(app_id, token, **data)

    async def reply_lines(self, lines: Sequence[str], *, ephemeral: bool = False) -> None:
        """Reply with a long list, split at line boundaries into messages of <= 2000 chars.

        The first chunk is the reply, the rest follow-ups (or further channel messages).
        """
        for chunk in split_lines(lines) or ["(nothing to show)"]:
            await self.reply(chunk, ephemeral=ephemeral)

    async def reply_embeds(self, embeds: Sequence[Embed | dict], *, content: str | None = None,
                           ephemeral: bool = False) -> None:
        """Reply with any number of embeds, packed into messages of <= 10 / 6000 chars."""
        for i, group in enumerate(pack_embeds(embeds) or [[]]):
            await self.reply(content if i == 0 else None, embeds=group or None,
                             ephemeral=ephemeral)

    async def defer(self, *, ephemeral: bool = False) -> None:
        """Acknowledge now (callback type 5, "thinking…"); no-op if already acknowledged.

        Raises: HTTPError (e.g. 10062 when the 3 s deadline already passed).
        """
        async with self._lock:
            if self._interaction is None or self._acked:
                return
            it = self._interaction
            await self.rest.interaction_callback(
                int(it["id"]), it["token"], CALLBACK_DEFERRED,
                {"flags": EPHEMERAL} if ephemeral else None)
            self._acked = self.deferred = True


class CommandRegistry:
    """Declares commands, registers them with Discord and dispatches gateway events.

    Args: rest: the REST client replies go through; prefix: "!" (None turns prefix
        commands off); admin_ids: user ids allowed to run admin-only commands;
        defer_after_s: auto-defer delay for slow handlers; gate: who may run what (after
        the admin-only and DM checks, before options are parsed; default: everyone).
    """

    def __init__(self, rest: Rest, *, prefix: str | None = "!", admin_ids: Collection[int] = (),
                 defer_after_s: float = DEFER_AFTER_S, gate: Gate | None = None) -> None:
        self.rest, self.prefix, self.gate = rest, prefix, gate or Gate()
        self.admin_ids = frozenset(int(i) for i in admin_ids)
        self.defer_after_s = defer_after_s
        #: a handler is cancelled after this long (below the 15-minute interaction token)
        self.command_budget_s = _late_reply.COMMAND_BUDGET_S
        self._commands: dict[str, Command] = {}

    @property
    def commands(self) -> list[Command]:
        """Registered commands sorted by name (for /help)."""
        return [self._commands[k] for k in sorted(self._commands)]

    def command(self, name: str, description: str, *, options: Sequence[Option] = (),
                admin_only: bool = False, dm_allowed: bool = True, secret: bool = False,
                autocomplete: Autocomplete | None = None, members_only: bool = False
                ) -> Callable[[Handler], Handler]:
        """Decorator registering `async def handler(ctx)` as /name and !name.

        Raises: ValueError for names/descriptions/options Discord would reject (name
            1-32 lowercase chars, description 1-100, <= 25 options, required first) or a
            duplicate name.
        """
        check_command(name, description, options)
        if name in self._commands:
            raise ValueError(f"command {name!r} is registered twice; pick another name")

        def register(handler: Handler) -> Handler:
            self._commands[name] = Command(name, description, handler, tuple(options),
                                           admin_only, dm_allowed, autocomplete, secret,
                                           members_only)
            return handler
        return register

    def payload(self) -> list[dict[str, Any]]:
        """The bulk-overwrite body: every command's JSON, sorted by name."""
        return [c.to_dict() for c in self.commands]

    def payload_hash(self) -> str:
        """sha256 hex of the canonical payload; changes iff what Discord must store changes."""
        raw = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()

    async def sync(self, application_id: int, *, guild_id: int | None = None,
                   stored_hash: str | None = None) -> str:
        """Bulk-overwrite the commands only when they differ from `stored_hash`.

        Returns: the current hash (store it for the next start).
        Raises: HTTPError from Discord (e.g. 30034, daily create limit).
        Upstream: PUT /applications/{id}/commands (or /guilds/{id}/commands)
        """
        current = self.payload_hash()
        if current == stored_hash:
            log.debug("application commands unchanged, not registering [hash:%s]", current[:12])
            return current
        await self.rest.bulk_overwrite_commands(application_id, self.payload(), guild_id=guild_id)
        log.info("application commands registered [count:%d guild:%s hash:%s]",
                 len(self._commands), guild_id, current[:12])
        return current

    async def handle(self, event_name: str, data: dict) -> None:
        """Feed one gateway dispatch; INTERACTION_CREATE and MESSAGE_CREATE are acted on.

        Returns when the handler is done. Handler exceptions are logged and answered with
        an ephemeral apology; REST failures of our own answers are logged; neither propagates.
        Cancellation: cancels the handler; a deferral already started finishes (bounded).
        """
        try:
            if event_name == "INTERACTION_CREATE":
                await self._on_interaction(data)
            elif event_name == "MESSAGE_CREATE" and self.prefix:
                await self._on_message(data)
        except GatewayError as exc:  # our own reply failed: log it, never kill the handlers
            log.warning("could not answer a command [event:%s cause:%s]", event_name, exc)

    async def _on_interaction(self, it: dict) -> None:
        data = it.get("data") or {}
        command = self._commands.get(data.get("name", ""))
        author = (it.get("member") or {}).get("user") or it.get("user") or {}
        user_id = int(author.get("id", 0))
        raw = {o["name"]: o for o in data.get("options") or () if "value" in o}
        ctx = CommandContext(
            self.rest, name=data.get("name", "?"), args={}, user_id=user_id,
            channel_id=int(it.get("channel_id") or (it.get("channel") or {}).get("id", 0)),
            guild_id=int(it["guild_id"]) if it.get("guild_id") else None,
            is_admin=user_id in self.admin_ids, interaction=it)
        if it.get("type") == AUTOCOMPLETE:
            await self._autocomplete(command, ctx, raw)
        elif it.get("type") == APPLICATION_COMMAND:
            if command is None:
                await ctx.reply(f"Unknown command `/{ctx.name}`; it may have been removed.",
                                ephemeral=True)
                return
            await self._run(command, ctx, {k: o["value"] for k, o in raw.items()}, "/")

    async def _autocomplete(self, command: Command | None, ctx: CommandContext,
                            raw: dict[str, dict]) -> None:
        focused = next((o for o in raw.values() if o.get("focused")), None)
        choices: list[dict] = []
        if (command is not None and command.autocomplete is not None and focused is not None
                and await self.gate.allows_autocomplete(ctx, command)):
            try:
                found = await command.autocomplete(ctx, focused["name"], str(focused["value"]))
            except Exception:
                log.exception("autocomplete failed [command:%s]", command.name)
                found = []
            for c in list(found)[:MAX_CHOICES]:
                if isinstance(c, dict):
                    choices.append(c)
                elif isinstance(c, tuple):
                    choices.append({"name": str(c[0])[:100], "value": c[1]})
                else:
                    choices.append({"name": str(c)[:100], "value": str(c)[:100]})
        it = ctx._interaction or {}
        await self.rest.interaction_callback(int(it["id"]), it["token"], CALLBACK_AUTOCOMPLETE,
                                             {"choices": choices})

    async def _on_message(self, msg: dict) -> None:
        content = msg.get("content") or ""
        author = msg.get("author") or {}
        if author.get("bot") or not content.startswith(self.prefix or "\0"):
            return
        name, _, rest = content[len(self.prefix or ""):].partition(" ")
        command = self._commands.get(name.lower())
        if command is None:
            return  # not ours: other bots share the prefix; stay quiet
        user_id = int(author.get("id", 0))
        ctx = CommandContext(
            self.rest, name=command.name, args={}, user_id=user_id,
            channel_id=int(msg["channel_id"]),
            guild_id=int(msg["guild_id"]) if msg.get("guild_id") else None,
            is_admin=user_id in self.admin_ids, message_id=int(msg.get("id", 0)))
        try:
            tokens = shlex.split(rest)
        except ValueError:
            tokens = rest.split()
        raw: dict[str, object] = {}
        for i, option in enumerate(command.options):
            if i >= len(tokens):
                break
            last = i == len(command.options) - 1 and option.type is OptionType.STRING
            raw[option.name] = " ".join(tokens[i:]) if last else tokens[i]
        await self._run(command, ctx, raw, self.prefix or "!")

    async def _run(self, command: Command, ctx: CommandContext, raw: dict[str, object],
                   prefix: str) -> None:
        if command.secret and not ctx.is_dm:  # whoever posted it, wherever: delete, explain
            await refuse_pasted_secret(ctx, command, prefix)
            return
        await self.gate.run(ctx, command, lambda: self._checked_call(command, ctx, raw, prefix))

    async def _checked_call(self, command: Command, ctx: CommandContext,
                            raw: dict[str, object], prefix: str) -> None:
        if ctx.is_dm and not command.dm_allowed:
            await ctx.reply(f"`{prefix}{command.name}` works in a server channel, not in DMs.",
                            ephemeral=True)
            return
        if command.admin_only and not ctx.is_admin:
            await ctx.reply(f"`{prefix}{command.name}` is for the bot's admins only.",
                            ephemeral=True)
            return
        try:
            ctx.args = {o.name: o.parse(raw.get(o.name)) for o in command.options}
        except ArgumentError as exc:
            await ctx.reply(f"{exc}\nUsage: `{command.usage(prefix)}`", ephemeral=True)
            return
        async with trio.open_nursery() as nursery:
            if ctx.is_interaction:
                nursery.start_soon(self._defer_later, ctx)
            with trio.move_on_after(self.command_budget_s) as budget:
                await self._call(command, ctx)
            nursery.cancel_scope.cancel()
        if budget.cancelled_caught:  # bounded below the 15-minute token: say so in time
            log.warning("command %s ran past its budget and was stopped [s:%.0f]",
                        command.name, self.command_budget_s)
            await ctx.reply(f"`{prefix}{command.name}` took longer than "
                            f"{self.command_budget_s / 60:.0f} minutes and was stopped; "
                            "try again later.", ephemeral=True)

    async def _defer_later(self, ctx: CommandContext) -> None:
        await trio.sleep(self.defer_after_s)
        with trio.move_on_after(DEFER_REQUEST_TIMEOUT_S) as scope:
            scope.shield = True  # a started deferral must finish, or we may never ack
            try:
                await ctx.defer()
            except HTTPError as exc:
                log.warning("could not defer a slow command [command:%s cause:%s]", ctx.name, exc)
                return
        log.debug("deferred a slow command [command:%s after_s:%.1f]", ctx.name, self.defer_after_s)

    async def _call(self, command: Command, ctx: CommandContext) -> None:
        started = trio.current_time()
        try:
            await command.handler(ctx)
            took_s = trio.current_time() - started
            if took_s > SLOW_COMMAND_S:
                log.warning("command %s took %.1f s (deferred: %s); the upstream and database "
                            "logs above say what it waited for [user:%d]", command.name, took_s,
                            ctx.deferred, ctx.user_id)
            else:
                log.info("command %s done [ms:%.0f user:%d]", command.name, took_s * 1000,
                         ctx.user_id)
        except Exception:  # a handler bug must not kill the bot; Cancelled still passes
            log.exception("command handler failed [command:%s user:%d]", command.name, ctx.user_id)
            try:
                await ctx.reply(f"Sorry, `{command.name}` failed; the error is in the bot's log.",
                                ephemeral=True)
            except HTTPError as exc:
                log.warning("could not report a failed command [command:%s cause:%s]",
                            command.name, exc)
            return
        if ctx.is_interaction and not ctx.responded:
            await ctx.reply("Done.", ephemeral=True)

