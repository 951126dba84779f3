"""Who the fake says the bot is, and the object shapes Discord always sends for users.

Upstream: discord-api-docs developers/resources/user.mdx ("User Object"),
resources/application.mdx ("Application Object"); OpenAPI `UserResponse`,
`PrivateApplicationResponse`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import trio

APPLICATION_ID: Final = 1100000000000000001
BOT_USER_ID: Final = 1100000000000000002
#: Wall-clock instant that trio time 0 maps to in timestamps (fixed: records stay stable).
_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)


def user_json(user_id: int = BOT_USER_ID, *, username: str | None = None,
              bot: bool = True) -> dict[str, Any]:
    """A User Object with every field Discord always sends (ids as strings)."""
    name = username or ("familybot" if user_id == BOT_USER_ID else f"user{user_id % 1000}")
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": None,
            "avatar": None, "bot": bot, "public_flags": 0, "flags": 0, "banner": None,
            "accent_color": None, "avatar_decoration_data": None, "collectibles": None,
            "primary_guild": None}


BOT_USER: Final = user_json()


def application_json() -> dict[str, Any]:
    """The bot's Application Object (GET /oauth2/applications/@me)."""
    return {"id": str(APPLICATION_ID), "name": "familybot", "icon": None, "description": "",
            "type": None, "cover_image": None, "primary_sku_id": None, "bot": BOT_USER,
            "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
            "flags": 0, "summary": "", "owner": user_json(1100000000000000003, bot=False),
            "team": None, "redirect_uris": [], "rpc_origins": [], "tags": [],
            "integration_types_config": {"0": {}}, "approximate_guild_count": 1,
            "approximate_user_install_count": 0, "interactions_endpoint_url": None,
            "role_connections_verification_url": None, "install_params": None}


def epoch_seconds(trio_time: float) -> float:
    """Unix time (s) for a trio clock reading (now + its distance from trio's now), as in
    X-RateLimit-Reset. Call inside a trio run."""
    return time.time() + (trio_time - trio.current_time())


def iso_timestamp(trio_time: float) -> str:
    """An ISO 8601 timestamp for a trio clock reading (virtual time in tests)."""
    return (_EPOCH + timedelta(seconds=trio_time)).isoformat()
