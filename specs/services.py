"""Write paths for specs: validate and apply YAML (or JSON) spec files.

The command, the admin form and the API all come through here, so a file gets the very
same errors whichever way it arrives. Applying is all or nothing: every document of
every file is validated first, then stored in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from specs.errors import SpecError, SpecValidationError, public_dict
from specs.models import Spec
from specs.parsing import ParsedFile, parse_bytes, parse_data, parse_text
from specs.validation import ValidatedDocument, validate_documents

__all__ = [
    "AppliedDocument",
    "ApplyResult",
    "SpecError",
    "SpecValidationError",
    "content_hash",
    "spec_apply",
    "spec_apply_data",
    "spec_apply_parsed",
    "spec_parse_path",
    "spec_validate",
]

# Documents are stored in this order so that what a document references is stored first.
_KIND_ORDER = {"ReportLayout": 0, "Backtest": 1, "Sweep": 2}
# First key of pg_advisory_xact_lock(int, int): "specs" applying, per owner.
_LOCK_CLASS = 0x5BEC


@dataclass(frozen=True)
class AppliedDocument:
    """What applying did (or would do) with one document.

    ``action``: ``created`` (first version), ``updated`` (a new version of a changed
    spec) or ``unchanged`` (same normalised content as the latest version; nothing
    stored). ``spec_id`` is the row's id (``None`` for a dry run that would create one).
    """

    file: str
    document: int
    kind: str
    name: str
    version: int
    action: str
    spec_id: int | None
    content_hash: str

    def as_dict(self) -> dict[str, Any]:
        return public_dict(self, {"spec_id": "id"})

    def __str__(self) -> str:
        where = f"{self.file}, document {self.document}"
        return f"{self.action:<9} {self.kind} {self.name} v{self.version} ({where})"


@dataclass(frozen=True)
class ApplyResult:
    documents: tuple[AppliedDocument, ...]
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        """True when at least one version was (or would be) stored."""
        return any(document.action != "unchanged" for document in self.documents)

    def count(self, action: str) -> int:
        return sum(document.action == action for document in self.documents)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.count("created"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "documents": [document.as_dict() for document in self.documents],
        }


def content_hash(data: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of normalised spec data."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def spec_apply(*, text: str, owner, source: str = "<input>") -> ApplyResult:
    """Validate and store every document of one YAML file (all or nothing).

    Raises ``SpecValidationError`` listing every problem; nothing is stored then.
    """
    parsed = parse_text(text, source=source, max_bytes=settings.SPEC_MAX_BYTES)
    return spec_apply_parsed(files=[parsed], owner=owner)


def spec_validate(*, text: str, owner=None, source: str = "<input>") -> ApplyResult:
    """Like ``spec_apply`` but store nothing: what applying would do, or the errors.

    Without ``owner``, references must be satisfied inside the file.
    """
    parsed = parse_text(text, source=source, max_bytes=settings.SPEC_MAX_BYTES)
    return spec_apply_parsed(files=[parsed], owner=owner, dry_run=True)


def spec_apply_data(*, data: Any, owner, source: str = "<json>", dry_run: bool = False) -> ApplyResult:
    """Apply documents that came as JSON: a mapping or a list of mappings."""
    return spec_apply_parsed(files=[parse_data(data, source=source)], owner=owner, dry_run=dry_run)


def spec_parse_path(path: str | Path) -> list[ParsedFile]:
    """Read a spec file, or every ``*.yaml``/``*.yml`` of a directory (sorted by name).

    Each file is read up to settings.SPEC_MAX_BYTES (+1 byte to notice a larger one).
    Errors are named by file name (relative to the directory).
    """
    path = Path(path)
    max_bytes = settings.SPEC_MAX_BYTES
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml"))
        if not files:
            message = f"no *.yaml or *.yml files in {path}"
            error = SpecError(str(path), None, None, None, "", None, None, message)
            return [ParsedFile(str(path), [], [error])]
    elif path.is_file():
        files = [path]
    else:
        error = SpecError(str(path), None, None, None, "", None, None, "no such file or directory")
        return [ParsedFile(str(path), [], [error])]
    parsed = []
    for file in files:
        with file.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
        parsed.append(parse_bytes(raw, source=file.name, max_bytes=max_bytes))
    return parsed


def spec_apply_parsed(*, files: Sequence[ParsedFile], owner, dry_run: bool = False) -> ApplyResult:
    """Validate the documents of ``files`` as one set, then store them in one transaction.

    Documents may reference each other across files. For each document whose normalised
    data (and so ``content_hash``) equals the latest stored version of that owner's
    (kind, name), nothing is stored; otherwise the next version is. A Sweep's data pins
    the exact Backtest version it was checked against (``backtest_version``).
    """
    if owner is None and not dry_run:
        raise ValueError("applying specs needs an owner (only a dry run can do without)")
    with transaction.atomic():
        if not dry_run and connection.vendor == "postgresql":
            # Two applies by one owner at once would both compute "version n + 1";
            # the unique constraint would refuse the second, this makes it wait instead.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, owner.pk])
        latest: dict[tuple[str, str], Spec | None] = {}

        def stored(kind: str, name: str) -> Spec | None:
            if owner is None:
                return None
            if (kind, name) not in latest:
                latest[(kind, name)] = Spec.objects.latest_version(owner=owner, kind=kind, name=name)
            return latest[(kind, name)]

        def lookup(kind: str, name: str) -> Mapping[str, Any] | None:
            spec = stored(kind, name)
            return spec.data if spec is not None else None

        documents = [document for parsed in files for document in parsed.documents]
        max_combinations = settings.SWEEP_MAX_COMBINATIONS
        validated, errors = validate_documents(documents, lookup=lookup, max_combinations=max_combinations)
        errors = [error for parsed in files for error in parsed.errors] + errors
        if errors:
            raise SpecValidationError(errors)

        outcomes: dict[int, AppliedDocument] = {}
        versions: dict[tuple[str, str], int] = {}
        for position, item in sorted(enumerate(validated), key=lambda pair: _KIND_ORDER[pair[1].kind]):
            if item.kind == "Sweep":
                backtest = item.data["backtest"]
                pinned = versions.get(("Backtest", backtest))
                if pinned is None:
                    spec = stored("Backtest", backtest)
                    assert spec is not None  # validation found it
                    pinned = spec.version
                item.data["backtest_version"] = pinned
            outcome = _store(item, owner=owner, previous=stored(item.kind, item.name), dry_run=dry_run)
            versions[(item.kind, item.name)] = outcome.version
            outcomes[position] = outcome
    return ApplyResult(tuple(outcomes[i] for i in range(len(validated))), dry_run=dry_run)


def _store(item: ValidatedDocument, *, owner, previous: Spec | None, dry_run: bool) -> AppliedDocument:
    digest = content_hash(item.data)
    document = item.document

    def outcome(version: int, action: str, spec_id: int | None) -> AppliedDocument:
        return AppliedDocument(
            document.source, document.index, item.kind, item.name, version, action, spec_id, digest
        )

    if previous is not None and previous.content_hash == digest:
        return outcome(previous.version, "unchanged", previous.pk)
    version = previous.version + 1 if previous is not None else 1
    action = "updated" if previous is not None else "created"
    if dry_run:
        return outcome(version, action, None)
    spec = Spec.objects.create(
        kind=item.kind,
        name=item.name,
        version=version,
        yaml_text=document.text,
        data=item.data,
        content_hash=digest,
        owner=owner,
    )
    return outcome(version, action, spec.pk)
