"""Warnings about skipped or partial input, counted per kind so reports stay short."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Notice:
    """One kind of warning: a stable code, a message, how often, and a few places."""

    code: str
    message: str
    count: int
    examples: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "count": self.count,
            "examples": list(self.examples),
        }

    def __str__(self) -> str:
        where = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        times = f" [{self.count}x]" if self.count > 1 else ""
        return f"{self.code}: {self.message}{times}{where}"


@dataclass
class Notices:
    """Collects warnings; the same code is counted once with up to five example places."""

    _messages: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, code: str, message: str, where: str | None = None, *, times: int = 1) -> None:
        """Record one occurrence (or ``times``) of warning ``code``; the first message wins."""
        self._messages.setdefault(code, message)
        self._counts[code] = self._counts.get(code, 0) + times
        examples = self._examples.setdefault(code, [])
        if where is not None and len(examples) < MAX_EXAMPLES and where not in examples:
            examples.append(where)

    def extend(self, other: Notices, shown: Callable[[str], str] | None = None) -> None:
        """Merge another collector into this one (each example as ``shown`` writes it)."""
        for notice in other.items():
            self._messages.setdefault(notice.code, notice.message)
            self._counts[notice.code] = self._counts.get(notice.code, 0) + notice.count
            examples = self._examples.setdefault(notice.code, [])
            for where in map(shown, notice.examples) if shown else notice.examples:
                if len(examples) < MAX_EXAMPLES and where not in examples:
                    examples.append(where)

    @contextmanager
    def unheard(self) -> Iterator[None]:
        """What is added while inside is forgotten after: reading what the scan was not
        asked about (a resource policy's values) must not warn about it."""
        saved = (dict(self._messages), dict(self._counts),
                 {code: list(examples) for code, examples in self._examples.items()})
        try:
            yield
        finally:
            self._messages, self._counts, self._examples = saved

    def count(self, code: str) -> int:
        return self._counts.get(code, 0)

    def items(self) -> list[Notice]:
        """The warnings in the order first seen."""
        return [
            Notice(code, self._messages[code], self._counts[code], tuple(self._examples[code]))
            for code in self._messages
        ]

    def __len__(self) -> int:
        return len(self._messages)
