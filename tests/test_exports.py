"""Each package's public surface is pinned: `__all__` lists its public names, and they import.

As trio's `_tests/test_exports.py` and httpx's `tests/test_exported_members.py` do. A
package's *own public names* are the names bound in its `__init__` that do not start with
"_", are not submodules, and belong to the package: classes, functions and type aliases
defined in the package or its submodules, and plain constants. Every one of them must be in
`__all__`, and every name in `__all__` must import. `__all__` may also re-export a name from
elsewhere in the project (`store` offers `AppId` from `familybot_trio.ids`); a name the
face merely uses (an error it raises, a client it builds, `Path`, `Final`) is not surface.
A helper of the package's own that the face uses but does not offer gets a leading
underscore.

Every package found on disk is checked, so a package added later is covered too.
"""
from __future__ import annotations

import __future__
import importlib
import types
import typing

import pytest

from tests import _imports

PROJECT_ROOTS = ("familybot_trio", "gateway")
PACKAGES = sorted(name for root in PROJECT_ROOTS
                  for name, path in _imports.module_files(root).items()
                  if path.name == "__init__.py")


def own_public_names(module: types.ModuleType) -> set[str]:
    """The package's own non-underscore names bound in `module` (see the module docstring)."""
    package = module.__name__
    out = set()
    for name, value in vars(module).items():
        if (name.startswith("_") or name == "TYPE_CHECKING"
                or isinstance(value, types.ModuleType | __future__._Feature)):
            continue
        if typing.get_origin(value) is not None:  # a subscripted alias: someone here defined it
            out.add(name)
            continue
        origin = getattr(value, "__module__", None)  # None: a plain constant (int, str, tuple)
        if origin is None or origin == package or origin.startswith(package + "."):
            out.add(name)
    return out


def test_every_package_is_found() -> None:
    assert {"familybot_trio", "familybot_trio.store", "gateway", "gateway.testing"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_lists_the_public_names(package: str) -> None:
    module = importlib.import_module(package)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{package} has no __all__; list its public names there"
    assert len(declared) == len(set(declared)), f"{package}.__all__ lists a name twice"
    missing = sorted(own_public_names(module) - set(declared))
    unbound = sorted(n for n in declared if n not in vars(module))
    assert not missing and not unbound, (
        f"{package}: its own public names missing from __all__: {missing} (add them, or give "
        f"a helper a leading underscore); in __all__ but not bound in the package: {unbound} "
        "(remove them, or import them into the package)")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_imports(package: str) -> None:
    module = importlib.import_module(package)
    broken = []
    for name in getattr(module, "__all__", ()):
        namespace: dict[str, object] = {}
        try:
            exec(f"from {package} import {name}", namespace)  # noqa: S102 - the real import
        except ImportError as exc:
            broken.append(f"{name}: {exc}")
    assert not broken, f"{package}.__all__ names that do not import: {broken}"
