"""Which REST calls may be retried, and how: one `RetryPolicy` per kind of route.

A retry is safe only when doing the call twice cannot do the thing twice. So:
- reads, edits, PUTs, deletes and a create_message carrying a nonce with enforce_nonce
  (Discord returns the first message for a repeat) retry 5xx and every transport failure;
- a create_message without a nonce and a follow-up message are not idempotent: a 5xx or a
  read timeout may come after Discord saved the message, so only failures where the request
  never left (connect errors, pool timeouts) are retried;
- an interaction callback must reach Discord within 3 s of the interaction and must not be
  sent twice (a second initial response is 40060): it gets a short timeout per attempt,
  and only a connect failure is retried, while the deadline still allows it.

Upstream: discord-api-docs interactions/receiving-and-responding.mdx ("Responding to an
Interaction": 3 s), resources/message.mdx (Create Message: nonce / enforce_nonce).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import httpx

#: Transport failures where the request was never sent: always safe to retry.
NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one kind of route is retried.

    Attributes: attempts: tries in total; retry_5xx: retry 5xx answers; retry_unsent_only:
        retry only NOT_SENT transport failures (else any httpx.TransportError);
        timeout_s: httpx timeout per attempt (None = the client's own).
    """

    attempts: int = 4
    retry_5xx: bool = True
    retry_unsent_only: bool = False
    timeout_s: float | None = None

    def retries(self, exc: httpx.TransportError | None, status: int) -> bool:
        """Whether this failure (a transport error, or else an HTTP status) may be retried."""
        if exc is not None:
            return not self.retry_unsent_only or isinstance(exc, NOT_SENT)
        return self.retry_5xx and status >= 500


#: Idempotent calls: GET, PUT, PATCH, DELETE, create with nonce + enforce_nonce.
IDEMPOTENT: Final = RetryPolicy()
#: create_message without a nonce, follow-up messages: never risk a second copy.
NOT_IDEMPOTENT: Final = RetryPolicy(retry_5xx=False, retry_unsent_only=True)
#: Interaction callbacks: 3 s from the interaction; 1.5 s per attempt leaves room for the
#: gateway's delivery delay and one reconnect; never resent once it may have arrived.
INTERACTION_TIMEOUT_S: Final = 1.5
INTERACTION_CALLBACK: Final = RetryPolicy(attempts=2, retry_5xx=False, retry_unsent_only=True,
                                          timeout_s=INTERACTION_TIMEOUT_S)
