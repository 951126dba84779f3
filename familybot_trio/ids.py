"""Steam's integer ids as their own types: the one home of `AppId` and `SteamID64`.

`AppId = NewType("AppId", int)` makes passing a SteamID64 where an appid belongs a type
error. upstream/models, store/records and the sandbox all import these two from here (and
re-export them), so an `AppId` from a parser is the same type a repository takes.

    AppId       a Steam app (game, DLC, tool): appdetails `steam_appid`, GetItems `appid`
    SteamID64   a Steam account as 64-bit int (7656119...), e.g. a family member
"""

from __future__ import annotations

from typing import NewType

AppId = NewType("AppId", int)
SteamID64 = NewType("SteamID64", int)

__all__ = ["AppId", "SteamID64"]
