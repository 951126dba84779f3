"""Check the demo's Discord REST traffic against Discord's OpenAPI description.

Runs `familybot-trio demo`'s story in-process (the real bot against FakeDiscord and the
sandbox), then validates every recorded request body and every FakeDiscord answer with
the JSON Schema in Discord's OpenAPI file (`jsonschema`, draft 2020-12, which OpenAPI 3.1
schemas are), and flags any route the spec marks deprecated. A developer's check, not a
test: the project's tests rely on FakeDiscord's own validator; the spec stays in
../shared/docs/discord-openapi for reading.

    PYTHONPATH=. python contrib/check_discord_openapi.py [--spec PATH] [-v]

Prints one line per violation and a summary; exits 1 when anything was found.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import trio

SPEC = Path(__file__).resolve().parents[2] / "shared" / "docs" / "discord-openapi" / "openapi.json"


def load_spec(path: Path) -> tuple[dict, list[tuple[re.Pattern, str, dict]]]:
    """The spec and its paths as (regex, template, path item), most specific first."""
    spec = json.loads(path.read_text())
    routes = []
    for template, item in spec["paths"].items():
        pattern = re.escape(template)
        pattern = re.sub(r"\\\{[a-z_]+\\\}", r"[^/]+", pattern)
        routes.append((re.compile(f"^{pattern}$"), template, item))
    routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))  # literal segments win
    return spec, routes


def _schema(spec: dict, schema: dict) -> dict:
    return {**schema, "components": spec["components"]}  # local $refs resolve at the root


def check(requests: list[Any], spec: dict, routes: list, verbose: bool = False) -> list[str]:
    """Validate recorded FakeRest requests; returns the violations as text lines."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for q in requests:
        match = next(((t, item) for rx, t, item in routes if rx.match(q.path)), None)
        if match is None:
            problems.append(f"{q.method} {q.path}: no such route in the spec")
            continue
        template, item = match
        op = item.get(q.method.lower())
        key = f"{q.method} {template}"
        seen[key] = seen.get(key, 0) + 1
        if op is None:
            problems.append(f"{key}: method not in the spec")
            continue
        if op.get("deprecated") or op.get("operationId", "").startswith("deprecated_"):
            problems.append(f"{key}: deprecated route ({op.get('operationId')})")
        body = q.json
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in ("_files", "_payload_type")}
        content = (op.get("requestBody") or {}).get("content") or {}
        media = content.get("application/json") or content.get("multipart/form-data")
        if body is not None and media and "schema" in media:
            problems += _validate(spec, media["schema"], body, f"{key} request")
        responses = op.get("responses") or {}
        answer = responses.get(str(q.status)) or responses.get(f"{q.status // 100}XX")
        if answer is None and q.status >= 400:
            answer = responses.get("4XX") or responses.get("default")
        if answer is None:
            problems.append(f"{key}: status {q.status} is not a documented answer")
            continue
        if "$ref" in answer:
            answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        schema = ((answer.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is not None and q.answer is not None:
            problems += _validate(spec, schema, q.answer, f"{key} response {q.status}")
    if verbose:
        for key, n in sorted(seen.items()):
            print(f"  {n:4d}  {key}")
    return problems


def _validate(spec: dict, schema: dict, value: Any, where: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema(spec, schema))
    out = []
    for error in validator.iter_errors(value):
        path = ".".join(str(p) for p in error.absolute_path) or "(body)"
        out.append(f"{where}: {path}: {error.message[:300]}")
    return out


async def record_demo_traffic(tmp: Path) -> list[Any]:
    """Play the demo's story against FakeDiscord; return FakeRest's recorded requests."""
    from familybot_trio.demo import Story
    from familybot_trio.sandbox.world import World

    async with trio.open_nursery() as nursery:
        world = await nursery.start(functools.partial(World.start, tmp))
        await Story(world, io.StringIO()).play()
        await world.stop()
    return list(world.discord.rest.requests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the routes seen")
    args = parser.parse_args(argv)
    spec, routes = load_spec(args.spec)
    with tempfile.TemporaryDirectory(prefix="familybot-openapi-") as tmp:
        requests = trio.run(record_demo_traffic, Path(tmp))
    problems = check(requests, spec, routes, args.verbose)
    for line in problems:
        print(line)
    print(f"{len(requests)} requests checked against {args.spec.name}: "
          f"{len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
