"""Safe, bounded JSON and YAML loading that remembers the line of every mapping.

Pull-request files are hostile: YAML goes through a safe loader only, aliases and
nesting are bounded, and files past a size limit are refused. Mappings come back as
:class:`LocatedDict` (a plain ``dict`` with a ``line`` attribute), so findings can point
at the file and line of the statement that causes them.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

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


def line_of(value: object) -> int | None:
    """The line a loaded mapping started on, if the loader recorded it."""
    return getattr(value, "line", None)


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a text file, refusing files larger than ``max_bytes``."""
    size = path.stat().st_size
    if size > max_bytes:
        raise LoadError(f"file is {size} bytes, over the {max_bytes}-byte limit")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not UTF-8 text (byte {exc.start})") from None


def loads_json(text: str) -> Any:
    """Parse JSON; objects become :class:`LocatedDict` with their line."""
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    decoder = json.JSONDecoder()
    depth = [0]
    base_parse_object: Callable[..., Any] = json.decoder.JSONObject  # type: ignore[attr-defined]
    base_parse_array: Callable[..., Any] = json.decoder.JSONArray  # type: ignore[attr-defined]

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        _, start = s_and_end
        depth[0] += 1
        if depth[0] > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", bisect.bisect(newlines, start) + 1)
        pairs, end = base_parse_object(s_and_end, *args, **kwargs)
        depth[0] -= 1
        located = LocatedDict(pairs)
        located.line = bisect.bisect(newlines, start - 1) + 1
        return located, end

    def parse_array(s_and_end: tuple[str, int], scan_once: Any) -> Any:
        _, start = s_and_end
        depth[0] += 1
        if depth[0] > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", bisect.bisect(newlines, start) + 1)
        result = base_parse_array(s_and_end, scan_once)
        depth[0] -= 1
        return result

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.parse_array = parse_array  # type: ignore[attr-defined]
    decoder.object_pairs_hook = list
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise LoadError(exc.msg, exc.lineno) from None
    except RecursionError:
        raise LoadError(f"nesting deeper than {MAX_DEPTH}") from None


class SafeLocatedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with line-aware mappings and bounded aliases and depth.

    Subclass it (never the global loader) to add constructors, e.g. CloudFormation tags.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            event = self.peek_event()  # type: ignore[no-untyped-call]
            if self._aliases > MAX_ALIASES:
                raise LoadError(f"more than {MAX_ALIASES} aliases", event.start_mark.line + 1)
            if event.anchor in self._open_anchors:
                # A node that contains itself would make every consumer loop forever.
                raise LoadError(f"recursive alias *{event.anchor}", event.start_mark.line + 1)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", mark.line + 1)
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
        self._open_anchors.add(anchor)
        try:
            return compose(anchor)
        finally:
            self._open_anchors.discard(anchor)

    def construct_located_mapping(self, node: yaml.MappingNode) -> Iterator[LocatedDict]:
        located = LocatedDict()
        located.line = node.start_mark.line + 1
        yield located
        located.update(self.construct_mapping(node))  # type: ignore[arg-type]


SafeLocatedLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    SafeLocatedLoader.construct_located_mapping,
)


def loads_yaml(text: str, loader: type[SafeLocatedLoader] = SafeLocatedLoader) -> Any:
    """Parse one YAML document safely; mappings become :class:`LocatedDict`."""
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - loader derives from SafeLoader
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
