"""Shared upstream plumbing: rate buckets, retries, error mapping, secret-free URLs.

Three separate guards wrap every upstream request, outermost first:

1. **Rate** - a token bucket per upstream (`bucket(name)`), sized from the upstream's
   documented limit (table `RATES`). Taking a token that is not there waits with
   `trio.sleep` (so the autojump clock can test it) and never blocks the loop.
2. **Concurrency** - the named `blocking.limiter(name)`: how many requests are in flight.
3. **Retry** - `call_with_retry` runs one attempt at a time with tenacity (sleep=trio.sleep):
   429, 5xx, timeouts and connection errors are retried with exponential backoff and jitter;
   a 429 waits at least its `Retry-After` (or the upstream's measured recovery time when it
   sends none, like the storefront). 401/403/404 and malformed bodies are final at once.
   After the last attempt the caller gets a familybot_trio.errors error (RateLimited with
   retry_after_s, UpstreamError), never an httpx / requests exception.

Errors and logs never contain a key or token: `safe_url` strips query values of secret
parameters (`key`, `access_token`) and messages never include an exception's text from
httpx/requests (requests' HTTPError text contains the full URL with `key=`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final, TypeVar

import httpx
import tenacity
import trio

from familybot_trio.errors import NotFound, RateLimited, Unauthorized, UpstreamError
from familybot_trio.upstream import _stats
from familybot_trio.upstream._rate import RATES, Rate, TokenBucket, bucket
from familybot_trio.upstream._redact import (
    SECRET_PARAMS,
    RedactQuerySecrets,
    install_urllib3_redaction,
    redact,
    safe_url,
)

T = TypeVar("T")
log = logging.getLogger("familybot_trio.upstream.http")

__all__ = [  # the rate and redaction helpers are re-exported for the clients
    "RATES", "SECRET_PARAMS", "Rate", "RedactQuerySecrets", "RetryPolicy", "TokenBucket",
    "Transient", "bucket", "call_with_retry", "error_for_status", "install_urllib3_redaction",
    "malformed", "parse_retry_after", "redact", "request_json", "safe_url", "side_by_side",
]

# --------------------------------------------------------------------------- retry


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How an upstream is retried.

    attempts: total tries (>= 1). base_s / max_backoff_s: exponential backoff base and cap.
    jitter_s: random extra up to this. no_retry_after_s: wait after a 429 without
    Retry-After. max_retry_after_s: a longer Retry-After is not waited for; RateLimited
    is raised at once with that value. timeout_s: per-attempt timeout.
    """

    attempts: int = 3
    base_s: float = 1.0
    max_backoff_s: float = 30.0
    jitter_s: float = 1.0
    no_retry_after_s: float = 5.0
    max_retry_after_s: float = 120.0
    timeout_s: float = 20.0


class Transient(Exception):
    """Internal: an attempt failed in a way worth retrying; `.error` is what callers see."""

    def __init__(self, error: UpstreamError, retry_after_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


class _Wait(tenacity.wait.wait_base):
    """Exponential backoff with jitter, but never less than the upstream's Retry-After."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = tenacity.wait_exponential_jitter(
            multiplier=policy.base_s, max=policy.max_backoff_s, jitter=policy.jitter_s
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        backoff = self._backoff(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, Transient) and exc.retry_after_s is not None:
            return max(exc.retry_after_s, 0.0)
        return backoff


async def call_with_retry(
    upstream: str, policy: RetryPolicy, attempt: Callable[[], Awaitable[T]], *, what: str
) -> T:
    """Run `attempt()` until it succeeds, is final, or the policy's attempts are spent.

    Each attempt first takes a token from `bucket(upstream)`, then runs under
    `trio.fail_after(policy.timeout_s)`. `attempt` raises `Transient(error)` for retryable
    failures and a final UpstreamError otherwise.

    Args: upstream: RATES / blocking.LIMITS key; what: secret-free description for logs.
    Returns: attempt's value.
    Raises: the last Transient's UpstreamError (RateLimited after 429s), or the final error.
    Cancellation: cancels the current attempt or backoff sleep; nothing is left running.
    """

    waited = {"rate limit": 0.0, "retry backoff": 0.0}
    started = trio.current_time()

    async def one() -> T:
        t0 = trio.current_time()
        await bucket(upstream).take()
        waited["rate limit"] += trio.current_time() - t0
        t1 = trio.current_time()
        try:
            with trio.fail_after(policy.timeout_s):
                result = await attempt()
        except Exception as exc:
            failed = exc.error if isinstance(exc, Transient) else exc
            _stats.record(upstream, "rate_limited" if isinstance(failed, RateLimited) else
                          "error", trio.current_time() - t1, str(failed)[:200])
            if not isinstance(exc, trio.TooSlowError):
                raise
            raise Transient(
                UpstreamError(
                    f"{upstream} did not answer {what} within {policy.timeout_s:.0f} s; "
                    "it may be down, try again later",
                    upstream=upstream,
                )
            ) from exc
        _stats.record(upstream, "ok", trio.current_time() - t1)
        return result

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        waited["retry backoff"] += state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s failed, retrying [upstream:%s attempt:%d wait_s:%.1f cause:%s]",
            what, upstream, state.attempt_number,
            state.next_action.sleep if state.next_action else 0.0, exc,
        )

    def too_long(state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        return (
            isinstance(exc, Transient)
            and exc.retry_after_s is not None
            and exc.retry_after_s > policy.max_retry_after_s
        )

    retrying = tenacity.AsyncRetrying(
        sleep=trio.sleep,
        stop=tenacity.stop_after_attempt(policy.attempts) | too_long,
        wait=_Wait(policy),
        retry=tenacity.retry_if_exception_type(Transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    ok = False
    try:
        result = await retrying(one)
        ok = True
        return result
    except Transient as exc:
        raise exc.error from exc.__cause__
    finally:
        _log_duration(upstream, what, trio.current_time() - started, waited, ok)


def _log_duration(upstream: str, what: str, total_s: float, waited: dict[str, float],
                  ok: bool) -> None:
    """Every upstream call logs its duration; over SLOW_CALL_S at WARNING, naming the wait."""
    own_s = max(0.0, total_s - sum(waited.values()))
    parts = {**waited, "upstream": own_s}
    if total_s > SLOW_CALL_S:
        cause = max(parts, key=parts.__getitem__)
        log.warning("%s took %.1f s, mostly waiting for %s [upstream:%s ok:%s rate_limit_s:%.1f "
                    "backoff_s:%.1f upstream_s:%.1f]", what, total_s, cause, upstream, ok,
                    waited["rate limit"], waited["retry backoff"], own_s)
    else:
        log.debug("%s done [upstream:%s ok:%s ms:%.0f]", what, upstream, ok, total_s * 1000)


# --------------------------------------------------------------------------- errors, URLs


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After header (delta seconds or HTTP date) -> seconds >= 0, or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        from datetime import UTC, datetime

        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def error_for_status(
    upstream: str,
    status: int,
    retry_after: str | None,
    *,
    what: str,
    policy: RetryPolicy,
    auth_hint: str = "check the configured key",
) -> UpstreamError | Transient | None:
    """Map an HTTP status to the error to raise (Transient = retry), or None for 2xx.

    Args: upstream: short name; status: HTTP status; retry_after: the raw header or None;
        what: secret-free description ("appdetails 892970"); auth_hint: how to fix a 401/403.
    """
    if 200 <= status < 300:
        return None
    if status == 429:
        wait_s = parse_retry_after(retry_after)
        if wait_s is None:
            wait_s = policy.no_retry_after_s
        return Transient(RateLimited(upstream, wait_s), retry_after_s=wait_s)
    if status in (401, 403):
        return Unauthorized(
            f"{upstream} refused {what} (HTTP {status}): {auth_hint}",
            upstream=upstream,
            status=status,
        )
    if status == 404:
        return NotFound(f"{upstream} has no {what} (HTTP 404)", upstream=upstream, status=404)
    error = UpstreamError(
        f"{upstream} answered HTTP {status} to {what}; try again later",
        upstream=upstream,
        status=status,
    )
    return Transient(error) if status >= 500 or status == 408 else error


def malformed(upstream: str, what: str, detail: str, status: int | None = 200) -> UpstreamError:
    """The error for a body we cannot use: says what was wrong, never echoes the body."""
    return UpstreamError(
        f"{upstream} sent an unusable answer to {what} ({detail}); "
        "the API may have changed, retry later or report it",
        upstream=upstream,
        status=status,
    )


async def request_json(
    client: httpx.AsyncClient,
    upstream: str,
    method: str,
    url: str,
    *,
    what: str,
    policy: RetryPolicy,
    params: Mapping[str, str | int] | None = None,
    json_body: object = None,
    headers: Mapping[str, str] | None = None,
    auth_hint: str = "check the configured key",
    ok_statuses: frozenset[int] = frozenset(),
) -> tuple[int, object]:
    """One upstream JSON request with rate bucket, limiter, retries and error mapping.

    Args: client: the shared httpx.AsyncClient; upstream: RATES/LIMITS key; url: absolute;
        ok_statuses: non-2xx statuses returned to the caller instead of raised.
    Returns: (status, decoded JSON) - JSON `null` decodes to None.
    Raises: RateLimited, Unauthorized, NotFound, UpstreamError (bad status, non-JSON body,
        connection failure, timeout) after the policy's retries.
    Cancellation: safe; the request in flight is abandoned.
    """
    from familybot_trio import blocking

    async def attempt() -> tuple[int, object]:
        async with blocking.limiter(upstream):
            try:
                resp = await client.request(
                    method, url, params=params, json=json_body, headers=headers
                )
            except httpx.TimeoutException as exc:
                raise Transient(
                    UpstreamError(f"{upstream} timed out on {what}", upstream=upstream)
                ) from exc
            except httpx.TransportError as exc:
                raise Transient(
                    UpstreamError(
                        f"cannot reach {upstream} for {what} ({type(exc).__name__}); "
                        "check the network or the configured base URL",
                        upstream=upstream,
                    )
                ) from exc
            except httpx.HTTPError as exc:  # decoding errors, redirect loops
                raise UpstreamError(
                    f"{upstream} answered {what} with an unreadable response "
                    f"({type(exc).__name__}); try again later", upstream=upstream,
                ) from exc
        log.debug("%s %s -> %d", method, safe_url(resp.url), resp.status_code)
        if resp.status_code not in ok_statuses:
            err = error_for_status(
                upstream, resp.status_code, resp.headers.get("retry-after"),
                what=what, policy=policy, auth_hint=auth_hint,
            )
            if err is not None:
                raise err
        try:
            if len(resp.content) > BIG_BODY_BYTES:  # decoding it would hold the loop
                return resp.status_code, await blocking.run_sync("cpu", json.loads, resp.content)
            return resp.status_code, resp.json()
        except ValueError as exc:
            ctype = resp.headers.get("content-type", "?")
            raise malformed(upstream, what, f"not JSON, content-type {ctype}",
                            resp.status_code) from exc

    return await call_with_retry(upstream, policy, attempt, what=what)


#: An upstream call slower than this (retries and rate-limit waits included) logs a WARNING.
SLOW_CALL_S: Final = 1.0
#: Bodies bigger than this are decoded in a worker thread ("cpu" limiter), not on the loop.
BIG_BODY_BYTES: Final = 64 * 1024


async def side_by_side(*fns: Callable[[], Awaitable[object]]) -> None:
    """Run independent upstream calls concurrently; fail like a single call would.

    This is the one documented place where upstream code unwraps an ExceptionGroup: when
    every failure is an ordinary Exception, the first UpstreamError (or the first error) is
    raised alone and the rest are logged, so callers write `except UpstreamError`.
    Cancellation: cancels the siblings; a group holding Cancelled is re-raised unchanged.
    """
    try:
        async with trio.open_nursery() as nursery:
            for fn in fns:
                nursery.start_soon(fn)
    except BaseExceptionGroup as group:
        leaves: list[BaseException] = []

        def walk(eg: BaseExceptionGroup) -> None:
            for e in eg.exceptions:
                walk(e) if isinstance(e, BaseExceptionGroup) else leaves.append(e)

        walk(group)
        if not leaves or not all(isinstance(e, Exception) for e in leaves):
            raise
        first = next((e for e in leaves if isinstance(e, UpstreamError)), leaves[0])
        for other in leaves:
            if other is not first:
                log.warning("sibling upstream call also failed [cause:%s]", other)
        raise first from group
