"""The house rules a reader relies on, checked from the source.

- no module under familybot_trio/ or gateway/ is over MAX_MODULE_LINES lines (STYLE.md:
  aim under 300, stay under ~400; split a long one by knowledge);
- no import cycle among the project's modules (imports under `if TYPE_CHECKING:` are
  type-only and never run, so they may point back);
- the sandbox's route modules never import `_server` (it assembles them);
- AppId and SteamID64 have one home (familybot_trio/ids.py).
gateway/ importing nothing of familybot_trio is tests/gateway/test_standalone.py.
"""

from __future__ import annotations

from typing import Final

from tests import _imports

MAX_MODULE_LINES: Final = 400
PROJECT: Final = ["familybot_trio", "gateway"]


def test_no_module_is_over_400_lines() -> None:
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines())
             for pkg in PROJECT for path in _imports.module_files(pkg).values()}
    assert len(sizes) > 50  # the walk found the project
    long = sorted(((n, p) for p, n in sizes.items() if n > MAX_MODULE_LINES), reverse=True)
    assert not long, (f"modules over {MAX_MODULE_LINES} lines (split each by knowledge, see "
                      "STYLE.md 'Modules'):\n" + "\n".join(
                          f"  {p.relative_to(_imports.ROOT)}: {n} lines" for n, p in long))


def import_cycles(edges: list[_imports.Edge], modules: set[str]) -> list[list[str]]:
    """Each cycle among `modules` as a path [a, b, ..., a], runtime edges only (Tarjan SCC)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        if not e.type_only and e.target in modules and e.target != e.importer:
            graph[e.importer].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:  # recursion depth is bounded by the module count
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    cycles = []
    for comp in components:  # one concrete path through each tangle, for the message
        start, path = comp[0], [comp[0]]
        while True:
            nxt = min(w for w in graph[path[-1]] if w in comp)
            if nxt in path:
                path = path[path.index(nxt):] + [nxt]
                break
            path.append(nxt)
        cycles.append(path)
    return cycles


def test_no_import_cycle() -> None:
    modules = {m for pkg in PROJECT for m in _imports.module_files(pkg)}
    edges = _imports.edges(PROJECT)
    cycles = import_cycles(edges, modules)
    lines = {(e.importer, e.target): _imports.where(e) for e in edges if not e.type_only}
    assert not cycles, "import cycles (move the shared part down, or make an import " \
        "type-only under TYPE_CHECKING):\n" + "\n".join(
            "  " + " -> ".join(c) + "\n    " + ", ".join(lines[(a, b)] for a, b in zip(c, c[1:]))
            for c in cycles)


def test_the_cycle_finder_finds_a_cycle_and_skips_type_only_edges() -> None:
    E = _imports.Edge
    edges = [E("a", "b", 1, False), E("b", "c", 1, False), E("c", "a", 1, False),
             E("c", "d", 2, False), E("d", "c", 3, True)]
    assert import_cycles(edges, {"a", "b", "c", "d"}) == [["a", "b", "c", "a"]]


def test_nothing_imports_the_sandbox_server_back() -> None:
    # _server assembles the route modules' handlers; a route module that imported it (even
    # for a type) would close a circle. They type against _context.SandboxContext instead.
    allowed = {"familybot_trio.sandbox"}  # the package's face re-exports Sandbox
    wrong = [f"{_imports.where(e)} imports {e.target}"
             for e in _imports.edges(["familybot_trio", "gateway"])
             if e.target == "familybot_trio.sandbox._server" and e.importer not in allowed]
    assert not wrong, "only familybot_trio/sandbox/__init__.py may import _server:\n" + \
        "\n".join(wrong)


def test_appid_and_steamid64_have_one_home() -> None:
    import re

    from familybot_trio import ids, sandbox, store
    from familybot_trio.upstream import models

    for name in ("AppId", "SteamID64"):
        homes = {mod.__name__: getattr(mod, name) for mod in (models, store, sandbox)}
        assert all(t is getattr(ids, name) for t in homes.values()), (
            f"{name} must be familybot_trio.ids.{name} everywhere: {homes}")
        pattern = re.compile(rf'^\s*{name}\s*=\s*NewType\(', re.M)
        again = [str(p.relative_to(_imports.ROOT))
                 for pkg in ("familybot_trio", "gateway")
                 for p in _imports.module_files(pkg).values()
                 if p.name != "ids.py" and pattern.search(p.read_text(encoding="utf-8"))]
        assert not again, f"{name} is defined again in {again}; import it from familybot_trio.ids"


def test_readme_layout_lists_every_package_folder() -> None:
    text = (_imports.ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Layout\n" in text, "README.md needs a '## Layout' section (one line per folder)"
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    folders = sorted({str(p.parent.relative_to(_imports.ROOT)) + "/"
                      for pkg in PROJECT for p in _imports.module_files(pkg).values()
                      if p.name == "__init__.py"})
    assert "gateway/testing/" in folders  # the walk found the packages
    missing = [f for f in folders if f"`{f}`" not in section]
    assert not missing, ("README.md's Layout section does not list these package folders "
                         f"(add one line each, as `folder/`): {missing}")
