"""What is wrong with a scenario file, said so that a person can fix it without reading code.

A :class:`Problem` names the file, the line, the field (a dotted path such as
``threats.2.munition``), the offending value and what would have been allowed. A
:class:`ScenarioError` carries every problem found in one pass, so a user fixes them all at once
instead of one per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Problem", "ScenarioError", "format_value"]

_MISSING = object()


def format_value(value: Any, limit: int = 60) -> str:
    """A short, one-line rendering of an offending value (JSON-like, truncated)."""
    if isinstance(value, str) and len(value) > 4 * limit:
        value = value[: 4 * limit]  # a megabyte of text is not rendered to show 60 characters
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except (ValueError, RecursionError):  # e.g. an integer of more than 4,300 digits
            text = f"<{type(value).__name__} too large to show>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario.

    ``line`` is 1-based (``None`` when unknown); ``field`` is the dotted path to the offending
    entry (empty for problems with the file as a whole, e.g. broken YAML); ``value`` is the
    offending value as found in the file (absent for missing fields); ``allowed`` says what
    would have been accepted.
    """

    file: str
    line: int | None
    field: str
    message: str
    value: Any = _MISSING
    allowed: str = ""

    @property
    def has_value(self) -> bool:
        return self.value is not _MISSING

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = self.field or "(file)"
        extras = []
        if self.has_value:
            extras.append(f"got {format_value(self.value)}")
        if self.allowed:
            extras.append(f"allowed {self.allowed}")
        tail = f" ({'; '.join(extras)})" if extras else ""
        return f"{where}: {field}: {self.message}{tail}"


class ScenarioError(ValueError):
    """A scenario failed to load; ``problems`` lists everything that was found wrong."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
