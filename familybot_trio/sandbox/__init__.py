"""Fake Steam Web API, storefront, ITAD, Epic and Reddit upstreams over real HTTP on 127.0.0.1.

Serves recorded real bodies (sandbox/data/, from ../shared/fixtures/upstream) and a seeded
sample family, with knobs for latency, faults, rate limits and changes over time:

    sandbox = await nursery.start(Sandbox(seed=1).serve)
    sandbox.urls["storefront"]        # "http://127.0.0.1:PORT/store"
    sandbox.fail_next("storefront.appdetails", Fault.RATE_LIMITED, n=2)
    sandbox.start_sale(892970, 50)
"""

from familybot_trio.sandbox._family import (AppId, AppInfo, LibraryApp, Member, Price,
                                            SandboxFamily, SteamID64, WishItem)
from familybot_trio.sandbox._knobs import Fault
from familybot_trio.sandbox._server import Sandbox

__all__ = ["AppId", "AppInfo", "Fault", "LibraryApp", "Member", "Price", "Sandbox",
           "SandboxFamily", "SteamID64", "WishItem"]
