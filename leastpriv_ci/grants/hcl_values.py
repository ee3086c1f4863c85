"""The values the offline Terraform evaluator works with, besides plain JSON-like ones:
sets, values not known offline, values known not to exist, and ``jsonencode`` results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_STRING = 256 * 1024
MAX_VALUES = 100_000  # values a list/object may span (shared locals repeat without copying)


class SetValue(list[Any]):
    """A set (``toset(...)``): iterated, its keys are its elements, not positions."""


def pairs_of(collection: Any) -> list[tuple[Any, Any]] | None:
    """A collection's (key, value) pairs as Terraform iterates them: a map's keys and a
    set's elements in order (lexical; numbers by value), a list's positions (None: not a
    collection, or a map some of whose keys are not known offline)."""
    if isinstance(collection, Mapping):
        if not known_keys(collection):
            return None
        return sorted(collection.items(), key=lambda pair: str(pair[0]))
    if isinstance(collection, SetValue):
        return [(item, item) for item in collection]
    if isinstance(collection, list):
        return list(enumerate(collection))
    return None


def known_keys(value: Mapping[Any, Any]) -> bool:
    """Whether every key of an object is known offline (``{(var.k) = ...}`` may not be)."""
    return not getattr(value, "unknown_keys", False)


def set_of(items: list[Any]) -> SetValue | None:
    """``toset``: strings sorted as Terraform orders a set of them, numbers by value; a
    mix (which Terraform converts) or anything else is not evaluated (None)."""
    if all(isinstance(i, str) for i in items):
        return SetValue(sorted(set(items)))
    if all(isinstance(i, int | float) and not isinstance(i, bool) for i in items):
        return SetValue(sorted(set(items)))
    return None


@dataclass(frozen=True)
class Unknown:
    """A value known only at apply time (or to a fuller evaluator); ``text`` is its source."""

    text: str


@dataclass(frozen=True)
class Absent(Unknown):
    """A value known not to exist: a key a known object lacks, an index past a known
    list's end, an instance a known ``count`` does not make. Terraform fails there, which
    ``try`` and ``can`` catch; everywhere else it is as unknown as :class:`Unknown`."""


@dataclass(frozen=True)
class Encoded:
    """``jsonencode(value)``: kept as structure so statements keep their lines."""

    value: Any


def within(value: Any, limit: int) -> bool:
    """Whether ``value`` spans at most ``limit`` values once shared parts are expanded."""
    budget = [limit]

    def walk(item: Any) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if isinstance(item, Encoded):
            return walk(item.value)
        if isinstance(item, Mapping):
            return all(walk(v) for v in item.values())
        if isinstance(item, list):
            return all(walk(v) for v in item)
        return True

    return walk(value)


def holds_absent(value: Any) -> bool:
    """Whether a list or object holds a value known not to exist, at any depth (looked at
    up to MAX_VALUES values)."""
    pending, budget = [value], MAX_VALUES
    while pending and budget > 0:
        item = pending.pop()
        budget -= 1
        if isinstance(item, Absent):
            return True
        if isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def scalar(value: Any) -> str:
    """A string, number or bool as Terraform turns it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def plain(value: Any) -> bool:
    """Whether ``value`` is a string, number, bool or a list of them, all known."""
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return isinstance(value, str | int | float | bool)


def listed(value: Any) -> list[Any]:
    """``value`` itself when it is a list (or set); TypeError otherwise."""
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def flatten(values: Sequence[Any]) -> list[Any]:
    """Nested lists as one list, in order."""
    out: list[Any] = []
    for value in values:
        out.extend(flatten(value) if isinstance(value, list) else [value])
    return out
