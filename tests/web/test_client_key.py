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
