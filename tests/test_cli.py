"""The operator CLI against a real World (sandbox + FakeDiscord on 127.0.0.1): every command."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from familybot_trio import blocking
from familybot_trio.cli import build_parser
from familybot_trio.cli._run import acquire_lock, lock_path, release_lock
from familybot_trio.store import AppDetails, AppId, OutboxDraft, Snowflake, Store
from familybot_trio.upstream.tokens import AccessTokenStore
from tests._cli_helpers import assert_no_secret, run_cli, start_world

TIMEOUT_S = 60


def _help_of(argv: list[str]) -> tuple[object, str]:
    """(exit code, stdout) of `familybot-trio ARGV --help`, from the parser in-process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*argv, "--help"])
    return exit_.value.code, out.getvalue()


def _py(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60)


async def test_help_on_every_command() -> None:
    with trio.fail_after(TIMEOUT_S):
        top = await blocking.run_sync("files", _py, "-m", "familybot_trio.cli", "--help")
        assert top.returncode == 0
        for cmd in ("run", "check", "populate", "db", "purge", "token", "console", "demo"):
            assert cmd in top.stdout
        r = await blocking.run_sync("files", _py, "-m", "familybot_trio", "run", "--help")
        assert r.returncode == 0 and "usage: familybot-trio run" in r.stdout, r.stderr
        # The other commands' help from the same parser, in-process (a subprocess each cost
        # ~1 s of interpreter start-up on 2 shared cores).
        for argv in (["check"], ["populate"], ["db", "backup"], ["db", "restore"],
                     ["db", "check"], ["purge"], ["token", "set"], ["token", "status"],
                     ["console"]):
            code, text = await blocking.run_sync("cpu", _help_of, argv)  # ~60 ms of CPU
            assert code == 0, argv
            assert "usage: familybot-trio " + " ".join(argv) in text
        script = Path(sys.executable).parent / "familybot-trio"
        r = await blocking.run_sync("files", lambda: subprocess.run(
            [str(script), "--help"], capture_output=True, text=True, timeout=60))
        assert r.returncode == 0 and "populate" in r.stdout


async def test_config_errors_print_every_problem_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    await blocking.run_sync("files", bad.write_text,
                            '[family]\ngroup_id = "x"\n[prices]\ncountry = "usa"\nbogus = 1\n')
    with trio.fail_after(TIMEOUT_S):
        r = await blocking.run_sync("files", _py, "-m", "familybot_trio", "check",
                                    "--config", str(bad))
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("config error: ")]
    text = "\n".join(lines)
    for key in ("family.group_id", "prices.country", "bogus", "members"):
        assert key in text, text
    assert len(lines) >= 4


async def test_a_data_dir_that_cannot_be_made_is_a_config_error_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    await blocking.run_sync("files", bad.write_text, 'data_dir = "/proc/nope"\n[family]\n'
                            'group_id = 1\n[[members]]\nsteamid = "76561198000000001"\n'
                            'name = "A"\n')
    for argv in (["check"], ["db", "check"], ["outbox", "list"]):
        with trio.fail_after(TIMEOUT_S):
            r = await blocking.run_sync("files", _py, "-m", "familybot_trio", *argv,
                                        "--config", str(bad))
        assert r.returncode == 2, (argv, r.stderr)
        assert "config error:" in r.stderr and "data_dir" in r.stderr, r.stderr
        assert "Errno" not in r.stderr and "cannot be created" in r.stderr


async def test_outbox_and_accept_refuse_a_data_dir_without_the_bots_database(
        tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    await blocking.run_sync("files", cfg.write_text, f'data_dir = "{tmp_path / "typo"}"\n'
                            '[family]\ngroup_id = 1\n[[members]]\n'
                            'steamid = "76561198000000001"\nname = "A"\n')
    for argv in (["outbox", "list"], ["outbox", "retry"], ["accept", "library"]):
        with trio.fail_after(TIMEOUT_S):
            r = await blocking.run_sync("files", _py, "-m", "familybot_trio", *argv,
                                        "--config", str(cfg))
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        assert "no bot database at" in r.stderr and "data_dir" in r.stderr, r.stderr
    made = await blocking.run_sync("files", lambda: list((tmp_path / "typo").glob("*.db")))
    assert made == []  # nothing was created where the bot never looks


async def test_outbox_retry_says_when_nothing_is_failed_and_limit_must_be_positive(
        tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            async with Store.open_ctx(world.config.db_path) as store:
                now = dt.datetime.now(dt.UTC)
                (row,) = await store.outbox.enqueue(
                    [OutboxDraft("new_game", "t:1", Snowflake(1), {"content": "x"})], now)

                r = await run_cli(world, "outbox", "retry")     # nothing failed: say so
                assert r.code == 0 and "nothing to retry: no failed rows" in r.out, r

                await store.outbox.drop([row], now)
                r = await run_cli(world, "outbox", "drop", str(row))
                assert r.code == 1 and "already dropped" in r.err, r
                assert "outbox list --status dropped`" in r.err, r.err  # where it now is
                r = await run_cli(world, "outbox", "retry", "99999")
                # the message is true of retry: a dropped row IS retried (below)
                assert r.code == 1 and "no unsent row with id 99999" in r.err, r
                assert "dropped" not in r.err and "already sent or unknown" in r.err, r.err
                r = await run_cli(world, "outbox", "retry", str(row), str(row))  # one row
                assert r.code == 0 and r.out.strip() == f"retrying 1 row(s): {row}", r

                # --limit cuts the list: the footer says so and how many wait in all
                more = await store.outbox.enqueue(
                    [OutboxDraft("new_game", f"t:{n}", Snowflake(1), {"content": "x"})
                     for n in (2, 3)], now)
                r = await run_cli(world, "outbox", "list", "--limit", "1")
                assert r.code == 0 and len(r.out.splitlines()) == 1, r
                assert "showing 1 of 3 row(s) unsent" in r.err, r.err
                r = await run_cli(world, "outbox", "list", "--limit", "3")
                assert r.err.strip() == "3 row(s) unsent", r.err  # all of them: no "of"
                r = await run_cli(world, "outbox", "drop", str(more[1]), str(more[0]),
                                  str(more[1]))
                assert r.out.strip() == f"dropped 2 row(s): {more[1]} {more[0]}", r

            for bad in ("0", "-3", "many"):
                r = await run_cli(world, "outbox", "list", "--limit", bad)
                assert r.code == 2, (bad, r)
                assert "usage: familybot-trio outbox list" in r.err, r.err
                assert "argument --limit" in r.err and bad in r.err, r.err
            nursery.cancel_scope.cancel()


async def test_outbox_ids_and_limit_past_sqlites_integer_are_usage_errors(
        tmp_path: Path) -> None:
    """Ids and limits SQLite's signed 64-bit INTEGER cannot hold: exit 2 naming the limit,
    no OverflowError traceback."""
    huge = "99999999999999999999"
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            async with Store.open_ctx(world.config.db_path):
                pass  # the database exists: the old code reached sqlite3 and overflowed
            for argv, arg in ((["list", "--limit", huge + "999"], "argument --limit"),
                              (["retry", huge], "argument ID"), (["drop", huge], "argument ID"),
                              (["drop", "1", str(2**63)], "argument ID")):
                r = await run_cli(world, "outbox", *argv)
                assert r.code == 2, (argv, r)
                assert f"usage: familybot-trio outbox {argv[0]}" in r.err, r.err
                assert arg in r.err and "Traceback" not in r.err, r.err
                assert ("1,000,000" if argv[0] == "list" else str(2**63 - 1)) in r.err, r.err
            # int() reads "1_0" as 10 and takes " 7", "+7", "٣": another row than meant
            for bad in ("1_0", "+7", " 7", "\u0663"):
                r = await run_cli(world, "outbox", "drop", bad)
                assert r.code == 2 and "argument ID" in r.err, (bad, r)
                assert "plain digits" in r.err, r.err
            r = await run_cli(world, "outbox", "drop", str(2**63 - 1))  # the largest id: asked
            assert r.code == 1 and f"no unsent row with id {2**63 - 1}" in r.err, r
            nursery.cancel_scope.cancel()


async def test_token_set_status_and_check_against_world(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            token = world.sandbox.access_token

            r = await run_cli(world, "token", "status")
            assert r.code == 1 and "no access token saved" in r.err
            # the README's main way first, pasting a token as the fallback
            assert r.err.index("familybot-trio steam login") < r.err.index("token set"), r.err

            r = await run_cli(world, "check")          # no access token yet: a required FAIL
            assert r.code == 1
            assert "steam access token" in r.out and "FAIL" in r.out
            row = next(ln for ln in r.out.splitlines() if ln.startswith("steam access token"))
            assert row.index("familybot-trio steam login") < row.index("token set")

            r = await run_cli(world, "token", "set", stdin="not a token\n")
            assert r.code == 1 and "not a Steam access token" in r.err

            r = await run_cli(world, "token", "set", stdin=token + "\n")
            assert r.code == 0, r.err
            stored = await AccessTokenStore(world.config.data_dir).load()
            assert stored is not None and stored.value == token
            assert str(stored.steamid) in r.out

            # the JSON of ajaxgetasyncconfig is accepted as is
            r = await run_cli(world, "token", "set",
                              stdin='{"success": 1, "data": {"webapi_token": "%s"}}' % token)
            assert r.code == 0, r.err

            r = await run_cli(world, "token", "status")
            assert r.code == 0 and str(stored.steamid) in r.out and "h left" in r.out

            world.sandbox.reset_counts()
            r = await run_cli(world, "check")
            assert r.code == 0, r.out + r.err
            for name in ("discord token", "steam web api key", "steam access token", "itad key",
                         "channel new_games", "channel admin_reports"):
                row = next(ln for ln in r.out.splitlines() if ln.startswith(name))
                assert " OK " in row, row
            row = next(ln for ln in r.out.splitlines() if ln.startswith("discord server"))
            assert " OK " in row and "answers only in server" in row, row
            assert world.sandbox.counts["steam_webapi.GetFamilyGroupForUser"] == 1
            assert world.sandbox.counts["steam_webapi.GetPlayerSummaries"] == 1
            assert_no_secret(world, caplog.records, r.out, r.err)
            nursery.cancel_scope.cancel()


async def test_check_reports_bad_token_key_and_revoked_access_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            await AccessTokenStore(world.config.data_dir).set(world.sandbox.access_token)
            world.sandbox.expire_access_token()      # revoked on Steam's side, not yet expired
            from tests import _cli_helpers

            real_env = _cli_helpers.env_of
            monkeypatch.setattr(_cli_helpers, "env_of", lambda w: {
                **real_env(w), "FAMILYBOT_DISCORD_TOKEN": "wrong-token-123",
                "FAMILYBOT_STEAM_API_KEY": w.sandbox.bad_api_key})
            r = await run_cli(world, "check")
            assert r.code == 1
            row = next(ln for ln in r.out.splitlines() if ln.startswith("discord token"))
            assert "FAIL" in row and "FAMILYBOT_DISCORD_TOKEN" in row, row
            assert "Reset Token" in row and '"Bot " prefix' in row, row
            row = next(ln for ln in r.out.splitlines() if ln.startswith("steam web api key"))
            assert "FAIL" in row
            row = next(ln for ln in r.out.splitlines() if ln.startswith("steam access token"))
            assert "FAIL" in row and "token set" in row
            # the README's main way first, pasting a token as the fallback
            assert "familybot-trio steam login" in row
            assert row.index("steam login") < row.index("token set")
            assert "wrong-token-123" not in r.out + r.err
            nursery.cancel_scope.cancel()


async def test_db_backup_check_restore_purge(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            from familybot_trio.app import utcnow

            async with Store.open_ctx(world.config.db_path) as store:
                await store.catalog.put_details([AppDetails(AppId(440), "TF2", "game", True,
                                                            utcnow())])
            r = await run_cli(world, "db", "check")
            assert r.code == 0 and "integrity: ok" in r.out
            assert any(ln.split()[:2] == ["app_details", "1"] for ln in r.out.splitlines())

            backup = tmp_path / "backups" / "one.db"
            r = await run_cli(world, "db", "backup", str(backup))
            assert r.code == 0 and backup.exists()

            r = await run_cli(world, "purge", "details")
            assert r.code == 0 and "purged 1 rows from app_details" in r.out
            async with Store.open_ctx(world.config.db_path) as store:
                assert await store.catalog.details([AppId(440)]) == {}

            # restore refuses while a bot holds the lock
            fd = await blocking.run_sync("files", acquire_lock, lock_path(world.config))
            try:
                r = await run_cli(world, "db", "restore", str(backup))
                assert r.code == 1 and "running" in r.err
            finally:
                await blocking.run_sync("files", release_lock, fd, lock_path(world.config))

            r = await run_cli(world, "db", "restore", str(world.config.db_path))
            assert r.code == 1 and "is the live database itself" in r.err, r.err
            assert not [p for p in world.config.data_dir.iterdir() if "before-restore" in p.name]

            junk = tmp_path / "junk.db"
            await blocking.run_sync("files", junk.write_bytes, b"not sqlite at all" * 100)
            r = await run_cli(world, "db", "restore", str(junk))
            assert r.code == 1 and ("nothing was changed" in r.err or "not replaced" in r.err)

            r = await run_cli(world, "db", "restore", str(backup))
            assert r.code == 0, r.err
            kept = [p for p in world.config.data_dir.iterdir() if "before-restore" in p.name]
            assert len(kept) == 1
            async with Store.open_ctx(world.config.db_path) as store:
                assert AppId(440) in await store.catalog.details([AppId(440)])
            async with Store.open_ctx(kept[0]) as store:   # the replaced db: purged state
                assert await store.catalog.details([AppId(440)]) == {}

            r = await run_cli(world, "purge", "all")
            assert r.code == 0 and "app_details" in r.out and "prices" in r.out
            nursery.cancel_scope.cancel()


async def test_backup_while_writes_continue_restores_consistent_db(tmp_path: Path) -> None:
    from familybot_trio.app import utcnow

    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            async with Store.open_ctx(world.config.db_path) as store:
                written = 0
                stop = trio.Event()

                async def writer() -> None:
                    nonlocal written
                    while not stop.is_set():
                        batch = [AppDetails(AppId(written * 10 + i + 1), f"app {written}", "game",
                                            False, utcnow()) for i in range(10)]
                        await store.catalog.put_details(batch)   # 10 rows per transaction
                        written += 1
                        await trio.sleep(0)

                async with trio.open_nursery() as inner:
                    inner.start_soon(writer)
                    while written < 5:
                        await trio.sleep(0.01)
                    backup = tmp_path / "live.db"
                    r = await run_cli(world, "db", "backup", str(backup))
                    assert r.code == 0, r.err
                    stop.set()
            r = await run_cli(world, "db", "restore", str(backup))
            assert r.code == 0, r.err

            def inspect() -> tuple[str, int]:
                with sqlite3.connect(world.config.db_path) as c:
                    return (c.execute("PRAGMA integrity_check").fetchone()[0],
                            c.execute("SELECT count(*) FROM app_details").fetchone()[0])

            verdict, rows = await blocking.run_sync("files", inspect)
            assert verdict == "ok"
            assert rows >= 50 and rows % 10 == 0   # whole transactions only
            nursery.cancel_scope.cancel()


async def test_console_without_bot_fails_cleanly(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            r = await run_cli(world, "console")
            assert r.code == 1 and "no bot console at" in r.err
            nursery.cancel_scope.cancel()


async def test_demo_is_wired(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        r = await blocking.run_sync("files", _py, "-m", "familybot_trio", "demo", "--help")
    assert r.returncode == 0
    assert "--keep" in r.stdout          # the demo's own options: the call reached demo.main


async def test_check_fails_a_wrong_family_group_id_and_names_the_right_one(tmp_path: Path
                                                                             ) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            await AccessTokenStore(world.config.data_dir).set(world.sandbox.access_token)
            real = int(world.sandbox.family.family_groupid)
            cfg = trio.Path(tmp_path / "config.toml")
            text = await cfg.read_text()
            await cfg.write_text(text.replace(f"group_id = {real}", "group_id = 1234567"))
            r = await run_cli(world, "check")
            assert r.code == 1
            row = next(ln for ln in r.out.splitlines() if ln.startswith("steam access token"))
            assert "FAIL" in row and f"group_id = {real}" in row
            nursery.cancel_scope.cancel()


async def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`familybot-trio dashboard link | head -1`: the reader leaves early; no error text."""
    cfg = tmp_path / "config.toml"
    await blocking.run_sync("files", cfg.write_text,
                            '[family]\ngroup_id = 1\n[[members]]\nsteamid = "76561198000000001"\n'
                            'name = "A"\n[admins]\ndiscord_ids = ["111111111111111111"]\n')

    def run_with_closed_stdout() -> tuple[int, str]:
        proc = subprocess.Popen([sys.executable, "-m", "familybot_trio", "dashboard", "link",
                                 "--config", str(cfg)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        proc.stdout.close()  # like `head` that exited: every write gets EPIPE
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err

    with trio.fail_after(TIMEOUT_S):
        code, err = await blocking.run_sync("files", run_with_closed_stdout)
    assert "Broken pipe" not in err and "Traceback" not in err, err
    assert code == 1
