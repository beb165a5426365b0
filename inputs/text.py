"""Text that can be stored and shown: checks for hostile strings, and safe rendering.

PostgreSQL refuses a NUL character in text and jsonb, and a lone UTF-16 surrogate
(``"\\ud800"`` in JSON or YAML) cannot be encoded as UTF-8 at all: either one reaching
the database or a response is a crash, so every way in (query strings, JSON bodies,
YAML specs, command-line arguments) refuses them with a message naming where they
are. ``printable`` renders any text for a terminal or a log without its control
bytes (an ESC in a candle file's header must not reach the user's terminal raw).

Framework-free: no Django here (specs.parsing uses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
# C0 and C1 controls except tab and newline, DEL, and lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (``None`` when it can): a NUL or a lone surrogate."""
    match = _FORBIDDEN.search(text)
    if match is None:
        return None
    char = match.group()
    where = f"at character {match.start() + 1}"
    if char == "\x00":
        return f"contains a NUL character (U+0000) {where}, which cannot be stored"
    return (
        f"contains a lone UTF-16 surrogate (U+{ord(char):04X}) {where}, which is not a character; "
        "write the character itself (or \\U followed by its 8-digit code point)"
    )


def printable(text: str) -> str:
    """``text`` with every control character (but tab and newline) and lone surrogate
    shown as an escape (``\\x1b``, ``\\x00``, ``\\udcff``), safe to print anywhere."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode(), text)


class NestedTooDeeply(ValueError):
    """A decoded value nested deeper than allowed."""


def data_problems(value: Any, *, max_depth: int) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """``(path, problem)`` for each string or key of a decoded JSON value that cannot be
    stored. Raises ``NestedTooDeeply`` past ``max_depth`` levels. Iterative, so any
    depth is safe to walk."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict | list) and len(path) >= max_depth:  # the (max_depth + 1)-th container
            raise NestedTooDeeply(f"nested more than {max_depth} levels deep")
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                yield path, problem
        elif isinstance(item, dict):
            for key in item:
                problem = text_problem(key) if isinstance(key, str) else None
                if problem:
                    yield (*path, key), "the key " + problem
            # reversed: the stack then yields problems in document order
            stack.extend((item[key], (*path, key)) for key in reversed(item))
        elif isinstance(item, list):
            stack.extend((item[i], (*path, i)) for i in reversed(range(len(item))))


def format_data_path(path: tuple[str | int, ...]) -> str:
    """``("overrides", "params", 0)`` → ``overrides.params[0]``; keys shown printable."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            shown = printable(part)
            out += f".{shown}" if out else shown
    return out or "(the body)"
