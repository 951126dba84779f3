"""How a shard hands dispatches to the app: one task per interaction, in-order batches for the rest.

The reader takes every frame that already arrived in one step (a burst, at most MAX_BATCH).
An event `task_for` picks (interactions, commands) starts in its own task in the app's
nursery; the others go, one list per burst, to `dispatch_in_order`, the shard's dispatcher
task (also in the app's nursery), which awaits them strictly in the order received.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio


def default_task_for(name: str, data: Any) -> bool:
    """The default `task_for`: interactions and messages (maybe commands) get a task each."""
    return name in ("INTERACTION_CREATE", "MESSAGE_CREATE")


async def dispatch_in_order(dispatch: Callable[[str, Any], Awaitable[None]],
                            batches: trio.MemoryReceiveChannel[list[tuple[str, Any]]]) -> None:
    """The shard's dispatcher: batched events, strictly in the order received."""
    async for batch in batches:
        for name, data in batch:
            await dispatch(name, data)


__all__ = ["default_task_for", "dispatch_in_order"]
