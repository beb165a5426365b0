"""The errors a spec file can have, in the one shape every way in reports them.

Framework-free: parsing and validation build these, the service raises them, and the
command, the admin form and the API render the very same list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any


def public_dict(record: Any, renamed: Mapping[str, str]) -> dict[str, Any]:
    """A dataclass's fields in their order, as the API and JSON name them: a field in
    ``renamed`` under its public name (``doc_index`` is ``document``)."""
    return {renamed.get(field.name, field.name): getattr(record, field.name) for field in fields(record)}


@dataclass(frozen=True)
class SpecError:
    """One problem in a spec file.

    ``doc_index`` is 1-based (the n-th YAML document of the file, empty ones counted);
    ``None`` for a problem of the whole file (too large, no documents). ``kind`` and
    ``name`` are the document's own, when it has them. ``path`` is dotted with list
    indices in brackets (``sections[2].chart``), ``""`` for the document itself.
    ``line`` and ``column`` are 1-based positions in the file (``None`` for specs that
    came as JSON, which have no lines).
    """

    file: str
    doc_index: int | None
    kind: str | None
    name: str | None
    path: str
    line: int | None
    column: int | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return public_dict(self, {"doc_index": "document"})

    def sort_key(self) -> tuple[Any, ...]:
        return (self.file, self.doc_index or 0, self.line or 0, self.column or 0, self.path, self.message)

    def __str__(self) -> str:
        parts = [self.file]
        if self.doc_index is not None:
            label = " ".join(
                part for part in (self.kind or ("name" if self.name else None), self.name) if part
            )
            parts.append(f"document {self.doc_index}" + (f" ({label})" if label else ""))
        where = self.path
        if self.line is not None:
            position = f"line {self.line}" + (f", column {self.column}" if self.column is not None else "")
            where = f"{where} ({position})" if where else position
        if where:
            parts.append(where)
        parts.append(self.message)
        return ": ".join(parts)


class SpecValidationError(Exception):
    """A spec file (or a set of files) is invalid; ``errors`` lists every problem found.

    Nothing was saved when this is raised.
    """

    def __init__(self, errors: Iterable[SpecError]):
        self.errors: list[SpecError] = sorted(errors, key=SpecError.sort_key)
        super().__init__(self.summary())

    def summary(self) -> str:
        count = len(self.errors)
        files = sorted({error.file for error in self.errors})
        noun = "error" if count == 1 else "errors"
        return f"{count} {noun} in {', '.join(files)}; nothing was saved"

    def as_dicts(self) -> list[dict[str, Any]]:
        return [error.as_dict() for error in self.errors]

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(str(error) for error in self.errors)])
