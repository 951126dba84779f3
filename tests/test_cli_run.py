"""`familybot-trio run` as a real subprocess against the World's FakeDiscord + sandbox.

One bot process per test: READY, the debug console (a coroutine reading the store, a
statement that raises, the bot still answering), then SIGINT -> gateway close 1000 and exit
status 0. Every log line the process wrote is scanned for the test suite's secrets.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import trio

from familybot_trio import blocking, console, offloop
from familybot_trio.cli._run import console_path, lock_path
from familybot_trio.sandbox.world import BOT_TOKEN
from familybot_trio.upstream.tokens import AccessTokenStore
from tests._cli_helpers import BotProcess, env_of, run_cli, start_world

TIMEOUT_S = 90


def _console_session(path: Path, script: str) -> tuple[int, str]:
    out = io.StringIO()
    code = console.connect(path, stdin=io.StringIO(script), stdout=out)
    return code, out.getvalue()


async def test_run_console_sigint_close_1000_and_no_secret_in_logs(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path,
                                      extra_config='[logging]\nlevel = "DEBUG"\n')
            await AccessTokenStore(world.config.data_dir).set(world.sandbox.access_token)
            env = {**os.environ, **env_of(world), "PYTHONUNBUFFERED": "1"}
            env.pop(offloop.ENV_DEBUG_BLOCKING, None)  # the flag alone turns the guard on
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "familybot_trio.cli", "run", "--config",
                 str(world.config.path), "--log-format", "json", "--features", "help",
                 "--debug-blocking"],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
            bot = BotProcess(proc)
            nursery.start_soon(bot.pump)
            try:
                await bot.wait_for_log("bot running")
                assert await blocking.run_sync("files", lock_path(world.config).exists)
                # --features help: the family's slash command list on Discord is left alone
                assert not world.discord.rest.commands, world.discord.rest.commands
                assert any("slash commands are NOT registered" in ln for ln in bot.lines)

                # the console: a coroutine reading the store, then a statement that raises
                script = ("counts = await store.row_counts()\n"
                          "print('MEMBERS', counts['members'])\n"
                          "1 / 0\n"
                          "store._db._writer.execute('SELECT 1')\n"  # the guard refuses
                          "print('STILL', app.ready is not None, config.secrets)\n")
                code, text = await blocking.run_sync(
                    "files", _console_session, console_path(world.config), script)
                assert code == 0, text
                assert f"MEMBERS {len(world.config.members)}" in text
                assert "ZeroDivisionError" in text
                assert "BlockingOnLoop: sqlite3 execute ran on the trio thread" in text
                assert "STILL True Secrets(set=[])" in text   # the console's config is masked

                # ... and the bot keeps running and posting
                handle = await world.discord.send_interaction("help", user_id=world.admin_id)
                reply = await handle.wait_response()
                assert "`/help`" in str(reply.embeds)

                # `token set` while the bot runs: the bot re-reads it through its console
                fresh = world.sandbox.issue_access_token()
                r = await run_cli(world, "token", "set", stdin=fresh + "\n")
                assert r.code == 0 and "the running bot now uses it" in r.out, r.out + r.err
                code, text = await blocking.run_sync(
                    "files", _console_session, console_path(world.config),
                    f"print('SAME', app.tokens.peek().value == {fresh!r})\n")
                assert "SAME True" in text

                # `db restore` refuses while this bot runs
                r = await run_cli(world, "db", "restore", str(world.config.db_path))
                assert r.code == 1 and "running" in r.err

                proc.send_signal(signal.SIGINT)
                await world.discord.gateway.wait_for_client_close()
                assert await proc.wait() == 0, "\n".join(bot.lines[-30:])
                await bot.eof.wait()
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            assert world.discord.gateway.client_close_codes[-1] == 1000
            assert not await blocking.run_sync("files", console_path(world.config).exists)
            assert not await blocking.run_sync("files", lock_path(world.config).exists)

            # every log line is JSON, and no secret of this suite appears in any of them
            lines = [ln for ln in bot.lines if ln.strip()]
            assert len(lines) > 10
            records = [json.loads(ln) for ln in lines]
            assert any(r.get("msg", r.get("message", "")).startswith("bot stopped cleanly")
                       or "bot stopped cleanly" in json.dumps(r) for r in records)
            secrets = (BOT_TOKEN, world.sandbox.api_key, world.sandbox.itad_key,
                       world.sandbox.access_token, fresh)
            for line in lines:
                for secret in secrets:
                    assert secret not in line, f"secret leaked in log line: {line[:200]}"
            nursery.cancel_scope.cancel()


async def test_run_without_secrets_lists_each_missing_one_exit_2(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            env = {k: v for k, v in os.environ.items() if not k.startswith("FAMILYBOT_")}

            def run_without_secrets() -> subprocess.CompletedProcess[str]:
                return subprocess.run([sys.executable, "-m", "familybot_trio", "run", "--config",
                                       str(world.config.path)], env=env, capture_output=True,
                                      text=True, timeout=60)

            r = await blocking.run_sync("files", run_without_secrets)
            assert r.returncode == 2
            assert r.stderr.count("config error:") == 2      # one line per missing secret
            for var in ("FAMILYBOT_DISCORD_TOKEN", "FAMILYBOT_STEAM_API_KEY"):
                assert var in r.stderr
            assert "FAMILYBOT_ITAD_API_KEY" not in r.stderr  # optional: no lows without it
            nursery.cancel_scope.cancel()


async def test_run_with_a_refused_token_exits_3_with_the_fix(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            env = {**os.environ, **env_of(world), "FAMILYBOT_DISCORD_TOKEN": "refused-token-42"}

            def run_bad_token() -> subprocess.CompletedProcess[str]:
                return subprocess.run([sys.executable, "-m", "familybot_trio", "run", "--config",
                                       str(world.config.path), "--features", "help"], env=env,
                                      capture_output=True, text=True, timeout=60)

            r = await blocking.run_sync("files", run_bad_token)
            assert r.returncode == 3, r.stderr
            assert "Reset Token" in r.stderr and "FAMILYBOT_DISCORD_TOKEN" in r.stderr
            assert "refused-token-42" not in r.stderr + r.stdout
            assert not await blocking.run_sync("files", lock_path(world.config).exists)
            nursery.cancel_scope.cancel()


async def test_run_warns_without_guild_id_and_refuses_an_unknown_feature_exit_2(
        tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            path = world.config.path
            text = await blocking.run_sync("files", path.read_text)
            await blocking.run_sync("files", path.write_text, "\n".join(
                ln for ln in text.splitlines() if not ln.startswith("guild_id")))
            env = {**os.environ, **env_of(world), "FAMILYBOT_DISCORD_TOKEN": "refused-token-42"}

            def run(*extra: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run([sys.executable, "-m", "familybot_trio", "run", "--config",
                                       str(path), *extra], env=env, capture_output=True,
                                      text=True, timeout=60)

            r = await blocking.run_sync("files", run, "--features", "help")
            assert r.returncode == 3, r.stderr
            warning = next(ln for ln in r.stderr.splitlines() if "guild_id is not set" in ln)
            assert "WARNING" in warning and "only DMs from family members" in warning
            r = await blocking.run_sync("files", run, "--features", "help,bogus")
            assert r.returncode == 2, r.stderr
            assert "unknown feature 'bogus'" in r.stderr and "known: new_games" in r.stderr
            nursery.cancel_scope.cancel()


async def test_run_second_signal_exits_at_once_database_stays_sound(tmp_path: Path) -> None:
    """SIGTERM then SIGINT (two kinds, so trio cannot merge them): exit 130 at once, and the
    database still passes `db check` (SQLite WAL survives the abrupt exit). This bot runs
    without an ITAD key, which is optional."""
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            await AccessTokenStore(world.config.data_dir).set(world.sandbox.access_token)
            proc = await trio.lowlevel.open_process(
                [sys.executable, "-m", "familybot_trio", "run", "--config",
                 str(world.config.path), "--features", "help"],
                env={**os.environ, **env_of(world), "PYTHONUNBUFFERED": "1",
                     "FAMILYBOT_ITAD_API_KEY": ""},
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            bot = BotProcess(proc)
            nursery.start_soon(bot.pump)
            try:
                await bot.wait_for_log("bot running")
                proc.send_signal(signal.SIGTERM)
                proc.send_signal(signal.SIGINT)
                assert await proc.wait() == 130, "\n".join(bot.lines[-20:])
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await bot.eof.wait()
            # trio may report the two pending signals in either order
            assert any("received, shutting down" in ln for ln in bot.lines)
            assert any("received again, exiting at once" in ln for ln in bot.lines)
            r = await run_cli(world, "db", "check")
            assert r.code == 0 and "integrity: ok" in r.out
            # the lock died with the process: restore is allowed again
            assert "running" not in (await run_cli(world, "db", "restore", "/nonexistent")).err
            nursery.cancel_scope.cancel()


async def test_second_run_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    from familybot_trio.cli._run import acquire_lock, release_lock

    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            fd = await blocking.run_sync("files", acquire_lock, lock_path(world.config))
            try:
                env = {**os.environ, **env_of(world)}
                r = await blocking.run_sync("files", lambda: subprocess.run(
                    [sys.executable, "-m", "familybot_trio", "run", "--config",
                     str(world.config.path)], env=env, capture_output=True, text=True,
                    timeout=60))
            finally:
                await blocking.run_sync("files", release_lock, fd, lock_path(world.config))
            assert r.returncode == 1
            assert f"a bot (pid {os.getpid()}) is running" in r.stderr
            assert world.discord.gateway.client_close_codes == []   # never connected
            nursery.cancel_scope.cancel()
