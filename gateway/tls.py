"""One verified TLS client context per process, shared by every httpx client.

Building an `httpx.AsyncClient` with the default `verify=True` makes a new `ssl.SSLContext`
and loads the whole CA bundle into it: ~40 ms of CPU per client. A process that opens a
handful of clients (the bot: Discord REST, the upstreams, Steam sign-in), or a test suite that
starts hundreds of bots, pays that every time for the same certificates. `tls_context()` builds
the context once, exactly as httpx would (`httpx.create_ssl_context()`: certifi's bundle, or
`SSL_CERT_FILE` / `SSL_CERT_DIR` when set), and hands the same object to every client through
`verify=`. An `SSLContext` may be shared by clients and threads; nobody here changes it after
it is built (httpcore only sets the ALPN list, the same one for every HTTP/1.1 client).
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's verified TLS client context (certifi's CA bundle unless SSL_CERT_FILE or
    SSL_CERT_DIR says otherwise; read when first called).

    Returns: the same `ssl.SSLContext` on every call; pass it as `httpx.AsyncClient(verify=...)`.
    The first call reads the CA bundle (a blocking file read of tens of ms): make it off the
    event loop, as building a client already is (`run_sync`).
    """
    return httpx.create_ssl_context()
