"""The data directory's file rules (issue 14): no symlink is followed, files are 0600 in 0700
folders whatever the umask and whichever command creates them, an unsafe data dir is refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import trio

from familybot_trio import blocking, files
from familybot_trio._secretfile import read_or_none, write_atomic
from familybot_trio.cli._run import acquire_lock, lock_path, release_lock
from familybot_trio.errors import StoreError
from familybot_trio.store import Store
from tests._cli_helpers import run_cli, start_world

TIMEOUT_S = 60


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_a_symlinked_lock_is_refused_not_followed(tmp_path: Path, umask_022) -> None:
    data = tmp_path / "data"
    await blocking.run_sync("files", files.private_dir, data)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (data / "familybot.lock").symlink_to(victim)
    with pytest.raises(files.UnsafePath, match="symlink"):
        await blocking.run_sync("files", acquire_lock, data / "familybot.lock")
    assert victim.read_text() == "precious\n"  # neither truncated nor overwritten with a pid
    (data / "familybot.lock").unlink()
    fd = await blocking.run_sync("files", acquire_lock, data / "familybot.lock")
    assert _mode(data / "familybot.lock") == 0o600
    await blocking.run_sync("files", release_lock, fd, data / "familybot.lock")


async def test_a_symlinked_backups_folder_is_refused(tmp_path: Path, umask_022) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    async with Store.open_ctx(data / "familybot.db") as store:
        (data / "backups").symlink_to(elsewhere, target_is_directory=True)
        with pytest.raises(StoreError, match="symlink"):
            await store.backup(data / "backups" / "one.db")
        assert list(elsewhere.iterdir()) == []
        (data / "backups").unlink()
        made = await store.backup(data / "backups" / "one.db")
    assert _mode(data / "backups") == 0o700 and _mode(made) == 0o600


async def test_purge_creates_the_data_dir_0700_and_the_database_0600(tmp_path: Path,
                                                                    umask_022) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            data = world.config.data_dir
            assert not data.exists()
            r = await run_cli(world, "purge", "details")
            assert r.code == 0, r.err
            assert _mode(data) == 0o700
            assert _mode(world.config.db_path) == 0o600
            for extra in data.glob("familybot.db-*"):  # -wal / -shm follow the database
                assert _mode(extra) == 0o600
            nursery.cancel_scope.cancel()


async def test_a_data_dir_others_can_write_is_refused_clearly(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT_S):
        async with trio.open_nursery() as nursery:
            world = await start_world(nursery, tmp_path)
            data = world.config.data_dir
            data.mkdir()
            data.chmod(0o777)
            for argv in (("purge", "details"), ("run",)):
                r = await run_cli(world, *argv)
                assert r.code != 0
                assert "can be written by other users" in r.err and "chmod 700" in r.err, r.err
            assert not (data / "familybot.db").exists() and not lock_path(world.config).exists()
            nursery.cancel_scope.cancel()


async def test_secret_files_never_follow_a_symlink(tmp_path: Path, umask_022) -> None:
    data = tmp_path / "data"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    await blocking.run_sync("files", files.private_dir, data)
    (data / "steam_access_token").symlink_to(victim)
    with pytest.raises(files.UnsafePath, match="symlink"):
        await blocking.run_sync("files", read_or_none, data / "steam_access_token")
    await blocking.run_sync("files", write_atomic, data / "steam_access_token", "new\n")
    assert victim.read_text() == "precious\n"  # the link was replaced, not written through
    assert not (data / "steam_access_token").is_symlink()
    assert _mode(data / "steam_access_token") == 0o600 and _mode(data) == 0o700
