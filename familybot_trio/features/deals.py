"""Deals on the family's wishlists: a scheduled alert per sale, and `/deals [member]` on demand.

Scope (decided): every game on ANY member's wishlist, not only the common ones. A deal is
interesting to the one member who wants it, and the common list is a subset anyway. Games
the family library already has are skipped (nobody needs to buy them).

A deal is a discounted Steam price for which a row of `_deal_rules.RULES` holds (at or
below a historical low, within `thresholds.historical_low_buffer` x the low, or at least
`thresholds.deal_min_discount_pct` percent off); that row writes the headline ("Lowest
price ever", "Near its historical low", "-75%"). A full-price game is never a deal.

Sales and announcements: state kv DEALS_SALES_KEY holds, per appid, the number of the
current (or last) sale, whether it is active and whether it was alerted. A discount seen
after a run without one starts sale n+1. Each deal is queued in the outbox under
"deal:{appid}:{sale_no}" (unique forever), so one sale is announced once however many runs
see it, and a new sale after the old one ended is announced again. The outbox rows are
written before the state, and the sale numbers are recomputed identically after a crash in
between, so the dedupe key makes the retry a no-op. Records are never pruned: a restarted
counter would reuse a key the outbox already holds and silence the next sale.

Freshness: prices come from the catalog, which caches them for PRICE_TTL_S (6 h; the tests
check it is <= _common.STALE_PRICE_S), so an alert or a /deals line never rests on a price
older than that and `_common.age_note` would always be empty; /deals says so in its footer.
Without a deals channel (channels.deals unset) the job logs once and does nothing.
Money is formatted by `features/_money.py` (Babel, the family's locale).

Logger: `familybot_trio.features.deals`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

import trio

from familybot_trio.errors import UpstreamError
from familybot_trio.features import _common, _deal_rules
from familybot_trio.features._money import Money
from familybot_trio.store import MemberRecord, OutboxDraft, Snowflake, SteamID64
from familybot_trio.upstream.catalog import PRICE_TTL_S
from familybot_trio.upstream.models import AppId, GameDetails, GamePrice
from gateway.commands import ArgumentError, CommandContext, string
from gateway.messages import NO_MENTIONS, Embed, escape_text, pack_embeds, split_lines

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.deals")

#: state kv key: {str(appid): {"no": sale number, "active": bool, "alerted": bool}}.
DEALS_SALES_KEY: Final = "deals.sales"
#: More new deals than this in one run (the first run on a family full of sales, a big
#: seasonal sale) are posted as one digest, split at Discord's limits, not one alert each.
DIGEST_OVER: Final = 3
#: /deals shows at most this many embeds (of DESCRIPTION_CHARS each); the rest are counted.
MAX_REPLY_EMBEDS: Final = 4
DESCRIPTION_CHARS: Final = 4000
#: First run after start-up: after the wishlist job's (90 s), so its wishlists are fresh.
FIRST_RUN_DELAY_S: Final = 150.0
EMBED_COLOR: Final = 0xA4D007  # Steam's sale green


@dataclass(frozen=True, slots=True)
class Deal:
    """One current deal.

    Attributes: appid; name; price (the GamePrice, store set); low_cents (the historical low
    the headline is based on, shown, or None); reason (the `_deal_rules.RULES` key that named
    it); rank (that row's index: lower is better); headline ("Lowest price ever", "-75%",
    ...); wanted_by; low_steam_only (low_cents is Steam's own low, not the all-store one).
    """

    appid: AppId
    name: str
    price: GamePrice
    low_cents: int | None
    reason: str
    rank: int
    headline: str
    wanted_by: tuple[SteamID64, ...]
    low_steam_only: bool = True

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """Best first: by rule row, then deeper discounts, then more wanting members."""
        store = self.price.store
        assert store is not None
        return (self.rank, -store.discount_pct, -len(self.wanted_by))


def find_deals(app: App, wanted: Mapping[AppId, tuple[SteamID64, ...]],
               details: Mapping[AppId, GameDetails], prices: Mapping[AppId, GamePrice]
               ) -> list[Deal]:
    """Deals among `wanted` by the configured thresholds (`_deal_rules`), best first."""
    th = app.config.thresholds
    money = Money.for_app(app)
    out = []
    for appid, who in wanted.items():
        d, p = details.get(appid), prices.get(appid)
        verdict = _deal_rules.judge(p, min_discount_pct=th.deal_min_discount_pct,
                                    low_buffer=th.historical_low_buffer)
        if d is None or p is None or verdict is None:
            continue
        rank, rule, facts = verdict
        low, steam_only = rule.basis(facts) or (None, True)
        out.append(Deal(appid, d.name, p, low, rule.key, rank, rule.headline(facts, money), who,
                        steam_only))
    return sorted(out, key=lambda x: (x.sort_key, x.appid))


# ---------------------------------------------------------------------- formatting


def deal_text(app: App, deal: Deal) -> str:
    """"**$9.99** (-75%, was $39.99) · Steam's low $9.99" in the family's currency (`_money`);
    the low is the one the headline is based on ("Lowest price ever": lowest anywhere)."""
    money = Money.for_app(app)
    store = deal.price.store
    assert store is not None
    if store.currency is None and deal.price.currency:
        store = replace(store, currency=deal.price.currency)
    text = money.price(store, bold=True)
    if deal.low_cents is not None:
        text += " · " + money.low(deal.low_cents, deal.price.currency,
                                  steam_only=deal.low_steam_only)
    return text


def deal_embed(app: App, deal: Deal, names: Mapping[int, str], footer: str | None = None
               ) -> Embed:
    """The announcement of one deal (title links to the store, capsule as thumbnail)."""
    who = _common.join_names(names.get(int(s), str(s)) for s in deal.wanted_by)
    return Embed(title=f"{deal.headline}: {escape_text(deal.name)}", url=_common.store_url(deal.appid),
                 description=f"{deal_text(app, deal)}\nOn the wishlist of {who}",
                 color=EMBED_COLOR, thumbnail_url=_common.capsule_url(deal.appid),
                 footer=footer)


def deal_line(app: App, deal: Deal, names: Mapping[int, str]) -> str:
    """One /deals line: link, price text, wanting members."""
    who = _common.join_names(names.get(int(s), str(s)) for s in deal.wanted_by)
    return (f"{deal.headline}: [{escape_text(deal.name)}](<{_common.store_url(deal.appid)}>)"
            f" · {deal_text(app, deal)} · {who}")


def digest_drafts(app: App, fresh: Sequence[tuple[Deal, int]], names: Mapping[int, str],
                  channel: Snowflake) -> list[OutboxDraft]:
    """Many new deals as one digest: every deal a line, best first, in as many embeds
    (<= DESCRIPTION_CHARS each) and messages (<= 10 embeds, 6,000 characters) as needed.

    Each message is one outbox row keyed by the set of (appid, sale) it covers, so a retry
    after a crash queues nothing twice. Returns: the drafts, in reading order.
    """
    deals = sorted(fresh, key=lambda f: (f[0].sort_key, f[0].appid))
    ident = hashlib.sha256(",".join(f"{d.appid}:{n}" for d, n in sorted(
        fresh, key=lambda f: f[0].appid)).encode()).hexdigest()[:16]
    title = f"{len(deals)} new deals on the family's wishlists"
    chunks = split_lines([deal_line(app, d, names) for d, _ in deals], DESCRIPTION_CHARS)
    embeds = [Embed(title=title if i == 0 else f"{title} ({i + 1}/{len(chunks)})",
                    description=c, color=EMBED_COLOR) for i, c in enumerate(chunks)]
    return [OutboxDraft("deal", f"deals:digest:{ident}:{part}", channel,
                        {"embeds": group, "allowed_mentions": NO_MENTIONS})
            for part, group in enumerate(pack_embeds(embeds))]


# ---------------------------------------------------------------------- data gathering


async def wished_games(app: App, members: Sequence[MemberRecord]
                       ) -> dict[AppId, tuple[SteamID64, ...]]:
    """appid -> members wishing it, from the stored wishlists; stale ones refreshed first.

    A wishlist older than the wishlist job's interval (or never fetched) is fetched now,
    side by side, so the deals job works without the wishlist feature and never reads
    wishlists older than one wishlist period. Raises: StoreError.
    """
    max_age_s = app.config.schedules.wishlist_s
    now = app.now()
    stale = []
    for m in members:
        last = await app.store.wishlist.last_fetched_at(m.steamid)
        if last is None or (now - last).total_seconds() > max_age_s:
            stale.append(m)
    async with trio.open_nursery() as nursery:
        for m in stale:
            nursery.start_soon(_common.refresh_member_wishlist, app, m)
    wanted: dict[AppId, list[SteamID64]] = {}
    for m in members:
        for item in await app.store.wishlist.items(m.steamid):
            wanted.setdefault(AppId(int(item.appid)), []).append(m.steamid)
    return {a: tuple(sorted(s)) for a, s in wanted.items()}


async def current_deals(app: App, members: Sequence[MemberRecord]
                        ) -> tuple[list[Deal], dict[AppId, GamePrice]]:
    """Deals on the wishlists of `members`, and every checked price (for the sale state).

    Raises: UpstreamError (catalog or library unavailable), StoreError.
    Upstream: GetWishlist, GetSharedLibraryApps, GetItems + ITAD prices (catalog, cached).
    """
    wanted = await wished_games(app, members)
    library = await _common.family_library(app)
    wanted = {a: w for a, w in wanted.items() if a not in library}
    details, prices = await _common.catalog_chunked(app, list(wanted))
    return find_deals(app, wanted, details, prices), prices


# ---------------------------------------------------------------------- the job


def advance_sales(sales: dict[str, dict[str, Any]], prices: Mapping[AppId, GamePrice],
                  deals: Iterable[Deal]) -> list[tuple[Deal, int]]:
    """Update the per-app sale records from this run's prices (in place).

    Returns: (deal, sale_no) for deals not alerted yet in their current sale (now marked).
    """
    for appid, price in prices.items():
        if price.store is None:
            continue  # not sold here: no news about a sale either way
        rec = sales.get(str(appid))
        if not price.store.is_discounted:
            if rec is not None:
                rec["active"] = False
            continue
        if rec is None or not rec["active"]:
            sales[str(appid)] = {"no": (rec["no"] if rec else 0) + 1, "active": True,
                                 "alerted": False}
    fresh = []
    for deal in deals:
        rec = sales.get(str(deal.appid))
        if rec is not None and rec["active"] and not rec["alerted"]:
            rec["alerted"] = True
            fresh.append((deal, int(rec["no"])))
    return fresh


_warned_no_channel = False


async def run_deals_job(app: App) -> list[str]:
    """The `deals` job: find deals, queue one announcement per new (appid, sale), or one
    digest when more than DIGEST_OVER are new at once.

    Returns: the dedupe keys queued this run. Raises: UpstreamError, StoreError.
    """
    global _warned_no_channel
    channel = app.config.channels.deals
    if channel is None:
        if not _warned_no_channel:
            log.warning("no deals channel configured: deals are not announced; set "
                        "channels.deals in config.toml")
            _warned_no_channel = True
        return []
    members = await app.store.members.all()
    deals, prices = await current_deals(app, members)
    sales: dict[str, dict[str, Any]] = await app.store.state.get(DEALS_SALES_KEY) or {}
    fresh = advance_sales(sales, prices, deals)
    names = {int(m.steamid): m.name for m in members}
    if len(fresh) > DIGEST_OVER:
        drafts = digest_drafts(app, fresh, names, Snowflake(int(channel)))
    else:
        drafts = [OutboxDraft("deal", f"deal:{deal.appid}:{sale_no}", Snowflake(int(channel)),
                              {"embeds": [deal_embed(app, deal, names).to_dict()],
                               "allowed_mentions": NO_MENTIONS})
                  for deal, sale_no in fresh]
    await app.announce(drafts)  # before the state: a crash in between re-derives the same keys
    await app.store.state.set(DEALS_SALES_KEY, sales, app.now())
    log.info("deals checked [games:%d deals:%d new:%d announced:%d]", len(prices), len(deals),
             len(fresh), len(drafts))
    return [d.dedupe_key for d in drafts]


# ---------------------------------------------------------------------- the command


async def _resolve(app: App, text: str | None) -> list[MemberRecord] | str:
    """All members (text None), or the one meant (`_common.resolve_member_ref` rules)."""
    members = await app.store.members.all()
    if text is None or not text.strip():
        return members
    names = ", ".join(escape_text(m.name) for m in members)
    try:
        steamid, member = await _common.resolve_member_ref(app, text, "member")
    except ArgumentError as exc:
        return f"{exc}. Members: {names}."
    except UpstreamError as exc:
        return f"Steam could not look that account up ({exc}); try a member name: {names}."
    if member is None:
        return f"Steam account `{steamid}` is not in the family. Members: {names}."
    return [member]


def setup(app: App) -> None:
    """Register /deals and the `deals` job."""

    @app.registry.command("deals", "Current deals on the family's wishlists (or one member's)",
                          options=[string("member", "Name, @mention or SteamID64 (default: "
                                          "everyone)", required=False)])
    async def deals_command(ctx: CommandContext) -> None:
        who = await _resolve(app, ctx.args.get("member"))  # type: ignore[arg-type]
        if isinstance(who, str):
            await ctx.reply(who, ephemeral=True)
            return
        try:
            deals, prices = await current_deals(app, who)
        except UpstreamError as exc:
            await ctx.reply(f"Steam did not answer, try again in a few minutes ({exc}).",
                            ephemeral=True)
            return
        names = {int(m.steamid): m.name for m in await app.store.members.all()}
        th = app.config.thresholds
        scope = "the family's wishlists" if len(who) != 1 else f"{escape_text(who[0].name)}'s wishlist"
        title = f"{len(deals)} deal{'s' if len(deals) != 1 else ''} on {scope}"
        rule = (f"{th.deal_min_discount_pct}%+ off, or within {th.historical_low_buffer:g}x "
                f"of the historical low; {len(prices)} games checked; prices at most "
                f"{PRICE_TTL_S / 3600:g} h old")
        lines = [deal_line(app, d, names) for d in deals]
        chunks = split_lines(lines, DESCRIPTION_CHARS) if lines else ["No deals right now."]
        if len(chunks) > MAX_REPLY_EMBEDS:
            shown = sum(c.count("\n") + 1 for c in chunks[:MAX_REPLY_EMBEDS])
            chunks = chunks[:MAX_REPLY_EMBEDS]
            chunks[-1] += f"\n…and {len(lines) - shown} more"  # DESCRIPTION_CHARS leaves room
        embeds = [Embed(title=title if i == 0 else f"{title} ({i + 1}/{len(chunks)})",
                        description=c, color=EMBED_COLOR, footer=rule if i == 0 else None)
                  for i, c in enumerate(chunks)]
        for group in pack_embeds(embeds):
            await ctx.reply(embeds=group)

    app.scheduler.add("deals", run_deals_job, interval_s=app.config.schedules.deals_s,
                      timeout_s=600.0, backoff_base_s=60.0, first_delay_s=FIRST_RUN_DELAY_S)
