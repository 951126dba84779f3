"""The library page: its query, and an in-memory read model of the library it filters.

Why a read model: the page filters and sorts the whole library (2,000 apps for a big family)
on every request. Reading it from SQLite each time cost ~5 ms of queries and ~6,000 new
objects per request; those objects outlived the young GC generations while the request
waited for its threads, so every few dozen requests a full (generation 2) collection of
the whole heap ran, pausing every thread for 50-250 ms: that was the page's p99 (bench S8).

So the page keeps one `LibraryModel`: every app as a plain tuple of ready values (names
resolved, name casefolded, owners' names joined, date formatted) plus, per sort order, the
apps' indexes already sorted. A request only walks one order, keeps the matches and cuts
one page: no query, no sort, a few hundred new objects. The model is rebuilt when the
store says the library view changed (`store.library_view.version`, bumped by the writes of
library apps, owners, app details and members) and at least every MODEL_MAX_AGE_S, which
picks up writes made by another process (e.g. `familybot-trio populate` beside the bot).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import urlencode

import trio

from familybot_trio import blocking
from familybot_trio.features import _common
from familybot_trio.store import AppId, LibraryRow
from familybot_trio.store.records import from_ts

if TYPE_CHECKING:
    from familybot_trio.app import App

#: Library rows per page (the page stays fast and readable with 2,000 apps).
PAGE_ROWS: Final = 100
SORTS: Final = ("name", "copies", "acquired", "appid")
#: Longest a model is used without asking the store again (s): other processes' writes.
MODEL_MAX_AGE_S: Final = 60.0


@dataclass(frozen=True, slots=True)
class LibraryFilter:
    """The library page's query: q (name contains), owner (SteamID64 text), type, copies
    (minimum), excluded ("hide", "all", "only"), sort (one of SORTS), desc, page (0-based)."""

    q: str = ""
    owner: str = ""
    type: str = ""
    copies: int = 1
    excluded: str = "hide"
    sort: str = "name"
    desc: bool = False
    page: int = 0

    @classmethod
    def from_query(cls, q: Any) -> LibraryFilter:
        """Parse query parameters; anything malformed falls back to the default."""
        def num(name: str, default: int, lo: int, hi: int) -> int:
            try:
                return min(hi, max(lo, int(q.get(name, default))))
            except ValueError:
                return default
        excluded = q.get("excluded", "hide")
        sort = q.get("sort", "name")
        return cls(q=q.get("q", "")[:100].strip(), owner=q.get("owner", "")[:20],
                   type=q.get("type", "")[:20], copies=num("copies", 1, 1, 6),
                   excluded=excluded if excluded in ("hide", "all", "only") else "hide",
                   sort=sort if sort in SORTS else "name", desc=q.get("desc") == "1",
                   page=num("page", 0, 0, 10_000))

    def url(self, **changes: Any) -> str:
        """This filter's URL with some fields changed (for the page links)."""
        values = {"q": self.q, "owner": self.owner, "type": self.type, "copies": self.copies,
                  "excluded": self.excluded, "sort": self.sort, "desc": int(self.desc),
                  "page": self.page, **changes}
        return "/?" + urlencode(values)


class _App(NamedTuple):
    """One app of the model, every value ready to filter on or show."""

    appid: int
    name: str
    folded: str            # name.casefold(), for the search
    kind: str              # app details type, else the library's, else "unknown"
    owners: tuple[int, ...]
    owners_text: str       # member names, sorted, joined
    acquired: str          # YYYY-MM-DD or ""
    excluded: bool


@dataclass(frozen=True, slots=True)
class LibraryModel:
    """The library as the page lists it (see the module docstring).

    Attributes: version (store.library_view.version it was read at); built_at (trio time);
        apps (tuple of _App); orders (sort name -> app indexes in ascending order);
        types (sorted kinds); members ((SteamID64, name) sorted by name).
    """

    version: int
    built_at: float
    apps: tuple[_App, ...]
    orders: dict[str, tuple[int, ...]]
    types: tuple[str, ...]
    members: tuple[tuple[int, str], ...]

    @classmethod
    def build(cls, rows: list[LibraryRow], fetched: dict[int, tuple[str, str]],
              names: dict[int, str], version: int, built_at: float) -> LibraryModel:
        """Sync (CPU, ~10 ms for 2,000 apps): the model of `rows`.

        Args: fetched: appid -> (name, type) for rows whose name the store lacked;
            names: SteamID64 -> member name.
        """
        apps, keys = [], []
        for a in rows:
            if a.name is not None:
                name, kind = a.name, a.details_type
            else:
                name, kind = fetched.get(a.appid) or (f"app {a.appid}", "")
            folded = name.casefold()
            apps.append(_App(a.appid, name, folded, kind or a.app_type or "unknown", a.owners,
                             ", ".join(sorted(names.get(s, str(s)) for s in a.owners)),
                             _date(from_ts(a.acquired_ts)), a.exclude_reason != 0))
            keys.append((folded, a.acquired_ts or a.first_seen_ts))
        # Every key ends with the appid, so a descending page is exactly the reverse walk.
        by = {"name": lambda i: (keys[i][0], apps[i].appid),
              "copies": lambda i: (len(apps[i].owners), keys[i][0], apps[i].appid),
              "acquired": lambda i: (keys[i][1], keys[i][0], apps[i].appid),
              "appid": lambda i: apps[i].appid}
        index = range(len(apps))
        return cls(version, built_at, tuple(apps),
                   {s: tuple(sorted(index, key=by[s])) for s in SORTS},
                   tuple(sorted({a.kind for a in apps})),
                   tuple(sorted(names.items(), key=lambda kv: kv[1])))

    def page(self, f: LibraryFilter) -> dict[str, Any]:
        """Sync (CPU, ~1 ms for 2,000 apps): the library template's context for `f`."""
        needle = f.q.casefold()
        owner = int(f.owner) if f.owner.isdigit() else None
        first = f.page * PAGE_ROWS
        order = self.orders[f.sort]
        total, shown = 0, []
        for i in (reversed(order) if f.desc else order):
            a = self.apps[i]
            if (needle and needle not in a.folded) or (f.owner and owner not in a.owners) \
                    or (f.type and a.kind != f.type) or len(a.owners) < f.copies \
                    or (f.excluded == "hide" and a.excluded) \
                    or (f.excluded == "only" and not a.excluded):
                continue
            if first <= total < first + PAGE_ROWS:
                shown.append({"appid": a.appid, "name": a.name, "type": a.kind,
                              "copies": len(a.owners), "owners": a.owners_text,
                              "acquired": a.acquired, "excluded": a.excluded})
            total += 1
        return {"f": f, "rows": shown, "total": total, "first": first, "sorts": SORTS,
                "types": self.types, "members": self.members,
                "prev_url": f.url(page=f.page - 1) if f.page > 0 else None,
                "next_url": f.url(page=f.page + 1) if first + PAGE_ROWS < total else None}


class LibraryModels:
    """Holds the current LibraryModel of one App and rebuilds it when it is out of date."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.model: LibraryModel | None = None
        self.builds = 0
        self._lock = trio.Lock()

    def _current(self, version: int) -> LibraryModel | None:
        m = self.model
        if m is None or m.version != version or trio.current_time() - m.built_at > \
                MODEL_MAX_AGE_S:
            return None
        return m

    async def get(self) -> LibraryModel:
        """The current model (read from the store only when out of date).

        Raises: StoreError; UpstreamError when app names are missing from the store and the
            catalog fails (the next request tries again).
        """
        app = self.app
        view = app.store.library_view
        model = self._current(view.version)
        if model is not None:
            return model
        async with self._lock:  # one rebuild at a time; the others wait for it
            version = view.version  # taken before reading: a write meanwhile bumps it
            model = self._current(version)
            if model is not None:
                return model
            rows = await view.rows()
            names = await _common.member_names(app)
            # Names the store lacks (no `populate` yet): the catalog (its cache, else
            # Steam), in chunks so a cold start stays small.
            missing = [AppId(r.appid) for r in rows if r.name is None]
            fetched: dict[int, tuple[str, str]] = {}
            for start in range(0, len(missing), _common.CATALOG_CHUNK):
                got = await app.catalog.details(missing[start:start + _common.CATALOG_CHUNK],
                                                country=app.config.country)
                fetched.update({int(a): (d.name, d.type) for a, d in got.items()})
            self.model = await blocking.run_sync("dashboard", LibraryModel.build, rows,
                                                 fetched, names, version, trio.current_time())
            self.builds += 1
            return self.model


def _date(when: dt.datetime | None) -> str:
    return "" if when is None else f"{when:%Y-%m-%d}"
