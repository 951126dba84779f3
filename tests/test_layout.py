"""The house rules a reader relies on, checked from the source: who may import whom."""

from __future__ import annotations

from tests import _imports


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
