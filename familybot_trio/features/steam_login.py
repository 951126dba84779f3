"""Steam sign-in for admins: QR login by DM, status, logout, pasted fallbacks, renewal job.

- /admin_steam_login (DM only): starts a QR sign-in (WebBrowser platform), replies with the
  QR code drawn in text (our REST client has no file upload yet, so no PNG attachment) and
  the challenge link, then polls and says what happened: scanned, new code (Steam rotated
  it), approved, denied, expired. One QR per command; never restarted by itself.
- /admin_steam_status: account, access and refresh expiry, last renewal, last error.
- /admin_steam_logout: revoke at Steam (best effort) and forget the stored sign-in.
- /admin_steam_paste_cookie text:<steamRefresh_steam> (route C) and
  /admin_steam_paste_token text:<webapi_token> (route D): DM only; in a server channel the
  `!` message is refused (and deleted when we may) because everyone has seen it.
- Job "steam_token_renewal" (every 30 min): renews before expiry, reminds 14 and 2 days
  before the refresh token ends, tells the admins once per "sign-in needed" streak.

Family calls: setup wraps `app.steam.call` for access-token calls, so an expired token is
renewed before the call and a 401 renews once and retries once (signin.py). When a person
must sign in, the call raises SignInNeeded, whose text tells members how to get it fixed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from familybot_trio import blocking
from familybot_trio.errors import TokenExpired, UpstreamError
from familybot_trio._signin_state import qr_png
from familybot_trio.signin import RENEW_JOB_S, SignIn, SignInNeeded, qr_text
from familybot_trio.upstream.steam_auth import QrChallenge
from gateway._options import string
from gateway.commands import CommandContext
from gateway.errors import HTTPError, NotFound
from gateway.rest import Attachment

if TYPE_CHECKING:
    from familybot_trio.app import App

log = logging.getLogger("familybot_trio.features.steam_login")

JOB: Final = "steam_token_renewal"
#: Discord JSON error code "Unknown Message" (the message no longer exists).
DM_ONLY: Final = ("Steam sign-in commands work in a DM only (the QR code and tokens are "
                  "secrets). DM me the same command.")


async def _qr_message(challenge: QrChallenge, note: str) -> str:
    # Drawing the QR is ~8 ms of pure CPU (measured): off the loop, under the cpu limiter.
    drawn = await blocking.run_sync("cpu", qr_text, challenge.challenge_url)
    return (f"{note}\n```\n{drawn}```\nOpen the Steam Mobile App > "
            "Steam Guard > scan a QR code, then approve. Link (only if you cannot scan): "
            f"<{challenge.challenge_url}>")


async def login(app: App, signin: SignIn, ctx: CommandContext) -> None:
    """/admin_steam_login: one QR sign-in, narrated in the DM."""
    if not ctx.is_dm:
        await ctx.reply(DM_ONLY, ephemeral=True)
        return

    async def on_update(event: str, challenge: QrChallenge | None) -> None:
        if event == "scanned":
            await ctx.reply("Scanned. Now approve the sign-in in the Steam Mobile App.")
            return
        assert challenge is not None
        note = ("Scan this QR code with the Steam Mobile App (it expires in 5 minutes):"
                if event == "challenge" else "Steam replaced the QR code; scan this one:")
        await ctx.reply(await _qr_message(challenge, note))
        # The same code as an image (ctx.channel_id is the DM channel): easier to scan.
        png = await blocking.run_sync("cpu", qr_png, challenge.challenge_url)
        try:
            await app.rest.create_message(ctx.channel_id, content="The same QR code as an image:",
                                          files=[Attachment("steam-sign-in-qr.png", png,
                                                            "image/png")])
        except HTTPError as exc:  # the text QR above still works
            log.warning("could not send the QR image [cause:%s]", exc)

    try:
        state = await signin.qr_login(on_update)
    except (UpstreamError, ValueError) as exc:
        log.info("steam sign-in by DM ended without a sign-in [user:%d cause:%s]",
                 ctx.user_id, type(exc).__name__)
        await ctx.reply(f"Not signed in: {exc}")
        return
    log.info("steam sign-in by DM done [user:%d steamid:%d]", ctx.user_id, state.steamid)
    await ctx.reply(f"Approved. Signed in as SteamID64 {state.steamid}; I renew the access "
                    "token by myself from now on.\n" + "\n".join(signin.status_lines()))


async def paste(app: App, signin: SignIn, ctx: CommandContext, route: str) -> None:
    """/admin_steam_paste_cookie, /admin_steam_paste_token: routes C and D, DM only."""
    if not ctx.is_dm and not ctx.is_interaction:
        deleted = False
        message_id = getattr(ctx, "_message_id", None)
        if message_id:
            try:
                await ctx.rest.delete_message(ctx.channel_id, int(message_id))
                deleted = True
            except NotFound:  # Unknown Message (10008): already gone
                deleted = True
            except HTTPError as exc:
                log.warning("could not delete a pasted secret [channel:%d cause:%s]",
                            ctx.channel_id, exc)
        await ctx.reply("Not saved: everyone in this channel has seen it. "
                        + ("I deleted your message. " if deleted else "Delete it now. ")
                        + "Sign out of that browser session to revoke it, then DM me.")
        return
    if not ctx.is_dm:
        await ctx.reply(DM_ONLY, ephemeral=True)
        return
    text = str(ctx.args.get("text") or "")
    try:
        if route == "cookie":
            state = await signin.accept_refresh_cookie(text)
        else:
            state = await signin.accept_webapi_token(text)
    except (ValueError, UpstreamError) as exc:
        await ctx.reply(f"Not saved: {exc}", ephemeral=True)
        return
    await ctx.reply(f"Saved for SteamID64 {state.steamid}.\n" + "\n".join(signin.status_lines()),
                    ephemeral=True)


def hook_family_calls(app: App, signin: SignIn) -> None:
    """Wrap `app.steam.call` so access-token calls renew first and retry once after a 401.

    Raises (from the wrapped call): SignInNeeded when a person must sign in again.
    """
    plain = app.steam.call

    async def call(interface: str, method: str, version: int, params: dict[str, Any],
                   parse: Any, *, auth: str = "key") -> Any:
        if auth != "token":
            return await plain(interface, method, version, params, parse, auth=auth)
        await signin.ensure_fresh()
        try:
            return await plain(interface, method, version, params, parse, auth=auth)
        except SignInNeeded:
            raise
        except TokenExpired:
            if not await signin.after_unauthorized():
                raise
            log.info("access token refused, renewed once, retrying [call:%s/%s]",
                     interface, method)
            return await plain(interface, method, version, params, parse, auth=auth)

    app.steam.call = call  # type: ignore[method-assign]


def setup(app: App) -> None:
    """Create the app's SignIn (`app.signin`), register the commands, the job and the hook."""
    up = app.config.upstreams
    signin = SignIn(app.config.data_dir, app.tokens, api_base=up["steam_webapi"],
                    login_base=up["steam_auth"], now=app.now, report=app.report_admin)
    app.signin = signin  # type: ignore[attr-defined]
    hook_family_calls(app, signin)
    reg = app.registry

    @reg.command("admin_steam_login", "Sign the bot in to Steam with a QR code (DM only)",
                 admin_only=True)
    async def admin_steam_login(ctx: CommandContext) -> None:
        await login(app, signin, ctx)

    @reg.command("admin_steam_status", "Whose Steam sign-in the bot uses and when it ends",
                 admin_only=True)
    async def admin_steam_status(ctx: CommandContext) -> None:
        await signin.load()
        await ctx.reply("\n".join(signin.status_lines()), ephemeral=True)

    @reg.command("admin_steam_logout", "Revoke and forget the bot's Steam sign-in",
                 admin_only=True)
    async def admin_steam_logout(ctx: CommandContext) -> None:
        await ctx.reply(await signin.logout(), ephemeral=True)

    @reg.command("admin_steam_paste_cookie", "Sign in from a pasted steamRefresh_steam cookie",
                 admin_only=True, secret=True,
                 options=[string("text", "The cookie value", max_length=4000)])
    async def admin_steam_paste_cookie(ctx: CommandContext) -> None:
        await paste(app, signin, ctx, "cookie")

    @reg.command("admin_steam_paste_token", "Use a pasted webapi_token for 24 h",
                 admin_only=True, secret=True,
                 options=[string("text", "The webapi_token", max_length=4000)])
    async def admin_steam_paste_token(ctx: CommandContext) -> None:
        await paste(app, signin, ctx, "token")

    app.scheduler.add(JOB, lambda a: signin.run_job(), interval_s=RENEW_JOB_S, timeout_s=120.0,
                      backoff_base_s=60.0, first_delay_s=30.0)
