"""Start-up against Discord's limits: GET /gateway/bot is waited for, never a reason to exit.

A bot restarted in a loop, or one whose IP Discord briefly blocks, gets a 429 on
GET /gateway/bot with a Retry-After that can be long (minutes to an hour), or a Cloudflare
HTML 429, or 5xx during an outage. Exiting would only make the service manager restart it
into the same wall (and systemd gives up after a few tries). Instead the bot waits it out,
saying until when. A refused token (401) still raises: only the operator can fix that.
(An exhausted `session_start_limit` is waited out by the shard before it identifies.)

Logger: familybot_trio.app.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Final

import trio

from gateway import Rest
from gateway.errors import CloudflareBanned, RateLimited, ServerError

log = logging.getLogger("familybot_trio.app")

#: Waits between tries after 5xx / connection failures (s): doubles up to the cap.
RETRY_FIRST_S: Final = 5.0
RETRY_MAX_S: Final = 300.0


async def wait_for_gateway_bot(rest: Rest, *, now: Callable[[], dt.datetime]) -> dict[str, Any]:
    """GET /gateway/bot, waiting out 429s, the Cloudflare pause and outages for as long as
    it takes.

    Args: rest: the bot's Rest client; now: aware-UTC clock (for "waiting until" log lines).
    Returns: the raw JSON (url, shards, session_start_limit).
    Raises: HTTPError for anything else (401 refused token, 403): the caller exits.
    Cancellation: safe at any point (nothing is half done).
    Upstream: GET /gateway/bot (topics/gateway.mdx "Get Gateway Bot"), topics/rate-limits.mdx.
    """
    delay_s = RETRY_FIRST_S
    while True:
        try:
            return await rest.get_gateway_bot()
        except RateLimited as exc:
            wait_s, why = exc.retry_after_s, f"rate limited ({exc.scope})"
        except CloudflareBanned:
            wait_s, why = max(rest.limiter.banned_for_s(), 1.0), "Cloudflare blocks this IP"
        except ServerError as exc:
            wait_s, why = delay_s, f"Discord is not answering ({exc.message})"
            delay_s = min(delay_s * 2, RETRY_MAX_S)
        until = now() + dt.timedelta(seconds=wait_s)
        log.warning("cannot start yet: GET /gateway/bot %s; waiting until %s UTC [wait_s:%.0f]",
                    why, f"{until:%Y-%m-%d %H:%M:%S}", wait_s)
        await trio.sleep(wait_s)
