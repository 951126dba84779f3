"""Admin commands (admins from `[admins] discord_ids`) and the "token_check" job.

Our registry is flat, so each admin action is its own command with an `admin_` prefix
(`/admin_refresh what:free`, `!admin_refresh free`): each shows up in /help with its own
options and Discord's permission UI can grant them one by one. Every admin reply is
ephemeral for slash commands (only the admin sees it).

- /admin_refresh what:<library|wishlist|deals|free>: run that schedule now, report the outcome.
- /admin_purge cache:<details|prices|all>: drop cached app details / prices / everything.
- /admin_token_set token:<text>: save a Steam access token. Slash (the option goes to the bot
  only, the reply is ephemeral) or a DM; a `!` command in a server channel is refused and
  the message deleted, because everyone there has already seen the token. The token is
  never echoed, logged or stored outside the 0600 token file (P33 of the reference bot).
- /admin_token_status: owner SteamID64, expiry, hours left; never the token.
- /admin_status: schedules (last run, outcome, next run), gateway state and latency, token
  expiry, cache and table sizes, pending announcements.

Job "token_check" (every `schedules.token_check_min`): tells the admins once per token when it
expires within TOKEN_WARN_WITHIN_S (or is missing); the token already warned about is
remembered in store state, so a restart does not repeat the warning.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Final

from familybot_trio import blocking

from familybot_trio.errors import TokenExpired, Unauthorized
from familybot_trio.upstream.tokens import SET_HINT, AccessToken
from gateway.commands import CommandContext
from gateway.errors import HTTPError, NotFound
from gateway.messages import Embed, EmbedField, split_lines
from gateway._options import string

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.admin")

#: /admin_refresh choice -> scheduler job registered by the feature that owns it.
REFRESH_JOBS: Final[dict[str, str]] = {"library": "new_games", "wishlist": "wishlist",
                                       "deals": "deals", "free": "free_games"}
#: /admin_purge choice -> cache namespace prefixes (upstream.catalog's namespaces).
PURGE_PREFIXES: Final[dict[str, tuple[str, ...]]] = {
    "details": ("details:", "unknown:"),
    "prices": ("price:", "itad_lookup"),
    "all": ("details:", "unknown:", "price:", "itad_lookup"),
}
#: A token expiring within this many seconds is announced to the admins (once per token).
#: Steam access tokens live ~24 h, so in practice every token is announced once: a
#: reminder, a day ahead, that the next one will be needed.
TOKEN_WARN_WITHIN_S: Final = 24 * 3600
#: State key holding the identity (SteamID64:exp, never the token) of the token warned about.
TOKEN_WARNED_KEY: Final = "admin.token_warned"
TOKEN_CHECK_JOB: Final = "token_check"
STATUS_COLOR: Final = 0x5865F2
#: Discord JSON error code "Unknown Message" (the message no longer exists).


def _when(ts: float | dt.datetime | None) -> str:
    """Discord timestamp markup (shown in each reader's time zone), or "never"."""
    if ts is None:
        return "never"
    seconds = int(ts.timestamp() if isinstance(ts, dt.datetime) else ts)
    return f"<t:{seconds}:f> (<t:{seconds}:R>)"


def token_line(token: AccessToken | None, now: dt.datetime) -> str:
    """"SteamID64 …, expires … (N h left)" or why there is none; never the token itself."""
    if token is None:
        return f"No Steam access token is set; {SET_HINT}."
    hours = token.expires_in_hours(now)
    state = (f"{hours:.1f} h left" if hours > 0 else f"expired {-hours:.1f} h ago")
    return (f"Owner SteamID64 `{token.steamid}`, expires {_when(token.expires_at)} "
            f"({token.expires_at:%Y-%m-%d %H:%M} UTC, {state}).")


async def refresh(app: App, ctx: CommandContext) -> None:
    """/admin_refresh: run one schedule now and reply with its outcome."""
    what = str(ctx.args["what"])
    job = REFRESH_JOBS[what]
    registered = [j.name for j in app.scheduler.jobs]
    if job not in registered:
        await ctx.reply(f"`{what}` runs the `{job}` schedule, which is not registered in this "
                        f"bot (its feature is not enabled). Registered: "
                        f"{', '.join(f'`{n}`' for n in registered) or 'none'}.", ephemeral=True)
        return
    await ctx.defer(ephemeral=True)
    try:
        outcome = await app.scheduler.run_now(job)
    except RuntimeError as exc:
        await ctx.reply(f"Could not run `{job}`: {exc}.", ephemeral=True)
        return
    if outcome.ok:
        text = f"`{job}` ran in {outcome.duration_s:.1f} s."
    else:
        text = (f"`{job}` failed after {outcome.duration_s:.1f} s: {outcome.error}. "
                "The schedule keeps retrying with backoff.")
    log.info("admin ran a schedule [job:%s ok:%s user:%d]", job, outcome.ok, ctx.user_id)
    await ctx.reply(text, ephemeral=True)


async def purge(app: App, ctx: CommandContext) -> None:
    """/admin_purge: delete cached upstream data (the next runs fetch it again)."""
    what = str(ctx.args["cache"])
    counts = {p: await app.store.cache.purge(app.now(), namespace_prefix=p)
              for p in PURGE_PREFIXES[what]}
    log.info("admin purged the cache [what:%s rows:%d user:%d]", what, sum(counts.values()),
             ctx.user_id)
    detail = ", ".join(f"`{p.rstrip(':')}` {n}" for p, n in counts.items())
    await ctx.reply(f"Purged {sum(counts.values())} cached rows ({detail}). The next runs "
                    "fetch them again.", ephemeral=True)


async def token_set(app: App, ctx: CommandContext) -> None:
    """/admin_token_set: validate and save a Steam access token; never echo it."""
    if not ctx.is_interaction and not ctx.is_dm:
        deleted = await _delete_invoking_message(ctx)
        await ctx.reply(
            "Not saved: a token posted in a server channel is visible to everyone there. "
            + ("I deleted your message. " if deleted else "Delete your message now. ")
            + "Use the slash command `/admin_token_set` (only I see the option) or DM me "
            "`!admin_token_set <token>`; then sign out of Steam in that browser to revoke "
            "the exposed one.")
        return
    try:
        token = await app.tokens.set(str(ctx.args["token"]))
    except (Unauthorized, TokenExpired) as exc:
        await ctx.reply(f"Not saved: {exc}", ephemeral=True)
        return
    log.info("admin set the access token [steamid:%d user:%d]", token.steamid, ctx.user_id)
    await ctx.reply(f"Saved. {token_line(token, app.now())}", ephemeral=True)


async def _delete_invoking_message(ctx: CommandContext) -> bool:
    message_id = getattr(ctx, "message_id", None) or getattr(ctx, "_message_id", None)
    if not message_id:
        return False
    try:
        await ctx.rest.delete_message(ctx.channel_id, int(message_id))
    except NotFound:  # Unknown Message (10008): already gone (the admin was quicker)
        return True
    except HTTPError as exc:
        # e.g. missing MANAGE_MESSAGES: the reply asks the admin to delete it
        log.warning("could not delete a message holding a token [channel:%d cause:%s]",
                    ctx.channel_id, exc)
        return False
    return True


async def status_embed(app: App) -> Embed:
    """/admin_status: schedules, gateway, token, cache and outbox in one embed."""
    fields = []
    lines = []
    for st in app.scheduler.statuses():
        last = st.last
        if st.running:
            outcome = "running now"
        elif last is None:
            outcome = "not run yet"
        elif last.ok:
            outcome = f"ok {_when(last.started_wall)} in {last.duration_s:.1f} s"
        else:
            outcome = f"**failed** {_when(last.started_wall)}: {last.error}"
        streak = f", {st.failure_streak} failures in a row" if st.failure_streak else ""
        lines.append(f"`{st.name}`: {outcome}{streak}; next {_when(st.next_run_wall)}")
    for i, part in enumerate(split_lines(lines or ["no schedules registered"], 1024)):
        fields.append(EmbedField("Schedules" if i == 0 else "Schedules (cont.)", part))
    shard = app.shard
    latency = "n/a" if shard.latency_ms is None else f"{shard.latency_ms:.0f} ms"
    fields.append(EmbedField("Gateway", f"{shard.state.name.lower()}, heartbeat latency "
                             f"{latency}, {shard.reconnects} reconnects", inline=True))
    fields.append(EmbedField("Steam access token", token_line(app.tokens.peek(), app.now())))
    namespaces = await app.store.run_read(_cache_by_namespace, op="admin.cache_by_namespace")
    tables = await app.store.row_counts()
    fields.append(EmbedField("Cache", ", ".join(f"`{n}` {c}" for n, c in namespaces) or "empty",
                             inline=True))
    fields.append(EmbedField("Tables", ", ".join(f"`{n}` {c}" for n, c in tables.items()),
                             inline=True))
    pending = await app.store.outbox.pending(limit=1000)
    fields.append(EmbedField("Announcements waiting", str(len(pending)), inline=True))
    return Embed(title="familybot status", fields=tuple(fields), color=STATUS_COLOR,
                 timestamp=app.now().isoformat())


def _cache_by_namespace(c: sqlite3.Connection) -> list[tuple[str, int]]:
    return list(c.execute("SELECT namespace, count(*) FROM cache GROUP BY namespace"
                          " ORDER BY namespace"))


async def run_token_check(app: App) -> bool:
    """The "token_check" job: warn the admins once per token that is missing or expiring.

    Returns: True if a warning was sent this run. Raises: StoreError.
    """
    token, now = app.tokens.peek(), app.now()
    signin = getattr(app, "signin", None)  # set by the steam_login feature
    state = signin.state if signin is not None else None
    if state is not None and state.refresh_token and not state.needs_signin:
        return False  # a QR sign-in renews the access token on its own; nothing to warn about
    if token is None:
        key, text = "none", f"There is no Steam access token, so family checks cannot run; {SET_HINT}."
    elif token.expires_in_s(now) <= TOKEN_WARN_WITHIN_S:
        key = f"{token.steamid}:{int(token.expires_at.timestamp())}"
        verb = "expired" if token.is_expired(now) else "expires"
        hours = token.expires_in_hours(now)
        left = f"{hours:.1f} h left" if hours > 0 else f"{-hours:.1f} h ago"
        text = (f"The Steam access token of SteamID64 `{token.steamid}` {verb} "
                f"{_when(token.expires_at)} ({left}). Set a fresh one with `/admin_token_set`, "
                "or sign the bot in once with `/admin_steam_login` so it renews on its own.")
    else:
        return False
    if await app.store.state.get(TOKEN_WARNED_KEY) == key:
        return False
    await app.report_admin(text)
    await app.store.state.set(TOKEN_WARNED_KEY, key, now)
    log.info("told the admins about the access token [state:%s]", "missing" if token is None
             else "expiring")
    return True


#: The "backup" job keeps this many copies in <data_dir>/backups (the oldest are deleted).
BACKUPS_KEPT: Final = 4
BACKUP_JOB: Final = "backup"


def _prune_backups(folder: Path, keep: int) -> list[Path]:
    """Blocking: delete all but the newest `keep` familybot-*.db files; returns the deleted."""
    old = sorted(folder.glob("familybot-*.db"))[:-keep] if keep > 0 else []
    for path in old:
        path.unlink(missing_ok=True)
    return old


async def run_backup(app: App) -> Path:
    """The "backup" job: an online copy of the database into <data_dir>/backups.

    Uses SQLite's backup API (`Store.backup`), so it is safe while the bot writes; keeps the
    newest BACKUPS_KEPT copies. Returns: the new file. Raises: StoreError, OSError.
    """
    folder = app.config.data_dir / "backups"
    dest = folder / f"familybot-{app.now():%Y%m%dT%H%M%SZ}.db"
    await app.store.backup(dest)
    deleted = await blocking.run_sync("files", _prune_backups, folder, BACKUPS_KEPT)
    log.info("database backed up [file:%s deleted_old:%d]", dest.name, len(deleted))
    return dest


def setup(app: App) -> None:
    """Register the admin commands and the "token_check" and "backup" jobs."""
    reg = app.registry

    @reg.command("admin_refresh", "Run a schedule now and show its outcome", admin_only=True,
                 options=[string("what", "Which schedule", choices=tuple(
                     (k, k) for k in REFRESH_JOBS))])
    async def admin_refresh(ctx: CommandContext) -> None:
        await refresh(app, ctx)

    @reg.command("admin_purge", "Delete cached app details and/or prices", admin_only=True,
                 options=[string("cache", "Which cache", choices=tuple(
                     (k, k) for k in PURGE_PREFIXES))])
    async def admin_purge(ctx: CommandContext) -> None:
        await purge(app, ctx)

    @reg.command("admin_token_set", "Save a Steam access token",
                 admin_only=True, secret=True,
                 options=[string("token", "The webapi_token text", max_length=4000)])
    async def admin_token_set(ctx: CommandContext) -> None:
        await token_set(app, ctx)

    @reg.command("admin_token_status", "Show whose Steam access token is set and when it expires",
                 admin_only=True)
    async def admin_token_status(ctx: CommandContext) -> None:
        await ctx.reply(token_line(app.tokens.peek(), app.now()), ephemeral=True)

    @reg.command("admin_status", "Schedules, gateway, token and cache status", admin_only=True)
    async def admin_status(ctx: CommandContext) -> None:
        await ctx.reply(embeds=[await status_embed(app)], ephemeral=True)

    app.scheduler.add(TOKEN_CHECK_JOB, run_token_check,
                      interval_s=app.config.schedules.token_check_s, timeout_s=60.0,
                      first_delay_s=60.0)
    app.scheduler.add(BACKUP_JOB, run_backup, interval_s=app.config.schedules.backup_s,
                      timeout_s=600.0, backoff_base_s=300.0)
