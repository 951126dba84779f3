"""What a failed announcement post means: retry it, wait out a pause, or give up on the row.

Discord's failures fall in three groups, and the outbox sender treats each differently:

* **pause** - the REST client is in its pause after a Cloudflare ban: no request was sent,
  so it is not an attempt; the sender sleeps until the pause ends.
* **transient** - 429 (route, shared or global), 5xx, timeouts and connection errors (the
  REST client raises ServerError after its own retries), 401 (a token being rotated): the
  row is fine, Discord is not. Retried with capped exponential backoff and jitter, forever.
* **permanent** for that row - 400 (50035 invalid form body, 50006 empty message), 403
  (50001 missing access, 50013 missing permissions), 404 (10003 unknown channel), and any
  error the bot raises before sending (ValueError from the message limits, a payload that
  does not fit `Rest.create_message`). The row is marked failed with the reason and the fix;
  other rows go on. The cause may be fixed later (a permission granted), so failed rows are
  retried hourly for a week.

Each failure carries a `cause` key: the admins hear once per cause, with the fix, and again
when a post for that cause goes through (see outbox_sender).
Upstream: discord-api-docs topics/opcodes-and-status-codes.mdx (JSON error codes),
topics/rate-limits.mdx, topics/permissions.mdx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from gateway import HTTPError
from gateway.errors import CloudflareBanned, RateLimited, ServerError

#: Discord JSON error codes the sender names in its fixes.
MISSING_ACCESS: Final = 50001
MISSING_PERMISSIONS: Final = 50013
UNKNOWN_CHANNEL: Final = 10003
INVALID_FORM_BODY: Final = 50035


@dataclass(frozen=True, slots=True)
class Failure:
    """One classified failure.

    Attributes: kind: "pause" | "transient" | "permanent"; cause: key for the admin notices
        ("outage", "forbidden:<channel id>", "gone:<channel id>", "invalid:<row kind>");
        reason: what happened and how to fix it (no secret; stored as the row's last_error);
        wait_s: the least time to wait before the next try (Retry-After, the pause), or None.
    """

    kind: Literal["pause", "transient", "permanent"]
    cause: str
    reason: str
    wait_s: float | None = None

    @property
    def counted(self) -> bool:
        """False when no request was sent (a pause is not an attempt)."""
        return self.kind != "pause"


def classify(exc: Exception, *, channel_id: int, channel_name: str, row_kind: str,
             paused_for_s: float = 0.0) -> Failure:
    """Sort one failed post into pause / transient / permanent.

    Args: exc: what create_message (or building its call) raised; channel_id; channel_name:
        the config key of the channel ("deals"), or "" when the channel is not in [channels];
        row_kind: the outbox row's kind ("new_game"); paused_for_s: the REST client's
        remaining Cloudflare pause (`Rest.limiter.banned_for_s()`).
    Returns: a Failure. Never raises.
    """
    where = f"#{channel_name}" if channel_name else f"channel {channel_id}"
    setting = f"[channels] {channel_name}" if channel_name else "the channel in config.toml"
    if isinstance(exc, CloudflareBanned):
        return Failure("transient", "outage", f"Cloudflare blocks the bot's REST calls ({exc})",
                       max(paused_for_s, 1.0))
    if isinstance(exc, RateLimited):
        return Failure("transient", "outage", str(exc), exc.retry_after_s)
    if isinstance(exc, ServerError):
        return Failure("transient", "outage", f"Discord is not answering: {exc}")
    if isinstance(exc, HTTPError):
        if exc.status == 401:
            return Failure("transient", "outage", f"Discord refused the bot token: {exc}; "
                           "check FAMILYBOT_DISCORD_TOKEN")
        if exc.status == 403:
            return Failure("permanent", f"forbidden:{channel_id}",
                           f"Discord refused the post in {where} (code {exc.code}: {exc.message}):"
                           f" give the bot View Channel, Send Messages and Embed Links in {where}")
        if exc.status == 404:
            return Failure("permanent", f"gone:{channel_id}",
                           f"{where} no longer exists: set {setting} to a channel the bot "
                           f"can see (code {exc.code})")
        if exc.status == 429 or exc.status >= 500:
            return Failure("transient", "outage", str(exc))
        return Failure("permanent", f"invalid:{row_kind}",
                       f"Discord refused a {row_kind} message as invalid (HTTP {exc.status}, code "
                       f"{exc.code}: {exc.message}); this is a bug in the bot: please report it")
    return Failure("permanent", f"invalid:{row_kind}",
                   f"the bot could not send a {row_kind} message ({type(exc).__name__}: "
                   f"{str(exc)[:200]}); this is a bug in the bot: please report it")
