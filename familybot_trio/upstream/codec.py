"""Records <-> JSON text, so any key-value table can back a CatalogCache.

A SQLite-backed cache can store `dumps(record)` in a TEXT column and return `loads(text)`:
every record of models.py round-trips exactly (tuples, frozensets, datetimes, nested
records, NewType ids). Pure and synchronous: call it inside the store's worker thread.

Encoding: a record is {"__t": "<ClassName>", field: value...}; a frozenset is
{"__fs": [sorted items]}; a datetime is {"__dt": "<ISO 8601 with offset>"}; tuples are
JSON lists (records hold no lists).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import datetime
from typing import Any, Final

from familybot_trio.upstream import models

#: Exact types returned as they are (NewType ids are their base type at run time).
_LEAVES: Final = frozenset({str, int, float, bool})
RECORD_TYPES: Final[dict[str, type]] = {
    name: obj for name, obj in vars(models).items()
    if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == models.__name__
}


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def to_plain(obj: Any) -> Any:
    """A record (or value inside one) -> JSON-ready plain data."""
    if obj is None or type(obj) in _LEAVES:  # most values: nothing to convert
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {"__t": type(obj).__name__}
        for name in _field_names(type(obj)):
            out[name] = to_plain(getattr(obj, name))
        return out
    if isinstance(obj, frozenset):
        return {"__fs": sorted(to_plain(x) for x in obj)}
    if isinstance(obj, datetime):
        return {"__dt": obj.isoformat()}
    if isinstance(obj, tuple | list):
        return [to_plain(x) for x in obj]
    return obj


def from_plain(data: Any) -> Any:
    """Inverse of to_plain. Raises: ValueError for an unknown record type."""
    if isinstance(data, list):
        return tuple(from_plain(x) for x in data)
    if isinstance(data, dict):
        if "__fs" in data:
            return frozenset(from_plain(x) for x in data["__fs"])
        if "__dt" in data:
            return datetime.fromisoformat(data["__dt"])
        name = data.get("__t")
        cls = RECORD_TYPES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(f"unknown record type {name!r} in cached data; clear the cache")
        return cls(**{k: from_plain(v) for k, v in data.items() if k != "__t"})
    return data


def dumps(record: Any) -> str:
    """A record -> compact JSON text."""
    return json.dumps(to_plain(record), separators=(",", ":"), ensure_ascii=False)


def loads(text: str) -> Any:
    """JSON text from `dumps` -> the record. Raises: ValueError (bad JSON / unknown type)."""
    return from_plain(json.loads(text))
