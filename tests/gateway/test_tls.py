"""The one TLS client context every httpx client of the process shares (gateway/tls.py)."""

from __future__ import annotations

import ssl

from gateway import open_client, tls_context


def test_one_verifying_context_with_the_ca_bundle_loaded() -> None:
    ctx = tls_context()
    assert tls_context() is ctx
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 0


async def test_rest_clients_use_the_shared_context() -> None:
    async with await open_client() as client:
        assert client._transport._pool._ssl_context is tls_context()
