"""A whole bot world on 127.0.0.1: FakeDiscord + the sandbox + the real App, for tests and the demo.

    async with trio.open_nursery() as nursery:
        world = await nursery.start(functools.partial(World.start, tmp_path))
        handle = await world.discord.send_interaction("coop", {"copies": 2}, user_id=world.user_id)
        ...
        await world.stop()

The config is written as a real config.toml and loaded by `load_config`, so the demo and
the tests exercise the same path a family's bot does. Secrets come from a fake environment.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from familybot_trio import blocking
from familybot_trio.app import App, utcnow
from familybot_trio.config import Config, load_config
from familybot_trio.sandbox import Sandbox
from gateway.testing import GUILD_ID, FakeDiscord

#: Channel ids of the sandbox guild (snowflakes).
CHANNELS = {"new_games": 900_000_000_000_000_001, "wishlist": 900_000_000_000_000_002,
            "deals": 900_000_000_000_000_003, "free_games": 900_000_000_000_000_004,
            "admin_reports": 900_000_000_000_000_005}
#: Discord user ids given to the sandbox members, in member order; the first is the admin.
DISCORD_IDS = (800_000_000_000_000_001, 800_000_000_000_000_002, 800_000_000_000_000_003,
               800_000_000_000_000_004, 800_000_000_000_000_005)
BOT_TOKEN = "sandbox-bot-token"


def write_config(path: Path, sandbox: Sandbox, discord: FakeDiscord, data_dir: Path, *,
                 extra: str = "", link_members: int = 4, country: str = "US",
                 commands: str = "cooldown_s = 0") -> Path:
    """Write a config.toml pointing every upstream at the sandbox and Discord at the fake.

    Args: link_members: how many sandbox members get a Discord id (the rest stay unlinked);
        country: the family's `[prices] country`; commands: the `[commands]` table's body
        (default: no cooldowns, so tests may repeat a command at once). The family's server
        (`[discord] guild_id`) is FakeDiscord's GUILD_ID.
    Returns: path.
    """
    fam = sandbox.family
    lines = [f'data_dir = "{data_dir}"', "prefix_commands = true", "",
             "[family]", f"group_id = {int(fam.family_groupid)}", ""]
    for i, m in enumerate(fam.members):
        lines += ["[[members]]", f'steamid = "{m.steamid}"', f'name = "{m.persona}"']
        if i < link_members:
            lines.append(f'discord_id = "{DISCORD_IDS[i]}"')
        lines.append("")
    lines += ["[channels]", *(f'{k} = "{v}"' for k, v in CHANNELS.items()), "",
              "[admins]", f'discord_ids = ["{DISCORD_IDS[0]}"]', "",
              "[prices]", f'country = "{country}"', 'language = "en"', "",
              "[discord]", f'guild_id = "{GUILD_ID}"', "", "[commands]", commands, "",
              "[upstream]", *(f'{k} = "{sandbox.urls[k]}"'
                              for k in ("steam_webapi", "storefront", "itad", "epic", "reddit",
                                        "steam_auth")),
              f'discord_rest = "{discord.rest_url}"', "", extra]
    path.write_text("\n".join(lines))
    return path


@dataclass
class World:
    """A running world. Attributes: sandbox, discord (FakeDiscord), app, config, tmp."""

    sandbox: Sandbox
    discord: FakeDiscord
    app: App
    config: Config
    tmp: Path
    _scope: trio.CancelScope
    _app_done: trio.Event | None = None

    @property
    def admin_id(self) -> int:
        return DISCORD_IDS[0]

    @classmethod
    async def start(cls, tmp: Path, *, features: Sequence[str] | None = None,
                    now: Callable[[], dt.datetime] = utcnow, extra_config: str = "",
                    latency_ms: float = 0, start_app: bool = True, country: str = "US",
                    commands_config: str = "cooldown_s = 0",
                    extra_env: dict[str, str] | None = None,
                    task_status: trio.TaskStatus[World] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the sandbox and FakeDiscord, write the config, run the App; until cancelled.

        Calls task_status.started(world) once the bot is READY with commands synced.
        """
        async with trio.open_nursery() as nursery:
            sandbox = await nursery.start(Sandbox(latency_ms=latency_ms).serve)
            discord = await nursery.start(FakeDiscord(
                token=BOT_TOKEN, run_sync=functools.partial(blocking.run_sync, "files")).serve)
            data_dir = tmp / "data"
            cfg_path = await blocking.run_sync("files", functools.partial(
                write_config, tmp / "config.toml", sandbox, discord, data_dir,
                extra=extra_config, country=country, commands=commands_config))
            env = {"FAMILYBOT_DISCORD_TOKEN": BOT_TOKEN,
                   "FAMILYBOT_STEAM_API_KEY": sandbox.api_key,
                   "FAMILYBOT_ITAD_API_KEY": sandbox.itad_key, **(extra_env or {})}
            config = await blocking.run_sync("files", lambda: load_config(cfg_path, env))
            # No local name for the App: this frame lives as long as the world, and a
            # restart (start_app with a new App) must let the first App go.
            world = cls(sandbox, discord, App(config, now=now, features=features), config, tmp,
                        nursery.cancel_scope)
            if start_app:
                await world.start_app(nursery)
            task_status.started(world)
            await trio.sleep_forever()

    async def start_app(self, nursery: trio.Nursery, app: App | None = None) -> App:
        """Start (or restart, with a new App on the same database) the bot in `nursery`."""
        if app is not None:
            self.app = app
        await nursery.start(self._run_app)
        await self.app.tokens.set(self.sandbox.access_token)
        return self.app

    async def _run_app(self, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
                       ) -> None:
        self._app_done = done = trio.Event()
        try:
            await self.app.run(task_status=task_status)
        finally:
            done.set()

    async def stop_app(self) -> None:
        """Stop the bot cleanly (gateway close 1000) and wait until `App.run` returned."""
        await self.app.stop()
        if self._app_done is not None:
            await self._app_done.wait()

    async def stop(self) -> None:
        """Stop the bot cleanly, then the fakes; `World.start` returns."""
        await self.stop_app()
        self._scope.cancel()

    def new_app(self, **kw: Any) -> App:
        """A fresh App on the same config (for restart tests)."""
        return App(self.config, now=kw.pop("now", self.app.now),
                   features=kw.pop("features", self.app.feature_names), **kw)
