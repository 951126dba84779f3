"""What a sandbox route handler may use of the sandbox: the `SandboxContext` protocol.

The route modules (`_steam`, `_store`, `_itad`, `_feeds`, `_auth`) and `_mutations` export
plain handlers `async def handler(sb: SandboxContext, req) -> Response` (route tables map
a path to `(endpoint_name, handler)`); `_server` assembles them into one server and its
`Sandbox` satisfies this protocol. So imports go one way, `_server` -> route modules ->
this module, and nothing imports `_server` back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from familybot_trio.sandbox import _family as F
from familybot_trio.sandbox._data import StaticData
from familybot_trio.sandbox._knobs import RateLimit

if TYPE_CHECKING:  # type-only: _store's handlers take a SandboxContext themselves
    from familybot_trio.sandbox._free_offers import LiveOffers
    from familybot_trio.sandbox._mutations import Change
    from familybot_trio.sandbox._store import Storefront


class FeedBodies:
    """Pre-serialised feed bodies (bytes), rebuilt by `Sandbox.rebase_feeds`.

    Tests may assign their own bytes (e.g. a Reddit listing with an "Expired" flair); the
    next request serves them.
    """

    epic_json: bytes = b""
    reddit_rss: bytes = b""
    reddit_json: bytes = b""


class SandboxContext(Protocol):
    """The sandbox as its handlers see it (implemented by `familybot_trio.sandbox.Sandbox`).

    Attributes: family (the live sample family), static (recorded bodies), feeds, store
    (the storefront's price/details builder), urls, rate_limits, the keys the fakes accept,
    access_token (the current user token), free_offers (sandbox/_free_offers.py), change_log
    (sandbox/_mutations.py). The underscored members are the sign-in fake's
    way in to the token table and the clock (sandbox/_auth.py).
    """

    static: StaticData
    feeds: FeedBodies
    store: Storefront
    urls: dict[str, str]
    rate_limits: dict[str, RateLimit]
    api_key: str
    bad_api_key: str
    itad_key: str
    access_token: str
    free_offers: LiveOffers
    change_log: list[Change]
    _tokens: dict[str, float]
    _time_offset_s: float
    __dict__: dict[str, Any]

    @property
    def family(self) -> F.SandboxFamily: ...

    def now_s(self) -> float: ...

    def json(self, obj: Any, status: int = 200) -> Response: ...

    async def json_big(self, build: Callable[[], Any]) -> Response: ...

    def html_error(self, status: int) -> Response: ...

    def told(self, endpoint: str, steamid: int | None, items: list, via: str) -> list: ...

    def issue_access_token(self, steamid: int | None = None) -> str: ...

    def expire_access_token(self, token: str | None = None) -> None: ...

    def renew_access_token_if_expired(self) -> str: ...

    def _token_steamid(self, token: str) -> int | None: ...

    def check_access_token(self, req: Request) -> int | Response: ...

    def check_key_or_token(self, req: Request) -> Response | None: ...
