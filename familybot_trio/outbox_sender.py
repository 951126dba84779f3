"""The outbox sender: posts announcement rows exactly once, whatever Discord does.

One sender per App, and one flush at a time (a trio.Lock around each pass): the background
task and a caller of `App.flush_outbox()` never post the same row twice.

A pass reads the rows that are due (store.outbox.due), oldest first, and for each:

1. If the row was sent before (claimed_at) longer ago than Discord's nonce window, the
   earlier request may have reached the channel (the bot stopped, or the answer was lost):
   the sender looks for the message among the channel's recent messages (by nonce, else by
   content and embeds) and records its id instead of posting again.
2. `claim` (claimed_at = now), then `create_message` with the row's nonce and enforce_nonce,
   so a retry inside the window returns the first message.
3. `mark_sent` with the message id; then the pin, if the row asks for one. A refused pin
   leaves the post in place and tells the admins which permission to grant.

Failures are sorted by `_outbox_faults.classify`: a pause (Cloudflare) or a transient error
(429, 5xx, connection) ends the pass and the sender waits (capped exponential backoff with
jitter, at least Retry-After / the pause), then tries again, forever; a pause is not an
attempt. A permanent error marks that row failed with its reason and the pass goes on with
the next row. Failed rows come back every `FAILED_RETRY_EVERY` for `FAILED_RETRY_FOR`. The
admins are told once per cause (with the fix), and again when a post for that cause works.

Logger: familybot_trio.outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final

import tenacity
import trio

from familybot_trio._outbox_channels import channel_name, configured_channel, same_message
from familybot_trio._outbox_faults import Failure, classify
from familybot_trio.errors import StoreError
from familybot_trio.store import OutboxRow, Snowflake
from gateway import HTTPError

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.outbox")

#: How often the sender looks for due rows even when nobody woke it (s).
POLL_S: Final = 30.0
#: Backoff after transient failures: first wait, cap, jitter (s).
BACKOFF_FIRST_S: Final = 1.0
BACKOFF_MAX_S: Final = 300.0
BACKOFF_JITTER_S: Final = 1.0
#: Discord checks enforce_nonce "in the past few minutes"; after this long, look in the
#: channel before posting a row again (s). Conservative: shorter than Discord's window.
NONCE_WINDOW_S: Final = 120.0
#: How many recent channel messages the in-flight check reads (Discord's max per call).
LOOKUP_LIMIT: Final = 100
#: Refused rows (permission, unknown channel) are retried this often, for this long.
FAILED_RETRY_EVERY: Final = dt.timedelta(hours=1)
FAILED_RETRY_FOR: Final = dt.timedelta(days=7)
#: The admins hear of an outage once it has lasted this long (s); short blips stay in the log.
OUTAGE_NOTICE_S: Final = 300.0
#: Discord JSON error code: "Maximum number of pins reached for the channel (50)"
#: (discord-api-docs topics/opcodes-and-status-codes.mdx, JSON Error Codes 30003).
PIN_LIMIT_CODE: Final = 30003
#: A refused pin's causes, one per fix (Pin Messages, the pin limit, anything else): a new
#: reason on the same channel is told too; a pin that works ends them all.
_PIN_CAUSES: Final = ("pin", "pin_limit", "pin_refused")
#: Rows read per pass.
BATCH: Final = 50
#: Store state key: the causes the admins were told about and not yet told are over.
TOLD_KEY: Final = "outbox.told_causes"


class OutboxSender:
    """Posts due outbox rows for one App (see the module docstring).

    Args: app: the running App (store, rest, config, report_admin, now).
    Attributes: stats: counters for the console and the soak (posted, refused, transient,
        paused, found_in_channel); poll_s: seconds between passes nobody asked for (POLL_S).
    """

    def __init__(self, app: App) -> None:
        self._app = app
        self._lock = trio.Lock()
        self._wake = trio.Event()
        self.poll_s = POLL_S
        self._streak = 0  # consecutive passes that ended on a transient failure
        self._outage_since: float | None = None
        self._outage_reason = ""  # the last transient failure's reason, for the notice
        self._told: dict[str, str] = {}  # cause -> what the admins were told is wrong
        self._told_loaded = False  # _told is kept in store state: a restart tells no one twice
        self._backoff = tenacity.wait_exponential_jitter(
            initial=BACKOFF_FIRST_S, max=BACKOFF_MAX_S, jitter=BACKOFF_JITTER_S)
        self.stats = {"posted": 0, "refused": 0, "transient": 0, "paused": 0,
                      "found_in_channel": 0}

    def wake(self) -> None:
        """Ask the background sender for a pass now (non-blocking)."""
        self._wake.set()

    async def run(self) -> None:
        """Post rows until cancelled: a pass on every wake, every POLL_S, after each backoff.

        Never returns; never raises for Discord or store errors (logged, then retried).
        Cancellation: a post in flight may still reach Discord; its row stays claimed and
        the next start finds it in the channel (or its nonce dedupes it).
        """
        while True:
            wait_s = await self._pass_or_wait()
            if wait_s is not None:
                await trio.sleep(wait_s)
                continue
            with trio.move_on_after(self.poll_s):
                await self._wake.wait()
            self._wake = trio.Event()

    async def flush(self) -> int:
        """One pass over the due rows now (waits for a pass already running).

        Returns: rows posted (or found already posted) in this pass. A transient failure
        ends the pass early; those rows stay due. Raises: StoreError when the store fails.
        """
        posted, _ = await self._pass()
        return posted

    async def _pass_or_wait(self) -> float | None:
        try:
            _, failure = await self._pass()
        except StoreError as exc:
            log.warning("outbox sender could not use the store, retrying [cause:%s]", exc)
            failure = Failure("transient", "store", str(exc))
        if failure is None:
            return None
        self._streak += 1
        wait_s = self._backoff(SimpleNamespace(attempt_number=self._streak))
        return max(wait_s, failure.wait_s or 0.0)

    async def _pass(self) -> tuple[int, Failure | None]:
        app = self._app
        async with self._lock:
            now = app.now()
            rows = await app.store.outbox.due(now, retry_failed_since=now - FAILED_RETRY_FOR,
                                              limit=BATCH)
            posted = 0
            for row in rows:
                failure = await self._send(row)
                if failure is None:
                    posted += 1
                elif failure.kind != "permanent":
                    await self._transient(row, failure)
                    return posted, failure
            if rows or self._outage_since is not None:
                await self._recovered_outage()
            return posted, None

    async def _send(self, row: OutboxRow) -> Failure | None:
        """Post one row; returns None when it is sent, else the failure (already recorded
        for permanent ones). Raises: StoreError."""
        app = self._app
        payload = dict(row.payload)
        pin = bool(payload.pop("pin", False))
        paused_s = app.rest.limiter.banned_for_s()
        if paused_s > 0:  # no request would be sent: a pause, not an attempt
            return Failure("pause", "outage", f"REST calls paused for {paused_s:.0f} s after a "
                           "Cloudflare ban", paused_s)
        moved_from: int | None = None
        try:
            message_id = await self._already_posted(row, payload)
            target = self._configured_channel(row)
            if message_id is None and target is not None and row.claimed_at is not None:
                # A row that may have reached the old channel: the nonce cannot dedupe in
                # another channel, so look in the old one whatever the claim's age.
                message_id = await self._already_posted(row, payload, any_age=True)
            if message_id is None and target is not None:
                moved_from, row = int(row.channel_id), await self._move(row, target)
            if message_id is None:
                await app.store.outbox.claim(row.id, app.now())
                msg = await app.rest.create_message(row.channel_id, nonce=row.nonce, **payload)
                message_id = int(msg["id"])
        except StoreError:
            raise
        except Exception as exc:  # one row's failure never stops the sender (Cancelled passes)
            failure = self._classify(row, exc)
            if failure.kind == "permanent":
                hook = app.outbox_refusal_hooks.get(row.kind)
                if hook is not None and await hook(app, row, exc):
                    self.stats["refused"] += 1
                    return failure  # the feature dealt with it (dropped the row)
                await self._refused(row, failure, exc)
            return failure
        await app.store.outbox.mark_sent(row.id, message_id, app.now())
        self.stats["posted"] += 1
        log.info("announcement posted [kind:%s key:%s channel:%d message:%d]", row.kind,
                 row.dedupe_key, row.channel_id, message_id)
        await self._recovered(row.channel_id)
        if moved_from is not None:  # the old channel's causes end with the move
            await self._recovered(moved_from)
        if pin:
            await self.pin(row.channel_id, message_id)
        return None

    async def pin(self, channel_id: int, message_id: int) -> bool:
        """Pin a posted message; a refusal tells the admins once with its fix (Pin Messages,
        the channel's pin limit, else Discord's answer) and is logged; 429 / 5xx only log.

        Returns: True if pinned. Never raises for Discord errors.
        Upstream: PUT /channels/{channel.id}/messages/pins/{message.id}
        """
        try:
            await self._app.rest.pin_message(channel_id, message_id)
        except HTTPError as exc:
            where = self._where(channel_id)
            log.warning("message posted but not pinned [channel:%d cause:%s]", channel_id, exc)
            if exc.status == 403:
                await self._tell(f"pin:{channel_id}", f"I posted in {where} but could not pin "
                                 f"the message: give the bot the Pin Messages permission in "
                                 f"{where}. I will pin it on the next run.")
            elif exc.code == PIN_LIMIT_CODE:
                await self._tell(f"pin_limit:{channel_id}", f"I posted in {where} but could not "
                                 f"pin the message: {where} has Discord's maximum of pinned "
                                 f"messages (code {PIN_LIMIT_CODE}); unpin old ones there. I "
                                 "will pin it on the next run.")
            elif exc.status != 429 and exc.status < 500:  # an outage is retried silently
                await self._tell(f"pin_refused:{channel_id}", f"I posted in {where} but Discord "
                                 f"refused to pin the message (HTTP {exc.status}, code "
                                 f"{exc.code}: {exc.message}). I will try again on the next "
                                 "run.")
            return False
        for cause in _PIN_CAUSES:
            await self._recovered_cause(f"{cause}:{channel_id}")
        return True

    async def _already_posted(self, row: OutboxRow, payload: Mapping[str, Any], *,
                              any_age: bool = False) -> int | None:
        """The message id if an earlier, unanswered request for `row` reached the channel.

        Only for rows sent more than NONCE_WINDOW_S ago (inside it, the nonce dedupes), or
        any claimed row with any_age (a row about to move to another channel).
        Upstream: GET /channels/{channel.id}/messages?limit=100 (needs Read Message History;
        without it the row is posted again, and the log says so).
        """
        app = self._app
        if row.claimed_at is None or (not any_age and (
                app.now() - row.claimed_at).total_seconds() < NONCE_WINDOW_S):
            return None
        try:
            recent = await app.rest.get_messages(row.channel_id, limit=LOOKUP_LIMIT)
        except HTTPError as exc:
            if exc.status not in (403, 404):  # 404: the channel is gone, and the post with it
                raise
            log.warning("cannot read the channel to check an unanswered post; posting again"
                        " [key:%s channel:%d cause:%s]", row.dedupe_key, row.channel_id, exc)
            return None
        bot_id = str((app.ready.user if app.ready else {}).get("id", ""))
        for msg in recent:
            author = str((msg.get("author") or {}).get("id", bot_id))
            if author == bot_id and same_message(msg, row.nonce, payload):
                self.stats["found_in_channel"] += 1
                log.info("an unanswered post had reached the channel; recording it [key:%s "
                         "message:%s]", row.dedupe_key, msg["id"])
                return int(msg["id"])
        return None

    def _configured_channel(self, row: OutboxRow) -> int | None:
        """Where the row goes now if [channels] no longer names its channel (see
        _outbox_channels.configured_channel); None to keep it."""
        return configured_channel(self._app.config.channels, row.kind, int(row.channel_id))

    async def _move(self, row: OutboxRow, channel_id: int) -> OutboxRow:
        """Move the row to `channel_id`, in the store too; returns the moved row."""
        await self._app.store.outbox.move(row.id, Snowflake(channel_id))
        log.info("announcement moved to the channel the config names now [kind:%s key:%s "
                 "from:%d to:%d]", row.kind, row.dedupe_key, row.channel_id, channel_id)
        return dataclasses.replace(row, channel_id=Snowflake(channel_id))

    def _classify(self, row: OutboxRow, exc: Exception) -> Failure:
        if not isinstance(exc, HTTPError | ValueError):
            log.error("announcement failed with an unexpected error [kind:%s key:%s]", row.kind,
                      row.dedupe_key, exc_info=exc)
        return classify(exc, channel_id=row.channel_id, channel_name=self._channel_name(
            row.channel_id), row_kind=row.kind, paused_for_s=self._app.rest.limiter.banned_for_s())

    async def _transient(self, row: OutboxRow, failure: Failure) -> None:
        self.stats["paused" if failure.kind == "pause" else "transient"] += 1
        await self._app.store.outbox.mark_failed(row.id, failure.reason, counted=failure.counted)
        log.warning("announcement not posted yet, will retry [kind:%s key:%s cause:%s]",
                    row.kind, row.dedupe_key, failure.reason)
        now = trio.current_time()
        self._outage_reason = failure.reason
        if self._outage_since is None:
            self._outage_since = now
        elif now - self._outage_since >= OUTAGE_NOTICE_S:
            await self._tell("outage", f"Announcements are waiting: {failure.reason}. They are "
                             "kept and will be posted when Discord answers again.")

    async def _refused(self, row: OutboxRow, failure: Failure, exc: Exception) -> None:
        self.stats["refused"] += 1
        now = self._app.now()
        await self._app.store.outbox.mark_refused(row.id, failure.reason, now,
                                                  now + FAILED_RETRY_EVERY)
        log.error("announcement refused, retrying hourly [kind:%s key:%s cause:%s]", row.kind,
                  row.dedupe_key, failure.reason)
        await self._tell(failure.cause, f"An announcement could not be posted: {failure.reason}."
                         f" I will retry it every hour for {FAILED_RETRY_FOR.days} days; "
                         "`/admin_outbox` lists it.")

    async def _recovered(self, channel_id: int) -> None:
        # An invalid row says nothing about the next row of its kind: that cause is told once
        # per run of the bot, and never "recovers" by another row's success.
        for cause in (f"forbidden:{channel_id}", f"gone:{channel_id}"):
            await self._recovered_cause(cause)

    async def _recovered_outage(self) -> None:
        since, self._outage_since, self._streak = self._outage_since, None, 0
        await self._load_told()
        held_s = 0.0 if since is None else trio.current_time() - since
        if "outage" not in self._told and held_s >= OUTAGE_NOTICE_S:
            # An outage over OUTAGE_NOTICE_S that nobody heard of while it lasted: the pause
            # after a Cloudflare ban (no request goes out, the notice included) or an outage
            # that also refused the notice. Told once now, after the fact.
            log.info("outbox outage over, telling the admins [held_s:%.0f]", held_s)
            await self._notify(
                f"Announcements were held for {held_s / 60:.0f} min ({self._outage_reason}); "
                "none were lost, and they are being posted now.")
            return
        await self._recovered_cause("outage")

    async def _recovered_cause(self, cause: str) -> None:
        """Tell the admins a cause they were told about is over; until that notice gets
        through, the cause stays told and the next success tries the notice again."""
        await self._load_told()
        if cause not in self._told:
            return
        if await self._notify(f"Announcements work again ({_label(cause, self)})."):
            self._told.pop(cause, None)
            await self._save_told()
            log.info("outbox cause recovered [cause:%s]", cause)
        else:
            log.info("outbox cause recovered; the notice did not get through, trying it "
                     "again at the next success [cause:%s]", cause)

    async def _tell(self, cause: str, text: str) -> None:
        """Tell the admins once per cause, across restarts (a report that did not get
        through is tried again at the next failure of that cause)."""
        await self._load_told()
        if cause not in self._told and await self._notify(text):
            self._told[cause] = text
            await self._save_told()

    async def _notify(self, text: str) -> bool:
        """Send an admin notice; True once any destination settled (received it or refused
        it for good). One admin's DM failing for a while must not make the others get the
        same notice at every post (kept-aside reports, which resend to the pending ones
        only, keep their own state: familybot_trio/kept_aside.py)."""
        return bool((await self._app.report_admin_to(text)).settled)

    async def _load_told(self) -> None:
        if not self._told_loaded:
            saved = await self._app.store.state.get(TOLD_KEY, {})
            # An invalid row's cause is told once per run of the bot (see _recovered): a new
            # run may hit a new bug of the same kind, so those are not carried over.
            self._told = {str(k): str(v) for k, v in (saved or {}).items()
                          if not str(k).startswith("invalid:")}
            self._told_loaded = True

    async def _save_told(self) -> None:
        await self._app.store.state.set(TOLD_KEY, self._told or None, self._app.now())

    def _channel_name(self, channel_id: int) -> str:
        return channel_name(self._app.config.channels, channel_id)

    def _where(self, channel_id: int) -> str:
        name = self._channel_name(channel_id)
        return f"#{name}" if name else f"channel {channel_id}"


def _label(cause: str, sender: OutboxSender) -> str:
    kind, _, arg = cause.partition(":")
    if kind in ("forbidden", "gone", *_PIN_CAUSES) and arg.isdigit():
        return f"{'pin' if kind in _PIN_CAUSES else kind} in {sender._where(int(arg))}"
    return cause.replace(":", " ")
