"""Discord's error answers as data: `Rejected` (status + JSON code) and the 50035 form tree.

A validator collects problems in `FormErrors` keyed by the path to the field
(`("embeds", "0", "title")`); `FormErrors.raise_if_any()` turns them into Discord's
`400 {"code": 50035, "message": "Invalid Form Body", "errors": {...}}` whose nested
`errors` object names the field: `{"embeds": {"0": {"title": {"_errors": [{"code":
"BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}}}`.

Upstream: discord-api-docs developers/reference.mdx ("Error Messages"), topics/opcodes-and-status-codes.mdx
("JSON Error Codes").
"""

from __future__ import annotations

from typing import Any, Final

INVALID_FORM_BODY: Final = 50035


class Rejected(Exception):
    """Discord refuses the request: HTTP `status`, JSON `code`, `message`, optional `errors`."""

    def __init__(self, status: int, code: int, message: str,
                 errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict[str, Any]:
        """The JSON error body Discord sends."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


class FormErrors:
    """Problems found in one request body, by field path; empty when the body is fine."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple[str, ...], str, str]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, path: tuple[Any, ...], code: str, message: str) -> None:
        """Record that the field at `path` (keys and list indexes) broke a rule."""
        self.items.append((tuple(str(p) for p in path), code, message))

    def max_length(self, path: tuple[Any, ...], value: object, limit: int) -> None:
        """A string or list longer than `limit` (BASE_TYPE_MAX_LENGTH)."""
        if isinstance(value, (str, list)) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: tuple[Any, ...], value: object, low: int, high: int) -> None:
        """A required string of `low`..`high` characters (BASE_TYPE_BAD_LENGTH)."""
        if not isinstance(value, str):
            self.add(path, "BASE_TYPE_REQUIRED" if value is None else "STRING_TYPE_CONVERT",
                     "This field is required" if value is None else "Could not interpret "
                     "value as string.")
        elif not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def paths(self) -> list[str]:
        """Dotted field paths, e.g. ["embeds.0.title"]."""
        return [".".join(p) or "_root" for p, _, _ in self.items]

    def tree(self) -> dict[str, Any]:
        """The nested `errors` object Discord answers with."""
        root: dict[str, Any] = {}
        for path, code, message in self.items:
            node = root
            for key in path:
                node = node.setdefault(key, {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        return root

    def raise_if_any(self) -> None:
        """Raise Rejected(400, 50035, "Invalid Form Body", tree) when anything was added."""
        if self.items:
            raise Rejected(400, INVALID_FORM_BODY, "Invalid Form Body", self.tree())
