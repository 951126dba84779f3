"""A small Discord client: gateway shard, REST, commands. Knows nothing of Steam.

Layout: `shard` (one gateway connection: HELLO, IDENTIFY/RESUME, heartbeat, reconnect policy),
`codec` (zlib-stream, JSON), `rest` (httpx, per-route buckets, global limit, typed errors),
`commands` (one registry -> slash and `!` prefix commands), `messages` (Discord's limits,
escaping, no mentions), `errors` (the exception tree), `testing` (FakeDiscord).

Blocking work (building an httpx client, decoding a multi-MiB frame) goes through a
`run_sync` callable the caller passes (`Shard(run_sync=...)`, `open_client(run_sync=...)`),
so an application keeps one concurrency policy and this package imports nothing of it;
alone, the gateway uses a worker thread under its own small limiter (`gateway._threads`).
"""

from gateway._protocol import CloseCode, Intents, Opcode
from gateway.commands import CommandContext, CommandRegistry
from gateway.errors import FatalCloseError, GatewayError, HTTPError
from gateway.messages import Embed, EmbedField, escape_markdown, escape_text, split_lines
from gateway.rest import Rest, open_client
from gateway.shard import Ready, Shard, ShardState
from gateway.tls import tls_context

__all__ = ["CloseCode", "CommandContext", "CommandRegistry", "Embed", "EmbedField",
           "FatalCloseError", "GatewayError", "HTTPError", "Intents", "Opcode", "Ready", "Rest",
           "Shard", "ShardState", "escape_markdown", "escape_text", "open_client", "split_lines",
           "tls_context"]
