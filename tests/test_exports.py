"""Each package's public surface is pinned: `__all__` equals its public names, and they import.

As trio's `_tests/test_exports.py` and httpx's `tests/test_exported_members.py` do. A
package's *public names* are the names bound in its `__init__` that do not start with "_",
are not submodules, and are the project's own: classes and functions defined under
familybot_trio/ or gateway/ (wherever the package re-exports them from) and plain
constants and type aliases. Tools imported from the standard library or third parties (`Path`, `Final`,
`trio`) are not part of the surface. A helper the face uses but does not offer gets a
leading underscore (`from gateway import rest as _rest`).

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


def public_names(module: types.ModuleType) -> set[str]:
    """The project's own non-underscore names bound in `module` (see the module docstring)."""
    out = set()
    for name, value in vars(module).items():
        if (name.startswith("_") or name == "TYPE_CHECKING"
                or isinstance(value, types.ModuleType | __future__._Feature)):
            continue
        if typing.get_origin(value) is not None:  # a subscripted alias: someone here defined it
            out.add(name)
            continue
        origin = getattr(value, "__module__", None)  # None: a plain constant (int, str, tuple)
        if origin is None or origin.split(".")[0] in PROJECT_ROOTS:
            out.add(name)
    return out


def test_every_package_is_found() -> None:
    assert {"familybot_trio", "familybot_trio.store", "gateway", "gateway.testing"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_equals_the_public_names(package: str) -> None:
    module = importlib.import_module(package)
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{package} has no __all__; list its public names there"
    assert len(declared) == len(set(declared)), f"{package}.__all__ lists a name twice"
    public = public_names(module)
    missing, stale = sorted(public - set(declared)), sorted(set(declared) - public)
    assert not missing and not stale, (
        f"{package}: public but not in __all__: {missing} (add them, or give a helper a "
        f"leading underscore); in __all__ but not a public name here: {stale} (remove them, "
        "or import them into the package)")


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
