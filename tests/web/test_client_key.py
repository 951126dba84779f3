"""Which address the dashboard's sign-in rate limit counts against (web._auth.client_key).

The HTTP tests (test_signin_http.py) drive the limit through a real socket from 127.0.0.1;
these cover the header shapes and peers a socket test on loopback cannot produce: a proxy
that adds its own X-Forwarded-For line, and an IPv4 proxy seen through a dual-stack listener.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request

from familybot_trio.web._auth import client_key

PROXY = [ipaddress.ip_network("10.0.0.2/32")]


def request(peer: str, *forwarded_for: str) -> Request:
    headers = [(b"x-forwarded-for", line.encode()) for line in forwarded_for]
    return Request({"type": "http", "method": "GET", "path": "/auth/discord",
                    "headers": headers, "client": (peer, 40000)})


def test_a_proxys_own_header_line_counts_not_the_clients() -> None:
    # HAProxy's `option forwardfor` adds a line instead of appending to the client's.
    assert client_key(request("10.0.0.2", "6.6.6.6", "203.0.113.9"), PROXY) == "203.0.113.9"
    assert client_key(request("10.0.0.2", "6.6.6.6, 7.7.7.7", "203.0.113.9"),
                      PROXY) == "203.0.113.9"


def test_an_ipv4_proxy_on_a_dual_stack_listener_is_trusted() -> None:
    assert client_key(request("::ffff:10.0.0.2", "203.0.113.9"), PROXY) == "203.0.113.9"


def test_an_untrusted_peer_is_the_client_whatever_it_sends() -> None:
    assert client_key(request("198.51.100.4", "203.0.113.9"), PROXY) == "198.51.100.4"
    assert client_key(request("::ffff:198.51.100.4", "1.2.3.4"), PROXY) == "198.51.100.4"


def test_a_proxy_written_in_its_ipv4_mapped_form_is_trusted(tmp_path) -> None:
    """`trusted_proxies = ["::ffff:10.0.0.2"]` (as a dual-stack `ss` shows the proxy) means
    the IPv4 proxy: it is read as 10.0.0.2/32, so it matches however the peer is seen."""
    from familybot_trio.config import load_config
    from tests.test_config import ENV, MINIMAL, write

    cfg = load_config(write(tmp_path, MINIMAL + '[dashboard]\ntrusted_proxies = '
                            '["::ffff:10.0.0.2", "::ffff:192.168.1.0/120", "::1"]\n'), ENV)
    nets = list(cfg.dashboard.trusted_proxies)
    assert [str(n) for n in nets] == ["10.0.0.2/32", "192.168.1.0/24", "::1/128"]
    for peer in ("10.0.0.2", "::ffff:10.0.0.2", "::ffff:192.168.1.7"):
        assert client_key(request(peer, "203.0.113.9"), nets) == "203.0.113.9", peer
