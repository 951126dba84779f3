"""Discord REST routes as data: method, path template, major parameters.

A `Route` is what the rate limiter keys on before Discord has told us a bucket hash: the
method plus the path *template* (never the filled-in path, which may hold an interaction
token) plus the major parameters (`channel_id`, `guild_id`, `webhook_id` + `webhook_token`),
which Discord tracks separately inside one bucket.

Upstream: discord-api-docs developers/topics/rate-limits.mdx ("Major Parameters").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

#: Path parameters Discord treats as major: a bucket is counted per value of these.
MAJOR_PARAMETERS: Final = ("channel_id", "guild_id", "webhook_id", "webhook_token")


@dataclass(frozen=True, slots=True)
class Route:
    """One REST call's identity for rate limiting, logging and errors.

    Attributes: method ("GET", "POST" ...); template ("/channels/{channel_id}/messages");
        params: the values filled into the template (ints or strings);
        exempt_global: True for interaction endpoints, which the 50/s global limit skips.
    """

    method: str
    template: str
    params: dict[str, object] = field(default_factory=dict, hash=False, compare=False)
    exempt_global: bool = False

    @property
    def path(self) -> str:
        """The filled-in path (may contain a token: never log it; log `template`)."""
        return self.template.format(**{k: str(v) for k, v in self.params.items()})

    @property
    def major(self) -> str:
        """Major parameters as one key; a webhook token is hashed so it never sits in a key."""
        parts = []
        for name in MAJOR_PARAMETERS:
            if name in self.params:
                value = str(self.params[name])
                if name == "webhook_token":
                    value = hashlib.sha256(value.encode()).hexdigest()[:16]
                parts.append(f"{name}={value}")
        return ",".join(parts)

    @property
    def route_key(self) -> str:
        """Method + template: the key under which a learned bucket hash is remembered."""
        return f"{self.method} {self.template}"


# Route templates used by gateway.rest (one place, named like Discord's docs).
GATEWAY_BOT: Final = "/gateway/bot"
CHANNEL_MESSAGES: Final = "/channels/{channel_id}/messages"
CHANNEL_MESSAGE: Final = "/channels/{channel_id}/messages/{message_id}"
# Pins: the /messages/pins routes (OpenAPI list_pins, create_pin); /channels/{id}/pins is
# deprecated (operationId deprecated_list_pins / deprecated_create_pin).
CHANNEL_PINS: Final = "/channels/{channel_id}/messages/pins"
CHANNEL_PIN: Final = "/channels/{channel_id}/messages/pins/{message_id}"
USER_DM_CHANNELS: Final = "/users/@me/channels"
GLOBAL_COMMANDS: Final = "/applications/{application_id}/commands"
GUILD_COMMANDS: Final = "/applications/{application_id}/guilds/{guild_id}/commands"
INTERACTION_CALLBACK: Final = "/interactions/{interaction_id}/{webhook_token}/callback"
WEBHOOK: Final = "/webhooks/{webhook_id}/{webhook_token}"
WEBHOOK_ORIGINAL: Final = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
