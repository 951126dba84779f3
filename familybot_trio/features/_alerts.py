"""Personal alerts: what the `personal_alerts` job finds for each member, and how it is sent.

For every member who turned an alert on (`/notify`, store/alerts.py) and is linked to a
Discord account, the job looks at that member's own wishlist:
- deal: a wished game at least `discount_pct` % off, or (at_low) at or below its historical
  low (the low `_money.historical_low` picks: Steam's own, else any store's);
- library: a wished game that joined the family library after the member turned the alert
  on, and that someone else owns (they can play it now);
- free: a free game the bot announced after that, whose title is a wished game's name.

Each alert is one outbox row (kind `personal_alert`) to the member's DM channel, with a
dedupe key naming the member and the alert (`alert:deal:<SteamID64>:<appid>:<price>`,
`alert:library:<SteamID64>:<appid>`, `alert:free:<SteamID64>:<free-game key>`), so it is
queued once ever, survives restarts, and is retried like every announcement. In the
member's quiet hours the row is queued with `next_attempt_at` at the end of the quiet
hours: it waits, it is not dropped. A DM refused because the member's DMs are closed
(Discord 50007) drops the row, pauses the member's alerts and tells them once in the
channel (`on_refused`); they resume with the next `/notify`.

Logger: `familybot_trio.features.notify`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, utils

from familybot_trio.features import _common
from familybot_trio.features._money import Money, historical_low
from familybot_trio.store import AlertSettings, OutboxDraft, OutboxRow, SteamID64
from familybot_trio.store.outbox import insert_drafts
from familybot_trio.store.records import to_ts
from gateway import HTTPError
from gateway.messages import Embed, escape_text

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.notify")

KIND: Final = "personal_alert"
NOTICE_KIND: Final = "personal_alert_notice"
CANNOT_DM: Final = 50007  # "Cannot send messages to this user" (closed DMs)
MAX_PER_RUN: Final = 10  # per member; the rest waits for the next run (still unsent, not lost)
TITLE_MATCH: Final = 92.0  # rapidfuzz ratio (0-100) for a free game's title vs a wished name
COLOR: Final = 0x9B59B6


def quiet_until(settings: AlertSettings, now: dt.datetime) -> dt.datetime | None:
    """The UTC end of the member's quiet hours when `now` is inside them, else None."""
    if settings.quiet_start is None or settings.quiet_end is None:
        return None
    local = now.astimezone(ZoneInfo(settings.timezone))
    minute = local.hour * 60 + local.minute
    start, end = settings.quiet_start, settings.quiet_end
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    until = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if until <= local:
        until += dt.timedelta(days=1)
    return until.astimezone(dt.UTC)


def _alert(key: str, sid: SteamID64, channel: int, title: str, text: str, appid: int | None
           ) -> OutboxDraft:
    embed = Embed(title=title, description=text, color=COLOR,
                  url=_common.store_url(appid) if appid else None)
    return OutboxDraft(KIND, key, channel, {"embeds": [embed.to_dict()]})


async def member_alerts(app: App, st: AlertSettings, channel: int) -> list[OutboxDraft]:
    """The alerts due for one member now (not yet deduplicated against the outbox).

    Raises: StoreError; UpstreamError when prices must be fetched and fail.
    """
    sid = st.steamid
    wished = [w.appid for w in await app.store.wishlist.items(sid)]
    if not wished:
        return []
    library = {a.appid: a for a in await app.store.library.apps()}
    drafts: list[OutboxDraft] = []
    need = [a for a in wished if a not in library]
    details, prices = ({}, {})
    if need and (st.discount_pct is not None or st.at_low or st.on_free):
        details, prices = await app.catalog.details_and_prices(need, country=app.config.country)
    if st.on_library:
        lib_details = await app.catalog.details([a for a in wished if a in library],
                                                country=app.config.country)
        baseline = min((a.first_seen_at for a in library.values()), default=None)
        for appid in wished:
            lib = library.get(appid)
            if lib is None or sid in lib.owner_steamids or lib.first_seen_at == baseline or (
                    st.since is not None and lib.first_seen_at < st.since):
                continue  # not in it, their own, or known since the first snapshot or before
            name = lib_details[appid].name if appid in lib_details else f"App {appid}"
            drafts.append(_alert(f"alert:library:{sid}:{appid}", sid, channel,
                                 f"{escape_text(name)} is in the family library now",
                                 "A game on your wishlist joined the family library: you can "
                                 "play it through Family Sharing.", appid))
    money = Money.for_app(app)
    for appid in need:
        price = prices.get(appid)
        store = price.store if price else None
        if store is None or not store.is_discounted:
            continue
        low = historical_low(price)
        at_low = st.at_low and low is not None and store.final_cents <= low[0]
        enough = st.discount_pct is not None and store.discount_pct >= st.discount_pct
        if not (at_low or enough):
            continue
        name = details[appid].name if appid in details else f"App {appid}"
        why = "at its historical low" if at_low else f"{money.discount(store.discount_pct)}"
        drafts.append(_alert(f"alert:deal:{sid}:{appid}:{store.final_cents}", sid, channel,
                             f"{escape_text(name)}: {money.price(store)}",
                             f"A game on your wishlist is {why}.", appid))
    if st.on_free:
        names = {utils.default_process(d.name): (a, d.name) for a, d in details.items()}
        for key, title, url, posted_at in await app.store.state.posted_free_games(limit=50):
            if st.since and posted_at < st.since:
                continue
            norm = utils.default_process(title)
            hit = next((v for n, v in names.items() if fuzz.ratio(norm, n) >= TITLE_MATCH), None)
            if hit is None:
                continue
            drafts.append(_alert(f"alert:free:{sid}:{key}", sid, channel,
                                 f"Free now: {escape_text(title)}",
                                 f"{escape_text(hit[1])}, on your wishlist, is free to keep"
                                 " (see the free games channel).", hit[0]))
    return drafts[:MAX_PER_RUN]


async def dm_channel(app: App, st: AlertSettings, discord_id: int) -> int:
    """The member's DM channel id (opened once, then kept in their settings).

    Raises: HTTPError from Discord. Upstream: POST /users/@me/channels.
    """
    if st.dm_channel_id is not None:
        return st.dm_channel_id
    channel = int((await app.rest.create_dm(discord_id))["id"])
    await app.store.alerts.put(replace(st, dm_channel_id=channel), app.now())
    return channel


async def run_alerts(app: App) -> int:
    """Queue every member's due alerts. Returns: outbox rows inserted.

    Raises: StoreError. A member whose prices or DM channel fail is skipped this run.
    """
    members = {m.steamid: m for m in await app.store.members.all()}
    inserted = 0
    for st in await app.store.alerts.all():
        member = members.get(st.steamid)
        if not st.any_on or st.paused or member is None or member.discord_id is None:
            continue
        try:
            channel = await dm_channel(app, st, int(member.discord_id))
            drafts = await member_alerts(app, st, channel)
        except HTTPError as exc:
            log.warning("alerts skipped this run [steamid:%d cause:%s]", st.steamid, exc)
            continue
        if not drafts:
            continue
        now = app.now()
        hold = quiet_until(st, now)
        inserted += len(await app.store.run_write(
            lambda c, d=drafts, h=hold: insert_drafts(c, d, now, not_before=h),
            op="alerts.queue"))
    if inserted:
        app.wake_outbox()
    return inserted


async def on_refused(app: App, row: OutboxRow, exc: Exception) -> bool:
    """Outbox refusal hook for personal alerts: closed DMs pause the member's alerts.

    Returns: True when handled (the row is dropped and the admins need not hear of it).
    """
    if not isinstance(exc, HTTPError) or exc.code != CANNOT_DM:
        return False
    sid = SteamID64(int(row.dedupe_key.split(":")[2]))
    await app.store.outbox.drop([row.id], app.now())
    if await app.store.alerts.pause(sid):
        member = next((m for m in await app.store.members.all() if m.steamid == sid), None)
        channel = app.config.channels.deals or app.config.channels.new_games
        if member is not None and member.discord_id is not None and channel is not None:
            text = (f"<@{int(member.discord_id)}>, I could not send you your personal alerts: "
                    "your DMs are closed to me. They are paused; allow direct messages from "
                    "server members and run `/notify` again to resume them.")
            await app.announce([OutboxDraft(NOTICE_KIND, f"alert:dm_closed:{sid}:"
                                            f"{to_ts(app.now())}", channel, {"content": text})])
        log.info("personal alerts paused, DMs closed [steamid:%d]", sid)
    return True

