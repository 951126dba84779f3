"""`[dashboard]` in config.toml: defaults, overrides, and clear errors without echoing secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from familybot_trio.config import load_config
from familybot_trio.errors import ConfigError
from tests.test_config import ENV, MINIMAL, write


def test_dashboard_is_off_by_default_on_loopback_8450(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), ENV).dashboard
    assert not cfg.enabled and (cfg.host, cfg.port) == ("127.0.0.1", 8450)
    assert cfg.public_url == "http://127.0.0.1:8450"
    assert cfg.redirect_url == "http://127.0.0.1:8450/auth/callback"
    assert not cfg.oauth_enabled and cfg.metrics_token == ""


def test_dashboard_overrides_and_the_secret_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + """
[dashboard]
enabled = true
listen = "0.0.0.0:9000"
public_url = "https://bot.example.org"
client_id = "123456789012345678"
metrics_token = "0123456789abcdef0123"
""")
    cfg = load_config(path, {**ENV, "FAMILYBOT_DISCORD_CLIENT_SECRET": "oauth-SECRET-4"}).dashboard
    assert cfg.enabled and (cfg.host, cfg.port) == ("0.0.0.0", 9000)
    assert cfg.redirect_url == "https://bot.example.org/auth/callback"
    assert cfg.client_id == 123456789012345678 and cfg.oauth_enabled
    assert "oauth-SECRET-4" not in repr(cfg) and "0123456789abcdef0123" not in repr(cfg)


def test_trusted_proxies_take_addresses_and_networks(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[dashboard]\ntrusted_proxies = ["127.0.0.1", '
                 '"10.0.0.0/24", "::1"]\n')
    cfg = load_config(path, ENV).dashboard
    assert [str(n) for n in cfg.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/24", "::1/128"]
    assert load_config(write(tmp_path, MINIMAL), ENV).dashboard.trusted_proxies == ()


@pytest.mark.parametrize(("extra", "key", "fix"), [
    ('listen = "8450"', "dashboard.listen", "host:port"),
    ('client_id = "42"', "dashboard.client_id", "Discord id"),
    ('redirect_url = "https://bot.example.org/callback"', "dashboard.redirect_url",
     "/auth/callback"),
    ('metrics_token = "short-SECRET"', "dashboard.metrics_token", "at least 16"),
    ('enabled = "yes"', "dashboard.enabled", "true or false"),
    ('trusted_proxies = "127.0.0.1"', "dashboard.trusted_proxies", "a list"),
    ('trusted_proxies = ["caddy"]', "dashboard.trusted_proxies", "not an IP address"),
])
def test_bad_dashboard_values_are_named_with_the_fix(tmp_path: Path, extra: str, key: str,
                                                     fix: str) -> None:
    path = write(tmp_path, MINIMAL + "[dashboard]\n" + extra + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    assert info.value.key == key and fix in info.value.fix
    assert "short-SECRET" not in str(info.value)


def test_every_bad_trusted_proxy_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[dashboard]\ntrusted_proxies = ["caddy", "127.0.0.1", '
                 '"10.0.0.5/24", 7, "fd00::1/64"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    text = "\n".join([str(info.value), *getattr(info.value, "__notes__", [])])
    proxy_lines = [ln for ln in text.splitlines() if "dashboard.trusted_proxies" in ln]
    assert len(proxy_lines) == 4, text        # caddy, 10.0.0.5/24, 7, fd00::1/64
    for bad in ("'caddy'", "10.0.0.5/24", "7", "fd00::1/64"):
        assert any(bad in ln for ln in proxy_lines), (bad, text)


def test_a_trusted_proxy_network_with_host_bits_names_the_network_meant(
        tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[dashboard]\ntrusted_proxies = ["10.0.0.5/24"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, ENV)
    assert info.value.key == "dashboard.trusted_proxies"
    assert "host bits" in info.value.fix and '"10.0.0.0/24"' in info.value.fix, info.value.fix
    assert '"10.0.0.5"' in info.value.fix           # or the one address
