"""The command line every stand-alone bench scenario shares (`python -m bench.<module>`)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio


def scenario_main(prog: str, doc: str | None, name: str, quick_help: str,
                  run: Callable[[bool], Awaitable[dict[str, Any]]]) -> None:
    """Parse `[--quick] [--out DIR]`, run `run(quick)` under trio, print the figures and
    write DIR/<name>.json (default DIR: bench/results/)."""
    ap = argparse.ArgumentParser(prog=prog, description=doc)
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    figures = trio.run(run, args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    for k, v in figures.items():
        print(f"{k:28} {v}")
