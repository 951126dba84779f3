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
