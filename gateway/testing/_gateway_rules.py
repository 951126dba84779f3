"""What Discord's gateway accepts from a client, and the objects it sends in READY.

`parse_frame` turns one client frame into (op, d) or raises `CloseWith(code, reason)`: the
fake then closes *that* connection with the code, as Discord does, and keeps serving the
others. Upstream: discord-api-docs developers/events/gateway.mdx ("Gateway Close Event
Codes", "Sending Events"), events/gateway-events.mdx ("Identify Structure", "Resume
Structure", "Ready Event", "Guild Create").
"""

from __future__ import annotations

import json
from typing import Any, Final

from gateway.testing._identity import APPLICATION_ID, BOT_USER, iso_timestamp

#: Gateway Opcodes a client may send: heartbeat, identify, presence update, voice state
#: update, resume, request guild members, request soundboard sounds (31), and 43 (request
#: channel info). Anything else closes with 4001 Unknown opcode.
CLIENT_OPS: Final = frozenset({1, 2, 3, 4, 6, 8, 31, 43})
#: Ops that need an identified session first (4003 Not authenticated).
NEEDS_SESSION: Final = frozenset({3, 4, 8, 31, 43})
#: Compression the fake speaks (Gateway "Transport Compression"); zstd-stream is refused
#: at the HTTP upgrade (no zstd codec in the standard library before Python 3.14).
COMPRESSIONS: Final = frozenset({None, "zlib-stream"})


class CloseWith(Exception):
    """Close this connection with `code` and `reason` (a Gateway Close Event Code)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code, self.reason = code, reason


def parse_frame(raw: str | bytes, *, identified: bool) -> tuple[int, Any]:
    """One client frame -> (op, d), or CloseWith: 4002 Decode error (not JSON, not an
    object, no integer `op`, a `d` of the wrong shape), 4001 Unknown opcode, 4003 Not
    authenticated (an op that needs IDENTIFY first), 4005 Already authenticated."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CloseWith(4002, "Error while decoding payload.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("op"), int) \
            or isinstance(payload.get("op"), bool):
        raise CloseWith(4002, "Error while decoding payload.")
    op, d = payload["op"], payload.get("d")
    if op not in CLIENT_OPS:
        raise CloseWith(4001, "Unknown opcode.")
    if op == 1 and d is not None and (not isinstance(d, int) or isinstance(d, bool)):
        raise CloseWith(4002, "Error while decoding payload.")  # Heartbeat: d is seq or null
    if op == 2:
        if not isinstance(d, dict) or not isinstance(d.get("token"), str) \
                or not isinstance(d.get("intents"), int) or not isinstance(d.get("properties"), dict):
            raise CloseWith(4002, "Error while decoding payload.")  # Identify Structure
        if identified:
            raise CloseWith(4005, "Already authenticated.")
        shard = d.get("shard")
        if shard is not None and not (isinstance(shard, list) and len(shard) == 2
                                      and 0 <= shard[0] < shard[1]):
            raise CloseWith(4010, "Invalid shard.")
    if op == 6 and not (isinstance(d, dict) and isinstance(d.get("token"), str)
                        and isinstance(d.get("session_id"), str)
                        and isinstance(d.get("seq"), int)):
        raise CloseWith(4002, "Error while decoding payload.")  # Resume Structure
    if op in NEEDS_SESSION and not identified:
        raise CloseWith(4003, "Not authenticated.")
    return op, d


def ready_payload(session_id: str, resume_url: str, guild_ids: tuple[int, ...],
                  shard: list[int] | None) -> dict[str, Any]:
    """The Ready Event: guilds as unavailable (GUILD_CREATE follows), `shard` echoed."""
    ready: dict[str, Any] = {
        "v": 10, "user": BOT_USER, "session_id": session_id, "session_type": "normal",
        "resume_gateway_url": resume_url, "private_channels": [], "presences": [],
        "guild_join_requests": [], "geo_ordered_rtc_regions": ["us-east"],
        "user_settings": {}, "relationships": [], "auth": {},
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "application": {"id": str(APPLICATION_ID), "flags": 0}}
    if shard is not None:
        ready["shard"] = list(shard)
    return ready


def guild_create_payload(guild_id: int) -> dict[str, Any]:
    """A Guild Create event for an available guild (Guild Object + the extra fields)."""
    text_channel = {"id": str(guild_id + 1), "type": 0, "name": "general", "position": 0,
                    "permission_overwrites": [], "nsfw": False, "parent_id": None,
                    "topic": None, "last_message_id": None, "rate_limit_per_user": 0,
                    "flags": 0, "guild_id": str(guild_id)}
    everyone = {"id": str(guild_id), "name": "@everyone", "color": 0, "hoist": False,
                "icon": None, "unicode_emoji": None, "position": 0,
                "permissions": str(1 << 10 | 1 << 11 | 1 << 16), "managed": False,
                "mentionable": False, "flags": 0}
    return {
        "id": str(guild_id), "name": "Family", "icon": None, "splash": None,
        "discovery_splash": None, "owner_id": "1100000000000000003", "afk_channel_id": None,
        "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 1,
        "explicit_content_filter": 0, "roles": [everyone], "emojis": [], "features": [],
        "mfa_level": 0, "application_id": None, "system_channel_id": None,
        "system_channel_flags": 0, "rules_channel_id": None, "vanity_url_code": None,
        "description": None, "banner": None, "premium_tier": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": None, "nsfw_level": 0,
        "premium_progress_bar_enabled": False, "safety_alerts_channel_id": None,
        "stickers": [], "max_members": 500000, "max_video_channel_users": 25,
        "premium_subscription_count": 0, "unavailable": False, "large": False,
        "member_count": 1, "joined_at": iso_timestamp(0.0), "voice_states": [],
        "members": [], "channels": [text_channel], "threads": [], "presences": [],
        "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
        "lazy": True, "incidents_data": None}
