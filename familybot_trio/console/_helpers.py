"""What the console offers besides the app's objects: `tasks()` and `lag()`, shown as `Text`."""

from __future__ import annotations

import trio

from familybot_trio.loopblock import LoopBlockDetector


class Text(str):
    """A str that shows itself plainly at the prompt (helpers return it: `tasks()`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def tasks() -> Text:
    """The live task tree from `trio.lowlevel.current_root_task()`, one task per line.

    Returns: Text, children indented under the nursery that owns them; the calling task is
        marked `<- you`. Raises: RuntimeError outside trio.
    """
    me = trio.lowlevel.current_task()
    lines: list[str] = []

    def walk(task: trio.lowlevel.Task, depth: int) -> None:
        lines.append(f"{'  ' * depth}{task.name}{'  <- you' if task is me else ''}")
        for nursery in task.child_nurseries:
            children = sorted(nursery.child_tasks, key=lambda t: t.name)
            if not children:
                continue
            lines.append(f"{'  ' * (depth + 1)}[nursery: {len(children)} tasks]")
            for child in children:
                walk(child, depth + 2)

    walk(trio.lowlevel.current_root_task(), 0)
    return Text("\n".join(lines))


def lag(detector: LoopBlockDetector) -> Text:
    """The loop-block detector's summary and worst task steps (the app binds `detector`).

    Args: detector: the LoopBlockDetector installed as an instrument in the bot's run.
    Returns: Text: step count, worst step, violations, then the worst steps in ms.
    """
    lines = [detector.report(), "worst steps:"]
    lines += [f"  {s.duration_ms:8.1f} ms  {s.task_name}" for s in detector.worst]
    return Text("\n".join(lines))


__all__ = ["Text", "lag", "tasks"]
