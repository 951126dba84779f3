"""The `[dashboard]` table of config.toml and its secret (FAMILYBOT_DISCORD_CLIENT_SECRET).

    [dashboard]
    enabled = true
    listen = "127.0.0.1:8450"                 # host:port the web server binds
    public_url = "https://bot.example.org"    # how browsers reach it (default http://<listen>)
    client_id = "123456789012345678"          # Discord application (OAuth2 client) id
    redirect_url = "https://bot.example.org/auth/callback"   # default public_url + path
    metrics_token = "long-random-text"        # lets remote scrapers read /metrics (Bearer)
    trusted_proxies = ["127.0.0.1"]           # reverse proxies whose X-Forwarded-For counts

The OAuth2 client secret comes only from the environment. Without client_id the Discord
sign-in button is hidden and only the one-time links of `/admin_dashboard` sign people in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from familybot_trio.config._reader import Reader as _Reader

ENV_CLIENT_SECRET: Final = "FAMILYBOT_DISCORD_CLIENT_SECRET"
DEFAULT_LISTEN: Final = "127.0.0.1:8450"
#: Path of the OAuth2 redirect (callback) route; register public_url + this in the portal.
CALLBACK_PATH: Final = "/auth/callback"
_KEYS: Final = {"enabled", "listen", "public_url", "client_id", "redirect_url", "metrics_token",
                 "trusted_proxies"}
#: An address or network in `trusted_proxies`.
ProxyNet = ipaddress.IPv4Network | ipaddress.IPv6Network
#: A metrics token shorter than this is refused (it guards remote access to /metrics).
MIN_METRICS_TOKEN_CHARS: Final = 16


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """Validated `[dashboard]` settings; secrets hidden from repr.

    Attributes: enabled; host, port (what to bind; port 0 = any free port, for tests);
        public_url (no trailing "/"); client_id (Discord application id or None);
        redirect_url; metrics_token ("" = /metrics only from loopback); client_secret
        (FAMILYBOT_DISCORD_CLIENT_SECRET, "" when unset); trusted_proxies (networks of the
        reverse proxies whose X-Forwarded-For names the real client; empty = trust none,
        every request is keyed on its TCP peer).
    """

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8450
    public_url: str = ""
    client_id: int | None = None
    redirect_url: str = ""
    metrics_token: str = field(default="", repr=False)
    client_secret: str = field(default="", repr=False)
    trusted_proxies: tuple[ProxyNet, ...] = ()

    @property
    def oauth_enabled(self) -> bool:
        """True when Discord OAuth2 sign-in is configured (client id and secret)."""
        return self.client_id is not None and bool(self.client_secret)

    @property
    def proxies_trusting_everyone(self) -> list[str]:
        """The `trusted_proxies` entries that match every address (0.0.0.0/0, ::/0): with
        them every peer counts as a proxy, so any client can pick its own X-Forwarded-For
        (and so its sign-in rate-limit key). Returns: their texts ([] normally)."""
        return [str(n) for n in self.trusted_proxies if n.prefixlen == 0]


def _listen(r: _Reader, value: object) -> tuple[str, int]:
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        r.fail("dashboard.listen", value, 'use "host:port", e.g. "127.0.0.1:8450" (or '
               '"0.0.0.0:8450" behind a reverse proxy)')
        return "127.0.0.1", 8450
    return host.strip("[]"), int(port)


def _unmapped(net: ProxyNet) -> ProxyNet:
    """An IPv4-mapped IPv6 network ("::ffff:10.0.0.1", "::ffff:10.0.0.0/120") as the IPv4
    network it names: the dashboard compares a dual-stack listener's mapped peers as IPv4,
    so the mapped form would otherwise never match."""
    mapped = net.network_address.ipv4_mapped if net.version == 6 else None
    if mapped is None or net.prefixlen < 96:
        return net
    return ipaddress.ip_network(f"{mapped}/{net.prefixlen - 96}")


def _trusted_proxies(r: _Reader, value: object) -> tuple[ProxyNet, ...]:
    """Every entry of `trusted_proxies` as a network; each bad entry is its own error (all
    are reported at once), and a network with host bits set ("10.0.0.5/24") is refused with
    the network it probably meant, not silently widened."""
    fix = ('use a list of the reverse proxies\' addresses or networks, e.g. '
           '["127.0.0.1"] for Caddy on this host or ["10.0.0.0/24", "::1"]')
    if not isinstance(value, list):
        r.fail("dashboard.trusted_proxies", value, fix)
        return ()
    nets, bad = [], False
    for item in value:
        text = item.strip() if isinstance(item, str) else None
        try:
            nets.append(_unmapped(ipaddress.ip_network(text)))  # strict: no host bits
            continue
        except (TypeError, ValueError):
            pass
        bad = True
        try:
            meant = ipaddress.ip_network(text, strict=False)
        except (TypeError, ValueError):
            r.fail("dashboard.trusted_proxies", item, f"{item!r} is not an IP address or "
                   f"network; {fix}")
            continue
        address = str(text).split("/", 1)[0]
        r.fail("dashboard.trusted_proxies", item, f"{item!r} has host bits set: write "
               f'"{meant}" for the network {meant} or "{address}" for that one proxy')
    return () if bad else tuple(nets)


def read_dashboard(r: _Reader, data: Mapping[str, Any], env: Mapping[str, str]
                   ) -> DashboardConfig:
    """Parse `[dashboard]` from the TOML data; problems go to `r` (ConfigErrors).

    Args: r: the config reader collecting errors; data: the whole parsed TOML; env: where
        FAMILYBOT_DISCORD_CLIENT_SECRET comes from.
    Returns: a DashboardConfig (defaults for every bad value, the error is recorded).
    """
    t = r.table(data, "dashboard", _KEYS)
    enabled = t.get("enabled", False)
    if not isinstance(enabled, bool):
        r.fail("dashboard.enabled", enabled, "use true or false (no quotes)")
        enabled = False
    host, port = _listen(r, t.get("listen", DEFAULT_LISTEN))
    shown_host = f"[{host}]" if ":" in host else host
    public = t.get("public_url", f"http://{shown_host}:{port}")
    public_url = r.url(public, "dashboard.public_url") or f"http://{shown_host}:{port}"
    client_id = None
    if t.get("client_id") not in (None, ""):
        client_id = r.snowflake(t["client_id"], "dashboard.client_id")
    redirect = t.get("redirect_url", public_url + CALLBACK_PATH)
    redirect_url = r.url(redirect, "dashboard.redirect_url") or public_url + CALLBACK_PATH
    if urlsplit(redirect_url).path != CALLBACK_PATH:
        r.fail("dashboard.redirect_url", redirect, f"the path must be {CALLBACK_PATH} (the "
               f"dashboard's callback route), e.g. \"{public_url}{CALLBACK_PATH}\"")
    token = t.get("metrics_token", "")
    if not isinstance(token, str) or (token and len(token) < MIN_METRICS_TOKEN_CHARS):
        # The value is never echoed: it is a credential.
        r.fail("dashboard.metrics_token", "<not shown>", f"use a random text of at least "
               f"{MIN_METRICS_TOKEN_CHARS} characters, e.g. from `openssl rand -hex 24`")
        token = ""
    secret = env.get(ENV_CLIENT_SECRET, "").strip()
    proxies = _trusted_proxies(r, t.get("trusted_proxies", []))
    return DashboardConfig(enabled=enabled, host=host, port=port, public_url=public_url,
                           client_id=client_id, redirect_url=redirect_url,
                           metrics_token=token, client_secret=secret, trusted_proxies=proxies)
