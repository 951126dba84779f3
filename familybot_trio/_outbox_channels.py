"""Which channel an outbox row goes to, and whether a channel message is a row's post.

The [channels] settings a row kind follows (KIND_CHANNELS): a row waiting or failed for a
channel the config no longer names goes to the channel it names now for its kind
(`configured_channel`), used by familybot_trio.outbox_sender. `same_message` recognises an
earlier, unanswered post of a row among a channel's recent messages.
Upstream: discord-api-docs resources/message.mdx (Message Object: nonce, content, embeds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["CHANNEL_NAMES", "KIND_CHANNELS", "channel_name", "configured_channel",
           "same_message"]

#: The [channels] settings, in the order their names are looked up.
CHANNEL_NAMES: Final = ("new_games", "wishlist", "deals", "free_games", "admin_reports")
#: Row kinds whose channel is a [channels] setting.
KIND_CHANNELS: Final[Mapping[str, str]] = {
    "new_game": "new_games", "new_games_bundle": "new_games", "library_digest": "new_games",
    "deal": "deals", "free_game": "free_games"}


def channel_name(channels: Any, channel_id: int) -> str:
    """The [channels] setting naming `channel_id` ("deals"), or "" when none does.
    Args: channels: Config.channels (attributes as CHANNEL_NAMES, channel id or None)."""
    return next((n for n in CHANNEL_NAMES if getattr(channels, n) == channel_id), "")


def configured_channel(channels: Any, kind: str, channel_id: int) -> int | None:
    """The channel [channels] names now for a row of `kind`, when the row's own channel
    (`channel_id`) is no longer named in [channels] at all (an admin set a new channel after
    "#deals no longer exists", or moved #deals); else None (keep the row's channel). Kinds
    not in KIND_CHANNELS (personal alerts in DMs), unset channels and rows whose channel is
    still configured (for any kind) give None."""
    name = KIND_CHANNELS.get(kind)
    configured = getattr(channels, name, None) if name else None
    named_now = {int(c) for c in (getattr(channels, n, None) for n in CHANNEL_NAMES) if c}
    if configured is None or int(channel_id) in named_now:
        return None
    return int(configured)


def same_message(msg: Mapping[str, Any], nonce: str, payload: Mapping[str, Any]) -> bool:
    """Whether a fetched message is this row's post: same nonce if Discord returned one,
    else the same content and the same embed titles, descriptions and URLs."""
    if msg.get("nonce"):
        return str(msg["nonce"]) == nonce
    if (msg.get("content") or "") != (payload.get("content") or ""):
        return False
    keys = ("title", "description", "url")
    mine = [tuple(e.get(k) for k in keys) for e in payload.get("embeds") or ()]
    theirs = [tuple(e.get(k) for k in keys) for e in msg.get("embeds") or ()]
    return mine == theirs
