"""`familybot-trio demo`: the real bot against FakeDiscord and the sandbox, telling a short story.

No keys, no network: FakeDiscord (gateway + REST) and the sandbox (Steam Web API, storefront,
ITAD, Epic, Reddit) run on 127.0.0.1; the real App runs against them with a temporary
database and a real config.toml. The story:

1. first start: the library (about 2,000 apps) becomes the baseline, nothing is announced;
2. a member buys a game: exactly one announcement, naming the owner, with prices;
3. a bundle of 12 games lands: one grouped message, not twelve;
4. a game two members wish for drops to its historical low: the wishlist message and a deal;
5. Epic gives a game away: one free-game post;
6. family members run /coop 2, /deals, /common_games and /help.

Every message the bot posted is printed as a family member reads it (`_terminal`: dates
for Discord timestamps, links as text with the URL after, no markdown; a command's replies
under the command), then a summary.
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TextIO

import trio

from familybot_trio import logs
from familybot_trio.errors import is_interrupt
from familybot_trio._terminal import render_message
from familybot_trio.sandbox.world import CHANNELS, DISCORD_IDS, World
from gateway.testing import APPLICATION_ID

log = logging.getLogger("familybot_trio.demo")

#: Upper bound for the whole story (s): the demo must end even if something hangs.
DEMO_TIMEOUT_S: Final = 120.0
_CHANNEL_NAMES: Final = {v: k for k, v in CHANNELS.items()}
#: Exit status when Ctrl-C or SIGTERM stopped the demo (the CLI's "interrupted", 128 + SIGINT).
EXIT_INTERRUPTED: Final = 130

#: A made-up game the first member "buys" and the bundle's appids (not in the sandbox catalog).
NEW_GAME: Final = (3_900_001, "Lanternfall")
BUNDLE_FIRST_APPID: Final = 3_900_100
BUNDLE_SIZE: Final = 12


class Story:
    """Plays the demo against a running World and prints what the bot posted."""

    def __init__(self, world: World, out: TextIO) -> None:
        self.world, self.out = world, out
        self._seen: dict[int, int] = {}  # message id -> edits already printed
        self._commands: dict[int, str] = {}  # interaction id -> "Ada's /coop copies:2"
        self._shown = 0  # messages printed in the current chapter
        self.chapters: list[tuple[str, int]] = []

    def render(self, msg: Any, reply_to: str | None = None) -> None:
        """Print one message the way a family member reads it (`_terminal.render_message`)."""
        names = {uid: self.member_name(i) for i, uid in enumerate(DISCORD_IDS)
                 if i < len(self.world.sandbox.family.members)}
        render_message(msg, out=self.out, where=_CHANNEL_NAMES.get(msg.channel_id, "channel"),
                       reply_to=reply_to, now=self.world.app.now(), names=names,
                       channels=_CHANNEL_NAMES)
        self._seen[msg.id] = msg.edits
        self._shown += 1

    def say(self, text: str) -> None:
        print(f"\n== {text}", file=self.out)

    def show_new_messages(self) -> int:
        """Print messages posted or edited since the chapter began; returns how many.

        A late follow-up to a command is drawn as a reply to that command."""
        for msg in self.world.discord.messages():
            if self._seen.get(msg.id) == msg.edits or msg.deleted:
                continue
            self.render(msg, self._commands.get(msg.interaction_id or 0))
        shown, self._shown = self._shown, 0
        if not shown:
            print("  (nothing posted)", file=self.out)
        return shown

    async def job(self, name: str) -> None:
        outcome = await self.world.app.scheduler.run_now(name)
        if not outcome.ok:
            print(f"  job {name} failed: {outcome.error}", file=self.out)
        await self.world.app.flush_outbox()

    async def command(self, name: str, options: dict[str, object] | None = None, *,
                      user: int = 1) -> None:
        shown = " ".join(f"{k}:{self.mention(v)}" for k, v in (options or {}).items())
        print(f"\n  > {self.member_name(user)} types /{name} {shown}".rstrip(), file=self.out)
        handle = await self.world.discord.send_interaction(
            name, options, user_id=DISCORD_IDS[user], channel_id=CHANNELS["new_games"])
        label = f"{self.member_name(user)}'s /{name} {shown}".rstrip()
        self._commands[handle.id] = label
        await handle.wait_response()
        # Follow-ups come after the first reply: wait for the handler to end, so every part
        # is drawn under this command, in order, before the next command is typed.
        await self.world.app.registry.gate.wait_handlers_done(DISCORD_IDS[user])
        for reply in handle.replies():  # drawn under the command, as Discord shows a reply
            if not reply.deleted:
                self.render(reply, label)

    def mention(self, value: object) -> object:
        """Show a Discord user id option as @name, like Discord's client does."""
        if value in DISCORD_IDS:
            return "@" + self.member_name(DISCORD_IDS.index(value))
        return value

    def member_name(self, index: int) -> str:
        return self.world.sandbox.family.members[index].persona

    def chapter(self, title: str) -> Callable[[], None]:
        self.say(title)
        return functools.partial(self._end_chapter, title)

    def _end_chapter(self, title: str) -> None:
        self.chapters.append((title, self.show_new_messages()))

    async def play(self) -> None:
        sb = self.world.sandbox
        fam = sb.family
        first = fam.members[0]

        end = self.chapter(f"1. First start: {len(fam.library)} shared apps become the "
                           "baseline (nothing is announced)")
        await self.job("new_games")
        end()

        end = self.chapter(f"2. {first.persona} buys {NEW_GAME[1]}")
        sb.add_library_app(NEW_GAME[0], first.steamid, name=NEW_GAME[1], price_cents=2499)
        await self.job("new_games")
        end()

        end = self.chapter(f"3. A bundle of {BUNDLE_SIZE} games lands in "
                           f"{fam.members[1].persona}'s library")
        for i in range(BUNDLE_SIZE):
            sb.add_library_app(BUNDLE_FIRST_APPID + i, fam.members[1].steamid,
                               name=f"Bundle Game {i + 1}", price_cents=999)
        await self.job("new_games")
        end()

        end = self.chapter("4. A game two members wish for drops to its historical low")
        appid = self.wished_by_two()
        if appid is None:
            print("  (the sandbox family has no game wished by two members)", file=self.out)
        else:
            info = fam.apps[appid]
            print(f"  {info.name} goes 75% off", file=self.out)
            sb.start_sale(appid, 75)
            sb.set_historical_low(appid)
            await self.job("wishlist")
            await self.job("deals")
        end()

        end = self.chapter("5. Epic gives a game away")
        await self.job("free_games")
        end()

        end = self.chapter("6. The family asks the bot")
        await self.command("coop", {"copies": 2}, user=1)
        await self.command("deals", user=2)
        await self.command("common_games", {"user1": DISCORD_IDS[1]}, user=0)
        await self.command("help", user=3)
        end()

        end = self.chapter("7. Before buying: do we already own it?")
        await self.command("owned", {"game": "stardew valey"}, user=2)  # a typo on purpose
        if appid is not None:
            await self.command("owned", {"game": fam.apps[appid].name}, user=3)
        await self.command("stats", user=0)
        end()

        end = self.chapter("8. A game leaves the library and a second copy arrives: the day's "
                           "digest")
        gone = min(a for a, lib in fam.library.items() if len(lib.owners) == 1
                   and a not in (NEW_GAME[0],) and lib.exclude_reason == 0)
        second = NEW_GAME[0]  # Lanternfall, bought in chapter 2, now bought again
        sb.remove_library_app(gone)
        sb.add_library_app(second, fam.members[2].steamid)
        await self.job("new_games")
        await self.job("library_digest")
        end()

    def wished_by_two(self) -> int | None:
        """An app wished by >= 2 members, not in the library, a priced game (sandbox data)."""
        fam = self.world.sandbox.family
        counts: dict[int, int] = {}
        for items in fam.wishlists.values():
            for appid in items:
                counts[appid] = counts.get(appid, 0) + 1
        for appid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            info, price = fam.apps.get(appid), fam.prices.get(appid)
            if (n >= 2 and appid not in fam.library and info is not None
                    and info.store_type == "game" and price and not price.is_free
                    and 62 in info.categories):
                return appid
        return None


#: The demo's dashboard: any free port on loopback, Discord sign-in through FakeDiscord.
DEMO_CLIENT_SECRET: Final = "demo-oauth-client-secret"
DASHBOARD_CONFIG: Final = ("[dashboard]\nenabled = true\nlisten = \"127.0.0.1:0\"\n"
                           "client_id = \"{client_id}\"\n")


def _open_dashboard(world: World, out: TextIO) -> None:
    """Tell FakeDiscord's "developer portal" the redirect URL and its consent screen the
    family's Discord accounts."""
    dash = world.app.dashboard
    world.discord.oauth.client_secret = DEMO_CLIENT_SECRET
    world.discord.oauth.redirect_uris.add(dash.redirect_url)
    for i, member in enumerate(world.sandbox.family.members[:len(DISCORD_IDS)]):
        world.discord.oauth.add_user(DISCORD_IDS[i], member.persona)


async def run_demo(out: TextIO, tmp: Path, *, serve: bool = False,
                   task_status: trio.TaskStatus[tuple[World, str]] = trio.TASK_STATUS_IGNORED
                   ) -> int:
    """Run the story in `tmp`; returns the exit code (0 when every chapter ran).

    Args: serve: after the story, keep the bot and its dashboard up until cancelled (Ctrl-C).
        task_status: `started((world, one-time link))` once the story ran (with serve;
        without it no link is made or printed: the bot stops when the story ends).
    """
    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        with trio.fail_after(DEMO_TIMEOUT_S):
            world: World = await nursery.start(functools.partial(
                World.start, tmp, extra_env={"FAMILYBOT_DISCORD_CLIENT_SECRET": DEMO_CLIENT_SECRET},
                extra_config=DASHBOARD_CONFIG.format(client_id=APPLICATION_ID)))
            print(f"familybot-trio demo: the real bot against FakeDiscord "
                  f"({world.discord.rest_url}) and the sandbox ({world.sandbox.urls['steam_webapi']})",
                  file=out)
            _open_dashboard(world, out)
            story = Story(world, out)
            await story.play()
        link = ""
        if serve:  # without --serve the bot stops below: a link would be dead on arrival
            link = await world.app.dashboard.signin_link(world.admin_id)
            print(f"\n== Dashboard: {world.app.dashboard.url}/ (Sign in with Discord goes "
                  f"through FakeDiscord)\n   one-time sign-in link for the admin (10 minutes, "
                  f"works once): {link}", file=out)
        else:
            print("\n== Dashboard: it stops with the demo; run `familybot-trio demo --serve` "
                  "to keep the bot and its web dashboard up until Ctrl-C, with a one-time "
                  "sign-in link for the admin", file=out)
        posted = sum(n for _, n in story.chapters)
        print(f"\n== Summary: {posted} messages posted or edited in "
              f"{trio.current_time() - started:.1f} s; sandbox served "
              f"{world.sandbox.total_requests()} upstream requests", file=out)
        for title, n in story.chapters:
            print(f"  {n:3d}  {title}", file=out)
        if serve:
            print("   the bot and its dashboard stay up until Ctrl-C", file=out, flush=True)
            task_status.started((world, link))
            await trio.sleep_forever()
        await world.stop()
    return 0


class _Terminated(Exception):
    """SIGTERM arrived (docker stop, systemctl stop): the demo was cancelled on purpose."""


async def _stop_on_sigterm(run: Callable[[Path], Any], tmp: Path) -> int:
    """`await run(tmp)`, cancelled when SIGTERM arrives, as Ctrl-C cancels it: the bot and
    the fakes stop and `main` removes the temporary folder (trio.open_signal_receiver, so
    the default handler does not kill the process with the folder left behind).

    Returns: run's exit code. Raises: _Terminated after a SIGTERM stopped it.
    """
    terminated = False
    with trio.open_signal_receiver(signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            async def watch() -> None:
                nonlocal terminated
                async for _ in signals:
                    terminated = True
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(watch, name="SIGTERM watcher")
            code = await run(tmp)
            nursery.cancel_scope.cancel()
    if terminated:
        raise _Terminated
    return int(code)


def keep_dir_problem(path: Path) -> str | None:
    """Why `--keep path` cannot be used (None when it can): a file, a folder that already
    holds a demo (its config.toml or data/), or any other folder that is not empty (`--keep
    ''` is the current folder). A used folder is refused, not wiped: it may hold
    something the user wants, and a second story on the old database posts nothing new."""
    if path.exists() and not path.is_dir():
        return f"--keep {path}: that is a file, not a folder; give a new or empty folder"
    if (path / "config.toml").exists() or (path / "data").exists():
        return (f"--keep {path}: that folder already holds a demo (config.toml, data/); the "
                "story would replay on the old database and post nothing new. Give a new "
                "folder, or delete this one first")
    if path.is_dir() and any(path.iterdir()):
        return (f"--keep {path}: that folder is not empty; the demo writes config.toml and "
                "data/ into it. Give a new or empty folder")
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of `familybot-trio demo`. Returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="familybot-trio demo",
        description="Run the real bot against a local fake Discord and fake Steam; no keys.")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="keep the demo's config and database in DIR")
    parser.add_argument("--serve", action="store_true",
                        help="keep the bot and its web dashboard running until Ctrl-C")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the bot's log")
    args = parser.parse_args(argv)
    problem = keep_dir_problem(args.keep) if args.keep else None
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    # The redacting setup: with -v, tokens in URLs (interaction callbacks) stay out of the log.
    logs.setup_logging(levels={"root": "INFO" if args.verbose else "WARNING"})
    for noisy in ("hypercorn.error", "hypercorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    run = functools.partial(run_demo, sys.stdout, serve=args.serve)
    try:
        if args.keep:
            try:
                args.keep.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                print(f"error: --keep {args.keep}: cannot make that folder ({exc.strerror}); "
                      "give a folder you can write to", file=sys.stderr)
                return 2
            return trio.run(_stop_on_sigterm, run, args.keep)
        with tempfile.TemporaryDirectory(prefix="familybot-demo-") as tmp:
            return trio.run(_stop_on_sigterm, run, Path(tmp))
    except (KeyboardInterrupt, BaseExceptionGroup, _Terminated) as exc:
        # Ctrl-C reaches us inside trio's exception groups (the shared test: is_interrupt)
        if not (isinstance(exc, _Terminated) or is_interrupt(exc)):
            raise
        print("\ndemo stopped", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
