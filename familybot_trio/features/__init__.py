"""The family features. Each module registers its commands and schedules in `setup(app)`.

A feature module:
- defines `setup(app: familybot_trio.app.App) -> None`, which registers commands on
  `app.registry` and jobs on `app.scheduler` (job functions receive the app);
- reads and writes only through `app.store`, `app.catalog`, `app.steam`, ... and announces
  through the outbox (`app.announce`, or `store.insert_drafts` inside a write transaction);
- never imports another feature (shared helpers live in `features/_common.py`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from familybot_trio.app import App

__all__ = ["ALL", "import_all", "setup"]

#: Every feature, in the order /help lists them.
ALL: Final = ("new_games", "library_digest", "wishlist", "deals", "coop", "common_games",
              "owned", "stats", "notify", "members", "profile", "free_games", "admin",
              "admin_outbox", "steam_login", "dashboard", "help")


def import_all(names: Sequence[str] | None = None) -> None:
    """Import the named feature modules (default: ALL). Sync: call it in a worker thread,
    since a first import reads and compiles files.

    Raises: ValueError naming an unknown feature.
    """
    for name in names if names is not None else ALL:
        if name not in ALL:
            raise ValueError(f"unknown feature {name!r}; known: {', '.join(ALL)}")
        importlib.import_module(f"familybot_trio.features.{name}")


def setup(app: App, names: Sequence[str] | None = None) -> None:
    """Import and set up the named features (default: ALL) on `app`.

    Raises: ValueError naming an unknown feature.
    """
    for name in names if names is not None else ALL:
        if name not in ALL:
            raise ValueError(f"unknown feature {name!r}; known: {', '.join(ALL)}")
        module = importlib.import_module(f"familybot_trio.features.{name}")
        module.setup(app)
