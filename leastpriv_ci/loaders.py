"""Safe, bounded JSON and YAML loading that remembers the line of every mapping.

Pull-request files are hostile: YAML goes through a safe loader only, aliases and
nesting are bounded, and files past a size limit are refused. Mappings come back as
:class:`LocatedDict` (a plain ``dict`` with a ``line`` attribute), so findings can point
at the file and line of the statement that causes them.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from leastpriv_ci.collector import paused_gc

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 1000


class LocatedDict(dict[str, Any]):
    """A mapping that knows the 1-based line it started on (``None`` when unknown)."""

    line: int | None = None


class LoadError(ValueError):
    """A file could not be parsed; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


def list_of(value: object) -> list[Any]:
    """``value`` where a file should hold a list: itself if it is one, else empty (a
    hostile or broken file may hold anything there)."""
    return value if isinstance(value, list) else []


def mapping_of(value: object) -> Mapping[str, Any]:
    """``value`` where a file should hold a mapping: itself if it is one, else empty."""
    return value if isinstance(value, Mapping) else {}


def value_at(value: object, path: Iterable[str]) -> Any:
    """The value at ``path`` in nested mappings (a key inside one), None where a step is
    absent or its container is no mapping."""
    found: Any = value
    for key in path:
        found = found.get(key) if isinstance(found, Mapping) else None
    return found


def line_of(value: object) -> int | None:
    """The line a loaded mapping started on, if the loader recorded it."""
    return getattr(value, "line", None)


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a text file, refusing files larger than ``max_bytes``. A byte order mark,
    which Windows editors and PowerShell write, is dropped: JSON parsers refuse it."""
    size = path.stat().st_size
    if size > max_bytes:
        raise LoadError(f"file is {size} bytes, over the {max_bytes}-byte limit")
    try:
        return path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text (byte {exc.start})") from None


_JSON_STRING = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"')
_JSON_STRUCTURE = re.compile(r"[{}\[\]\n]")
# The same pass, keys too: every string, and the commas after which a key may come.
_JSON_KEYED = re.compile(rf'{_JSON_STRING.pattern}|[{{}}\[\],\n]')
_JSON_TOKEN = re.compile(rf'{_JSON_STRING.pattern}|[{{}}\[\],:\n]|[^\s{{}}\[\],:"]+')


class KeyedDict(LocatedDict):
    """A :class:`LocatedDict` that also knows the 1-based line of each of its keys."""

    key_lines: dict[str, int]


def loads_json(text: str, *, key_lines: bool = False) -> Any:
    """Parse JSON; objects become :class:`LocatedDict` with their line (with
    ``key_lines``, :class:`KeyedDict` with the line of each key too).

    The C decoder does the parsing. Lines come from one pass over the structure: JSON
    strings hold no raw newline, so with every string blanked out the braces and newlines
    that remain give each object's opening line. The decoder builds objects in the order
    of their closing braces, which is how the lines are handed out.
    """
    hook: Callable[[list[tuple[str, Any]]], LocatedDict]
    if key_lines:
        keyed = iter(_keyed_objects(text))

        def hook(pairs: list[tuple[str, Any]]) -> LocatedDict:
            mapping = KeyedDict(pairs)
            mapping.line, keys = next(keyed, (None, []))
            # a key given twice keeps its last value, and so its last line
            mapping.key_lines = dict(zip((key for key, _ in pairs), keys, strict=False))
            return mapping
    else:
        lines = iter(_object_lines(text))

        def hook(pairs: list[tuple[str, Any]]) -> LocatedDict:
            mapping = LocatedDict(pairs)
            mapping.line = next(lines, None)
            return mapping

    try:
        with paused_gc():
            return json.loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as exc:
        raise LoadError(exc.msg, exc.lineno) from None
    except ValueError:  # an integer past Python's digit limit (sys.get_int_max_str_digits)
        raise LoadError(f"an integer of more than {sys.get_int_max_str_digits()} "
                        "digits") from None
    except RecursionError:
        raise LoadError(f"nesting deeper than {MAX_DEPTH}") from None


def _object_lines(text: str) -> list[int]:
    """Each JSON object's opening line, in the order of its closing brace."""
    skeleton = _JSON_STRING.sub('""', text)
    opening_lines: list[int] = []
    open_stack: list[tuple[str, int]] = []
    line = 1
    for mark in _JSON_STRUCTURE.findall(skeleton):
        if mark == "\n":
            line += 1
        elif mark in "{[":
            open_stack.append((mark, line))
            if len(open_stack) > MAX_DEPTH:
                raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
        elif open_stack:
            kind, opened = open_stack.pop()
            if kind == "{":
                opening_lines.append(opened)
    return opening_lines


def _keyed_objects(text: str) -> list[tuple[int, list[int]]]:
    """Each JSON object's opening line and its keys' lines, in the order of its closing
    brace: the same pass as :func:`_object_lines`, with the strings and commas kept (a
    string that opens an object, or follows a comma in one, is a key)."""
    objects: list[tuple[int, list[int]]] = []
    open_stack: list[tuple[str, int, list[int]]] = []
    line = 1
    key_next = False
    for mark in _JSON_KEYED.findall(text):
        if mark == "\n":
            line += 1
        elif mark[0] == '"':
            if key_next:
                open_stack[-1][2].append(line)
            key_next = False
        elif mark == ",":
            key_next = bool(open_stack) and open_stack[-1][0] == "{"
        elif mark in "{[":
            open_stack.append((mark, line, []))
            key_next = mark == "{"
            if len(open_stack) > MAX_DEPTH:
                raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
        elif open_stack:
            kind, opened, keys = open_stack.pop()
            if kind == "{":
                objects.append((opened, keys))
            key_next = False
    return objects


def value_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """The 1-based line of every value of a JSON ``text`` that parses, by its path of
    keys and list indexes (an object's member: its key's line), as a YAML node gives it:
    a message can point at one item of a list. The text's marks are walked once, with
    an explicit stack (no recursion)."""
    lines: dict[tuple[str | int, ...], int] = {}
    # per open container: its path, and its next index (a list) or pending key (an object)
    open_stack: list[tuple[tuple[str | int, ...], list[Any]]] = []
    line = 1
    key_next = False
    for mark in _JSON_TOKEN.findall(text):
        if mark == "\n":
            line += 1
            continue
        if mark in (",", ":"):
            key_next = mark == "," and bool(open_stack) and open_stack[-1][1][0] is None
            continue
        if mark in ("}", "]"):
            open_stack.pop()
            key_next = False
            continue
        if key_next:  # an object's key: its member's line
            key = json.loads(mark)
            path, state = open_stack[-1]
            state[1] = key
            lines[(*path, key)] = line
            key_next = False
            continue
        path = ()
        if open_stack:
            parent, state = open_stack[-1]
            if state[0] is None:  # an object's member's value
                path = (*parent, state[1])
            else:
                path = (*parent, state[0])
                state[0] += 1
        lines.setdefault(path, line)
        if mark in ("{", "["):
            open_stack.append((path, [None, None] if mark == "{" else [0]))
            key_next = mark == "{"
            if len(open_stack) > MAX_DEPTH:
                raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
    return lines


class SafeLocatedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with line-aware mappings and bounded aliases and depth.

    The depth bound holds through aliases too: an alias stands for its anchored node, so
    it reaches as deep as that node's own nesting below the alias (a chain of aliases to
    nested lists would otherwise build a value deeper than any consumer can recurse).

    Subclass it (never the global loader) to add constructors, e.g. CloudFormation tags.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._deepest = 0  # the deepest level reached, aliases expanded
        self._open_anchors: set[str] = set()
        self._heights: dict[str, int] = {}  # anchor → levels its node spans (scalar: 1)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            event = self.peek_event()  # type: ignore[no-untyped-call]
            line = event.start_mark.line + 1
            if self._aliases > MAX_ALIASES:
                raise LoadError(f"more than {MAX_ALIASES} aliases", line)
            if event.anchor in self._open_anchors:
                # A node that contains itself would make every consumer loop forever.
                raise LoadError(f"recursive alias *{event.anchor}", line)
            if event.anchor in self.anchors:
                reach = self._depth + self._heights.get(event.anchor, 1)
                if reach > MAX_DEPTH:
                    raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
                self._deepest = max(self._deepest, reach)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", mark.line + 1)
        self._deepest = max(self._deepest, self._depth)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_sequence_node(self, anchor: Any) -> Any:
        return self._compose_anchored(super().compose_sequence_node, anchor)

    def compose_mapping_node(self, anchor: Any) -> Any:
        return self._compose_anchored(super().compose_mapping_node, anchor)

    def _compose_anchored(self, compose: Callable[[Any], Any], anchor: Any) -> Any:
        if anchor is None:
            return compose(anchor)
        outer, self._deepest = self._deepest, self._depth
        self._open_anchors.add(anchor)
        try:
            node = compose(anchor)
        finally:
            self._open_anchors.discard(anchor)
        self._heights[anchor] = self._deepest - self._depth + 1
        self._deepest = max(outer, self._deepest)
        return node

    def construct_located_mapping(self, node: yaml.MappingNode) -> Iterator[LocatedDict]:
        located = LocatedDict()
        located.line = node.start_mark.line + 1
        yield located
        located.update(self.construct_mapping(node))  # type: ignore[arg-type]


# Scalars whose PyYAML constructor raises a bare ValueError/KeyError/IndexError on a bad
# value: an explicit ``!!int abc`` or an empty ``!!float ""``, a plain ``0x_`` that the int
# pattern matches, a date such as ``2026-02-30`` that the timestamp pattern matches.
CHECKED_SCALAR_TAGS = tuple(f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool"))


def construct_checked_scalar(loader: Any, node: yaml.ScalarNode) -> Any:
    """PyYAML's number and boolean constructors, with a bad value a :class:`LoadError`."""
    construct = yaml.constructor.SafeConstructor.yaml_constructors[node.tag]
    try:
        return construct(loader, node)
    except (ValueError, KeyError, IndexError):
        kind = node.tag.rsplit(":", 1)[-1]
        raise LoadError(f"{node.value!r} is not a valid {kind}", node.start_mark.line + 1
                        ) from None


SafeLocatedLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    SafeLocatedLoader.construct_located_mapping,
)
# (CloudFormation's loader reads no timestamps at all: it takes the other three only)
for _tag in (*CHECKED_SCALAR_TAGS, "tag:yaml.org,2002:timestamp"):
    SafeLocatedLoader.add_constructor(_tag, construct_checked_scalar)


def loads_yaml(text: str, loader: type[SafeLocatedLoader] = SafeLocatedLoader) -> Any:
    """Parse one YAML document safely; mappings become :class:`LocatedDict`."""
    try:
        with paused_gc():
            return yaml.load(text, Loader=loader)  # noqa: S506 - derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise LoadError(str(exc.problem or exc), line) from None
    except yaml.YAMLError as exc:
        raise LoadError(str(exc)) from None
    except RecursionError:
        raise LoadError(f"nesting deeper than {MAX_DEPTH}") from None


def load_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Load a JSON or YAML file by its suffix (``.json`` → JSON, otherwise YAML)."""
    text = read_text(path, max_bytes)
    if path.suffix.lower() == ".json":
        return loads_json(text)
    return loads_yaml(text)
