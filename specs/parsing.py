"""Reading spec files: YAML with a line and column for every value, bounded in size.

The YAML stream is *composed* (``yaml.SafeLoader``: nodes with marks, no object
construction) and the values are then built here, so that every value keeps the
position of the node it came from. Only plain data is accepted (``safe_load``
semantics: mappings, lists, strings, numbers, booleans, null; timestamps are kept as
their text, which the validators parse), and the work is bounded three ways:

- the file is at most ``max_bytes`` (settings.SPEC_MAX_BYTES);
- the values a file expands to, aliases included, are counted on the composed graph
  *before* anything is built (each node's expanded size is computed once and shared by
  every alias to it), so a "billion laughs" file is refused after work linear in its
  text, never after expanding it;
- nesting is at most ``MAX_DEPTH`` levels.

Text that cannot be stored is refused where it is, with its line: a NUL or a lone
UTF-16 surrogate, which YAML's ``"\0"`` and ``"\ud800"`` escapes can produce.

Framework-free: no Django here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from inputs.text import printable, text_problem
from specs.errors import SpecError

DEFAULT_MAX_BYTES = 256 * 1024
# Values in one file after alias expansion; a large real spec has a few hundred.
MAX_NODES = 100_000
MAX_DEPTH = 50

PathT = tuple[str | int, ...]
Position = tuple[int | None, int | None]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {
    _TAG + "str": SafeConstructor.construct_yaml_str,
    _TAG + "int": SafeConstructor.construct_yaml_int,
    _TAG + "float": SafeConstructor.construct_yaml_float,
    _TAG + "bool": SafeConstructor.construct_yaml_bool,
    _TAG + "null": SafeConstructor.construct_yaml_null,
}
_TIMESTAMP = _TAG + "timestamp"
_MERGE = _TAG + "merge"
_MAP = _TAG + "map"
_SEQ = _TAG + "seq"
_CONSTRUCTOR = SafeConstructor()


def format_path(path: PathT) -> str:
    """``("sections", 2, "chart")`` -> ``"sections[2].chart"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Document:
    """One YAML document of a file: its built value and where each part of it came from.

    ``positions`` maps a path to the (line, column) where its value starts;
    ``key_positions`` maps a mapping entry's path to where its key starts. Both are
    1-based and empty for documents that came as JSON.
    """

    source: str
    index: int
    data: Any
    text: str
    positions: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[PathT, tuple[int, int]] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        value = self.data.get("kind") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        value = self.data.get("name") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    def position(self, path: PathT, *, key: bool = False) -> Position:
        """Where ``path`` is, or its nearest ancestor that exists (a missing key's mapping)."""
        path = tuple(path)
        if key and path in self.key_positions:
            return self.key_positions[path]
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return (None, None)
            path = path[:-1]

    def error(self, path: PathT, message: str, *, key: bool = False) -> SpecError:
        """A SpecError at ``path`` (at the key of that entry with ``key=True``)."""
        line, column = self.position(path, key=key)
        return SpecError(
            file=self.source,
            doc_index=self.index,
            kind=self.kind,
            name=self.name,
            path=format_path(path),
            line=line,
            column=column,
            message=message,
        )


@dataclass
class ParsedFile:
    """The documents of one file and the problems found while reading it.

    A file that is not valid YAML has ``errors`` and no ``documents``: nothing after a
    syntax error can be trusted.
    """

    source: str
    documents: list[Document]
    errors: list[SpecError]


def _file_error(
    source: str, message: str, *, doc_index: int | None = None, line=None, column=None
) -> SpecError:
    return SpecError(
        file=source,
        doc_index=doc_index,
        kind=None,
        name=None,
        path="",
        line=line,
        column=column,
        message=message,
    )


def _too_large(source: str, max_bytes: int) -> ParsedFile:
    message = f"the file is larger than the limit of {max_bytes} bytes (SPEC_MAX_BYTES)"
    return ParsedFile(source, [], [_file_error(source, message)])


def parse_bytes(raw: bytes, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Read a spec file's bytes: at most ``max_bytes``, UTF-8 (a BOM is allowed).

    Callers reading from a stream may pass just the first ``max_bytes + 1`` bytes.
    """
    if len(raw) > max_bytes:
        return _too_large(source, max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        return ParsedFile(source, [], [_file_error(source, message, line=line, column=column)])
    return parse_text(text, source=source, max_bytes=max_bytes)


def parse_text(text: str, *, source: str = "<input>", max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Parse a (multi-document) YAML spec file into Documents with positions.

    Empty documents (a trailing ``---``) are skipped but still counted, so a document's
    index is the one a reader counts in the file. A file with no documents is an error.
    """
    if len(text.encode("utf-8")) > max_bytes:
        return _too_large(source, max_bytes)
    try:
        roots = _compose_all(text)
    except _SyntaxProblem as problem:
        return ParsedFile(source, [], [problem.to_error(source)])

    documents: list[Document] = []
    errors: list[SpecError] = []
    budget = [MAX_NODES]
    starts = [start for start, _ in roots]
    for number, (_, root) in enumerate(roots, start=1):
        if _is_empty(root):
            continue
        doc_text = _document_text(text, starts, number - 1)
        builder = _Builder(source=source, index=number, budget=budget)
        try:
            document = builder.build(root, doc_text)
        except _Refused as refused:
            line, column = _mark(refused.node) if refused.node is not None else (None, None)
            errors.append(_file_error(source, refused.message, doc_index=number, line=line, column=column))
            continue
        documents.append(document)
        for path, message, where in builder.problems:
            error = document.error(path, message)
            if where is not None:
                error = replace(error, line=where[0], column=where[1])
            errors.append(error)
    if not documents and not errors:
        errors.append(
            _file_error(source, "the file has no documents (expected YAML mappings with kind and name)")
        )
    return ParsedFile(source, documents, errors)


def parse_data(data: Any, *, source: str = "<json>") -> ParsedFile:
    """Documents that arrived as JSON: one mapping or a list of them. No positions.

    The same bounds apply (values counted, depth limited); the stored text of each
    document is its YAML rendering.
    """
    items = data if isinstance(data, list) else [data]
    errors: list[SpecError] = []
    if not items:
        errors.append(_file_error(source, "no documents (expected a mapping or a list of mappings)"))
    try:
        _count_plain(items)
    except _Refused as refused:
        return ParsedFile(source, [], [_file_error(source, refused.message)])
    documents = []
    for number, item in enumerate(items, start=1):
        text = yaml.safe_dump(item, sort_keys=False, allow_unicode=True, default_flow_style=False)
        document = Document(source=source, index=number, data=item, text=text)
        for path, message in _plain_problems(item, ()):
            errors.append(document.error(path, message))
        documents.append(document)
    return ParsedFile(source, documents, errors)


# --- composing -----------------------------------------------------------------------


class _SyntaxProblem(Exception):
    def __init__(self, message: str, doc_index: int, line: int | None, column: int | None):
        super().__init__(message)
        self.message, self.doc_index, self.line, self.column = message, doc_index, line, column

    def to_error(self, source: str) -> SpecError:
        return _file_error(source, self.message, doc_index=self.doc_index, line=self.line, column=self.column)


def _compose_all(text: str) -> list[tuple[int, Node | None]]:
    """``(start offset, root node or None)`` per document, composed with SafeLoader."""
    roots: list[tuple[int, Node | None]] = []
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        loader.get_event()  # StreamStartEvent
        while not loader.check_event(yaml.StreamEndEvent):
            start = loader.peek_event().start_mark.index
            roots.append((start, loader.compose_document()))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _SyntaxProblem(
            _syntax_message(exc),
            len(roots) + 1,
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: the control character U+{character:04X} is not allowed"
        raise _SyntaxProblem(message, len(roots) + 1, line, column) from None
    except RecursionError:
        message = f"invalid YAML: nested too deeply (at most {MAX_DEPTH} levels)"
        raise _SyntaxProblem(message, len(roots) + 1, None, None) from None
    finally:
        if loader is not None:
            loader.dispose()
    return roots


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "not valid YAML"
    if "'\\t'" in problem:
        return "invalid YAML: a tab character; indent with spaces, YAML does not allow tabs there"
    message = f"invalid YAML: {problem}"
    if exc.context:
        context = exc.context
        if exc.context_mark is not None and exc.context_mark is not exc.problem_mark:
            context += f" started at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message += f" ({context})"
    return message


_COMMENT_LINE = re.compile(r"^\s*#")


def _document_text(text: str, starts: list[int], i: int) -> str:
    """The text of document ``i``: from its ``---`` (with the comment lines right above
    it, which describe it) to the next document's.
    """

    def boundary(k: int) -> int:
        if k == 0:
            return 0
        offset = text.rfind("\n", 0, starts[k]) + 1
        while offset > 0:
            previous = text.rfind("\n", 0, offset - 1) + 1
            if not _COMMENT_LINE.match(text[previous:offset]):
                break
            offset = previous
        return offset

    end = boundary(i + 1) if i + 1 < len(starts) else len(text)
    chunk = text[boundary(i) : end].rstrip()
    return chunk + "\n"


# --- building ------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, message: str, node: Node | None = None):
        super().__init__(message)
        self.message, self.node = message, node


def _is_empty(node: Node | None) -> bool:
    """A document with no content (``---`` followed by nothing)."""
    return node is None or (isinstance(node, ScalarNode) and node.tag == _TAG + "null" and node.value == "")


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _tag(node: Node) -> str:
    return node.tag.replace(_TAG, "!!", 1)


class _Builder:
    """Builds one document's value from its node graph, recording positions."""

    def __init__(self, *, source: str, index: int, budget: list[int]):
        self.source, self.index, self.budget = source, index, budget
        self.positions: dict[PathT, tuple[int, int]] = {}
        self.key_positions: dict[PathT, tuple[int, int]] = {}
        # (path, message, where): where is the (line, column) to report, None for the path's own
        self.problems: list[tuple[PathT, str, tuple[int, int] | None]] = []

    def build(self, root: Node, text: str) -> Document:
        size = _expanded_size(root, {}, set(), 0)
        if size > self.budget[0]:
            raise _Refused(
                f"the file expands to more than {MAX_NODES} values (through YAML aliases?); refused",
                root,
            )
        self.budget[0] -= size
        data = self._value(root, ())
        return Document(self.source, self.index, data, text, self.positions, self.key_positions)

    def _value(self, node: Node, path: PathT) -> Any:
        self.positions.setdefault(path, _mark(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                self.problems.append((path, f"the YAML tag {_tag(node)} is not allowed here", None))
            return [self._value(child, (*path, i)) for i, child in enumerate(node.value)]
        if node.tag != _MAP:
            self.problems.append((path, f"the YAML tag {_tag(node)} is not allowed here", None))
        return self._mapping(node, path)

    def _scalar(self, node: ScalarNode, path: PathT) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # kept as text; market dates are parsed by the validator
        construct = _SCALAR_TAGS.get(node.tag)
        if construct is None:
            self.problems.append(
                (path, f"the YAML tag {_tag(node)} is not allowed (plain values only)", None)
            )
            return None
        try:
            value = construct(_CONSTRUCTOR, node)
        except (ValueError, yaml.YAMLError):
            self.problems.append((path, f"{node.value!r} is not a valid {_tag(node)[2:]}", None))
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problems.append((path, f"{node.value} is not a finite number", None))
            return None
        if isinstance(value, str) and (problem := text_problem(value)):
            self.problems.append((path, f"the text {problem}", None))
            return printable(value)  # what later checks and messages see: escaped, storable
        return value

    def _mapping(self, node: MappingNode, path: PathT) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node, merged in self._pairs(node, path):
            if not isinstance(key_node, ScalarNode) or key_node.tag != _TAG + "str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a " + type(key_node).__name__
                message = f"the key {shown!r} is not a string (YAML reads it as another type; quote it)"
                self.problems.append((path, message, _mark(key_node)))
                continue
            key = key_node.value
            if problem := text_problem(key):
                self.problems.append((path, f"the key {problem}", _mark(key_node)))
                continue
            if key in result:
                if not merged:
                    first_line = self.key_positions[(*path, key)][0]
                    message = f"duplicate key '{key}' (first at line {first_line})"
                    self.problems.append(((*path, key), message, _mark(key_node)))
                continue  # explicit keys win over merged ones, earlier merges over later
            self.key_positions[(*path, key)] = _mark(key_node)
            result[key] = self._value(value_node, (*path, key))
        return result

    def _pairs(self, node: MappingNode, path: PathT) -> Iterator[tuple[Node, Node, bool]]:
        """The entries of a mapping: its own first, then those of merge keys (``<<: *x``)."""
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
            else:
                yield key_node, value_node, False
        for merge_node in merges:
            sources = merge_node.value if isinstance(merge_node, SequenceNode) else [merge_node]
            for source in sources:
                if not isinstance(source, MappingNode):
                    self.problems.append((path, "a merge key (<<) must refer to a mapping", _mark(source)))
                    continue
                for key_node, value_node, _ in self._pairs(source, path):
                    yield key_node, value_node, True


def _expanded_size(node: Node, memo: dict[int, int], active: set[int], depth: int) -> int:
    """How many values ``node`` becomes once every alias is expanded (memoised per node)."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise _Refused("a YAML alias refers to a node that contains it (recursive structure)", node)
    if depth > MAX_DEPTH:
        raise _Refused(f"nested more than {MAX_DEPTH} levels deep", node)
    size = 1
    if isinstance(node, SequenceNode | MappingNode):
        active.add(key)
        children: Iterator[Node]
        if isinstance(node, SequenceNode):
            children = iter(node.value)
        else:
            children = (child for pair in node.value for child in pair)
        for child in children:
            size += _expanded_size(child, memo, active, depth + 1)
            if size > MAX_NODES:
                break  # already too big; no need to know by how much
        active.discard(key)
    memo[key] = size
    return size


def _count_plain(items: list[Any]) -> None:
    count = 0
    stack: list[tuple[Any, int]] = [(item, 1) for item in items]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} values; refused")
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)


def _plain_problems(value: Any, path: PathT) -> Iterator[tuple[PathT, str]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path, f"{value} is not a finite number"
    elif isinstance(value, str) and (problem := text_problem(value)):
        yield path, f"the text {problem}"
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and (problem := text_problem(key)):
                yield path, f"the key {problem}"
                continue
            yield from _plain_problems(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _plain_problems(child, (*path, i))
