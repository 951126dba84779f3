"""config.toml + environment secrets: the example loads, every bad value is named and fixable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from familybot_trio import blocking, offloop
from familybot_trio.config import DEFAULT_UPSTREAMS, load_config
from familybot_trio.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
ENV = {
    "FAMILYBOT_DISCORD_TOKEN": "discord-token-SECRET-1",
    "FAMILYBOT_STEAM_API_KEY": "steam-key-SECRET-2",
    "FAMILYBOT_ITAD_API_KEY": "itad-key-SECRET-3",
}
MINIMAL = """
[family]
group_id = 42
[[members]]
steamid = "76561198000000001"
name = "Alice"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_loads_with_every_section() -> None:
    cfg = load_config(EXAMPLE, ENV)
    assert cfg.family_group_id == 1234567
    assert [m.name for m in cfg.members] == ["Alice", "Bob"]
    assert cfg.members[0].steamid == 76561198000000001
    assert cfg.members[0].discord_id == 111111111111111111
    assert cfg.members[1].discord_id is None
    assert cfg.channels.deals == 222222222222222223
    assert cfg.admin_ids == {111111111111111111}
    assert (cfg.country, cfg.language) == ("US", "en")
    assert cfg.schedules.free_games_s == 30 * 60
    assert cfg.thresholds.wishlist_min_members == 2
    assert cfg.thresholds.bundle_threshold == 5
    assert cfg.thresholds.free_games_repeat_after_days == 180
    assert cfg.thresholds.historical_low_buffer == 1.2
    assert cfg.prefix_commands is False
    assert cfg.data_dir == EXAMPLE.parent / "data"
    assert cfg.db_path.parent == cfg.data_dir
    assert dict(cfg.upstreams) == DEFAULT_UPSTREAMS
    assert cfg.secrets.discord_token == ENV["FAMILYBOT_DISCORD_TOKEN"]
    assert cfg.member(76561198000000002).name == "Bob"


def test_every_key_of_example_is_documented_by_a_comment() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "[")) and "=" in stripped:
            has_comment = "#" in stripped or lines[i - 1].strip().startswith("#") or any(
                lines[j].strip().startswith("#") for j in range(max(0, i - 8), i))
            assert has_comment, f"example key without a comment: {line!r}"


def test_example_shows_every_key_of_discord_commands_and_dashboard() -> None:
    """README: every key is explained in config.example.toml (set, or commented out)."""
    import re

    from familybot_trio.config._dashboard import _KEYS as DASHBOARD_KEYS

    section, seen = "", set()
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^#?\s*\[([\w.]+)\]\s*$", line):
            section = m[1]
            seen.add(section)
        elif m := re.match(r"^#?\s*(\w+)\s*=", line):
            seen.add(f"{section}.{m[1]}")
    wanted = {"discord.guild_id", "commands.cooldown_s", "commands.max_running_per_user",
              "commands.cooldowns", *(f"dashboard.{k}" for k in DASHBOARD_KEYS)}
    assert wanted <= seen, sorted(wanted - seen)


def test_full_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, """
data_dir = "/tmp/fb"
prefix_commands = true
""" + MINIMAL + """
[prices]
country = "FR"
language = "fr_FR"
[schedules]
deals_min = 5
[deals]
min_discount_pct = 50
[new_games]
announce_since = 2025-01-31
[limits]
sqlite_read = 2
[logging]
level = "debug"
[logging.modules]
"gateway.shard" = "warning"
[upstream]
storefront = "http://127.0.0.1:8123/"
""")
    cfg = load_config(path, ENV)
    assert cfg.data_dir == Path("/tmp/fb")
    assert cfg.prefix_commands is True
    assert (cfg.country, cfg.language) == ("FR", "fr_FR")
    assert cfg.schedules.deals_s == 300
    assert cfg.thresholds.deal_min_discount_pct == 50
    assert cfg.thresholds.new_games_announce_since == dt.date(2025, 1, 31)
    assert dict(cfg.limits) == {"sqlite_read": 2}
    assert cfg.log_level == "DEBUG" and dict(cfg.log_levels) == {"gateway.shard": "WARNING"}
    assert cfg.upstreams["storefront"] == "http://127.0.0.1:8123"
    assert cfg.upstreams["itad"] == DEFAULT_UPSTREAMS["itad"]


BAD = [
    # (toml appended to MINIMAL or replacing it, key, value, words of the fix)
    ('[[members]]\nsteamid = "76561190000000001"\nname = "X"', "[[members]] #2 steamid",
     "76561190000000001", "SteamID64"),
    ('[[members]]\nsteamid = "76561197960265728"\nname = "X"', "[[members]] #2 steamid",
     "76561197960265728", "SteamID64"),
    ('[[members]]\nsteamid = "alice"\nname = "X"', "[[members]] #2 steamid", "alice", "SteamID64"),
    ('[[members]]\nsteamid = "76561198000000001"\nname = "Again"', "[[members]] #2 steamid",
     "76561198000000001", "twice"),
    ('[[members]]\nsteamid = "76561198000000002"\nname = ""', "[[members]] #2 name", "", "display name"),
    ('[[members]]\nsteamid = "76561198000000002"\nname = "B"\ndiscord_id = "12ab"',
     "[[members]] #2 discord_id", "12ab", "Copy ID"),
    ('[channels]\ndeals = 17', "channels.deals", 17, "Discord id"),
    ('[channels]\ndealz = "222222222222222223"', "channels.dealz", "<not shown>",
     "did you mean `deals`"),
    ('[admins]\ndiscord_ids = "1"', "admins.discord_ids", "1", "list"),
    ('[prices]\ncountry = "usa"', "prices.country", "usa", "ISO 3166-1"),
    ('[prices]\nlanguage = "klingon"', "prices.language", "klingon", "locale"),
    ('[schedules]\ndeals_min = 0', "schedules.deals_min", 0, "number from 1"),
    ('[schedules]\ndeals_min = "often"', "schedules.deals_min", "often", "number"),
    ('[wishlist]\nmin_members = 1', "wishlist.min_members", 1, "from 2 to 6"),
    ('[deals]\nmin_discount_pct = 130', "deals.min_discount_pct", 130, "from 1 to 100"),
    ('[deals]\nhistorical_low_buffer = 0.5', "deals.historical_low_buffer", 0.5, "from 1 to 3"),
    ('[new_games]\nbundle_threshold = "5"', "new_games.bundle_threshold", "5", "without quotes"),
    ('[new_games]\nannounce_since = "2025-01-01"', "new_games.announce_since", "2025-01-01",
     "bare TOML date"),
    ('[free_games]\nrepeat_after_days = 0', "free_games.repeat_after_days", 0, "from 1 to 3650"),
    ('prefix_commands = "yes"', "prefix_commands", "yes", "true or false"),
    ('[limits]\nsqlite_write = 0', "limits.sqlite_write", 0, "from 1 to 64"),
    ('[limits]\nthreads = 3', "limits.threads", "<not shown>", "known keys"),
    ('[logging]\nlevel = "LOUD"', "logging.level", "LOUD", "DEBUG"),
    ('[logging.modules]\n"gateway" = "chatty"', "logging.modules.gateway", "chatty", "DEBUG"),
    ('[upstream]\nitad = "ftp://x"', "upstream.itad", "ftp://x", "http(s) URL"),
    ('[upstream]\nsteam = "http://x"', "upstream.steam", "<not shown>", "did you mean"),
    ('[family]\nextra = 1', "<syntax>", None, "TOML syntax"),  # table defined twice
]


@pytest.mark.parametrize(("extra", "key", "value", "fix"), BAD, ids=[b[1] for b in BAD])
def test_bad_value_names_file_key_value_and_fix(tmp_path: Path, extra: str, key: str,
                                                value: object, fix: str) -> None:
    # top-level keys must come before the first table
    text = extra + "\n" + MINIMAL if extra.startswith("prefix_") else MINIMAL + extra + "\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    err = info.value
    assert err.path == str(path) and str(path) in str(err)
    assert err.key == key and key in str(err)
    if value is not None:
        assert err.value == value and repr(value) in str(err)
    assert fix in err.fix, err.fix


def test_missing_group_id_and_members(tmp_path: Path) -> None:
    path = write(tmp_path, "data_dir = \"d\"\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    assert info.value.key == "family.group_id"
    assert "family.group_id is missing: set it" in str(info.value)
    assert "None" not in str(info.value) and "invalid" not in str(info.value)
    # the other problem rides along as a note, so `check` shows everything at once
    assert any("members is missing" in note for note in info.value.__notes__)


def test_a_members_missing_keys_say_missing_and_members_count_from_1(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[[members]]\ndiscord_id = "222222222222222222"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    messages = [str(info.value), *info.value.__notes__]
    assert f"{path}: [[members]] #2 steamid is missing: add the member's 17-digit SteamID64" \
        in messages[0]
    assert any("[[members]] #2 name is missing" in m for m in messages)
    assert not any("#1" in m or "None" in m for m in messages)  # the first member is fine


def test_missing_file_and_syntax(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="copy config.example.toml"):
        load_config(tmp_path / "nope.toml", ENV)
    with pytest.raises(ConfigError, match="line 1"):
        load_config(write(tmp_path, "x = = 1\n"), ENV)


def test_missing_secret_names_env_var_and_optional_mode(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    env = {k: v for k, v in ENV.items() if k != "FAMILYBOT_ITAD_API_KEY"}
    with pytest.raises(ConfigError) as info:
        load_config(path, env)
    assert info.value.key == "FAMILYBOT_ITAD_API_KEY"
    assert "export FAMILYBOT_ITAD_API_KEY" in info.value.fix
    assert "FAMILYBOT_ITAD_API_KEY is missing" in str(info.value)
    cfg = load_config(path, {}, require_secrets=False)
    assert cfg.secrets.discord_token == "" and cfg.secrets.itad_api_key == ""


def test_secret_with_whitespace_is_rejected_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path, {**ENV, "FAMILYBOT_STEAM_API_KEY": " steam-key-SECRET-2\n"})
    assert info.value.key == "FAMILYBOT_STEAM_API_KEY"
    assert "SECRET" not in str(info.value) and "SECRET" not in repr(info.value.value)


def test_secrets_never_in_repr_or_str(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), ENV)
    for text in (repr(cfg), str(cfg), repr(cfg.secrets), str(cfg.secrets), f"{cfg}"):
        for secret in ENV.values():
            assert secret not in text
    assert "discord_token" in repr(cfg.secrets)  # says which are set, not their values


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), ENV)
    with pytest.raises(AttributeError):
        cfg.country = "FR"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.upstreams["itad"] = "http://x"  # type: ignore[index]


async def test_load_config_refuses_the_loop_and_works_through_the_blocking_policy() -> None:
    with pytest.raises(offloop.BlockingOnLoop, match=r"load_config\) ran on the trio thread"):
        load_config(EXAMPLE, ENV)  # a file read on the loop: the guard refuses it
    assert len(offloop.take_violations()) == 1
    cfg = await blocking.run_sync("files", load_config, EXAMPLE, ENV)
    assert cfg.family_group_id == 1234567


def test_a_secret_under_a_mistyped_key_is_not_echoed(tmp_path: Path) -> None:
    """A token pasted into config.toml by mistake must not reach the error (or the journal)."""
    secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.SECRETVALUE.abcdefghijklmnop"
    path = tmp_path / "config.toml"
    path.write_text(f'discord_token = "{secret}"\n' + MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    assert "discord_token" in str(info.value) and secret not in str(info.value)
    assert all(secret not in n for n in getattr(info.value, "__notes__", []))


def test_data_dir_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "config.toml"
    path.write_text('data_dir = "afile"\n' + MINIMAL)
    with pytest.raises(ConfigError, match="data_dir.*a file, not a folder"):
        load_config(path, ENV)


BOT_TOKEN = "MTExMTExMTExMTExMTExMTEx.GhIjKl.abcdefghijklmnopqrstuvwxyz0123"
HEX_KEY = "0123456789ABCDEF0123456789abcdef"


@pytest.mark.parametrize(("extra", "key"), [
    (f'[channels]\nnew_games = "{BOT_TOKEN}"', "channels.new_games"),
    (f'[admins]\ndiscord_ids = ["{HEX_KEY}"]', "admins.discord_ids[0]"),
    (f'[admins]\ndiscord_ids = "{HEX_KEY}"', "admins.discord_ids"),
    ('[discord]\nguild_id = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI3NjU2MTE5OCJ9.c2lnbmF0dXJl"',
     "discord.guild_id"),
])
def test_a_secret_in_a_known_key_is_not_echoed(tmp_path: Path, extra: str, key: str) -> None:
    secret = extra.split('"')[1]
    path = write(tmp_path, MINIMAL.replace(
        'name = "Alice"', f'name = "Alice"\ndiscord_id = "{BOT_TOKEN}"') + extra + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    texts = [str(info.value), *getattr(info.value, "__notes__", [])]
    assert any(key in t for t in texts), texts
    assert all(secret not in t and BOT_TOKEN not in t for t in texts), texts
    assert all("<not shown>" in t and "FAMILYBOT_" in t for t in texts), texts


def test_ordinary_bad_values_are_still_shown(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[channels]\nnew_games = "general-chat"\n')
    with pytest.raises(ConfigError, match="'general-chat'"):
        load_config(path, ENV)


@pytest.mark.parametrize(("extra", "var"), [
    (f'discord_token = "{BOT_TOKEN}"\n', "FAMILYBOT_DISCORD_TOKEN"),
    (f'[admins]\nsteam_api_key = "{HEX_KEY}"\n', "FAMILYBOT_STEAM_API_KEY"),
    ('[prices]\nitad_key = "x"\n', "FAMILYBOT_ITAD_API_KEY"),
    ('[dashboard]\nclient_secret = "x"\n', "FAMILYBOT_DISCORD_CLIENT_SECRET"),
])
def test_a_secret_under_a_wrong_key_says_where_secrets_go(tmp_path: Path, extra: str,
                                                           var: str) -> None:
    text = extra + MINIMAL if not extra.startswith("[") else MINIMAL + extra
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), ENV)
    msg = str(info.value)
    assert var in msg and "remove this line" in msg and "reset" in msg, msg
    assert "did you mean" not in msg and msg.count("unknown key") == 1, msg


def test_data_dir_under_a_file_or_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    path = write(tmp_path, 'data_dir = "afile/sub"\n' + MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    assert info.value.key == "data_dir" and "afile is a file" in info.value.fix
    assert "nearest existing folder" not in str(info.value)
    # /proc refuses mkdir even for root, whose permission bits say "writable"
    path = write(tmp_path, 'data_dir = "/proc/nope"\n' + MINIMAL)
    with pytest.raises(ConfigError, match=r"data_dir = '/proc/nope' is invalid: "
                                          r"/proc/nope cannot be created") as info:
        load_config(path, ENV)
    assert "point data_dir at a folder" in info.value.fix
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".familybot-probe")]
