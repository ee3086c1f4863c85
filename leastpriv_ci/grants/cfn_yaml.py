"""CloudFormation YAML: the short-form intrinsic tags, read by a safe, line-aware loader.

``!Sub "x"`` becomes ``{"Fn::Sub": "x"}`` and so on, so the rest of the tool sees the
long form only. The constructors are registered on this module's loaders alone, never on
PyYAML's global loaders. A tag CloudFormation does not define (``!Foo``) becomes a
one-key mapping ``{"!Foo": value}`` that the resolver reports as unresolved; Python tags
(``!!python/object``) stay refused by the safe loader, and so do the YAML tags
CloudFormation does not support (``!!binary``, ``!!timestamp``, ``!!set``, ``!!omap``,
``!!pairs``).

Every mapping comes back as a :class:`~leastpriv_ci.loaders.LocatedDict` with its line
and a ``key_lines`` table (the line of each key, and of each item of a list value), so a
finding can point at the key or list item that holds a value.

Two loaders give the same result. With libyaml (PyYAML's usual wheels), the C parser
emits events and :class:`_EventBuilder` turns them straight into Python objects, checking
the bounds on the way; without it, :class:`CfnLoader` is PyYAML's pure-Python safe loader.
Merge keys (``<<``) follow the YAML merge-key rules in both: the mapping's own keys win,
then the merged mappings in the order they are listed.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from leastpriv_ci.collector import paused_gc
from leastpriv_ci.loaders import (
    CHECKED_SCALAR_TAGS,
    MAX_ALIASES,
    MAX_DEPTH,
    LoadError,
    LocatedDict,
    SafeLocatedLoader,
    construct_checked_scalar,
    line_of,
    loads_yaml,
)

# Short tag → long-form key. ``!Ref`` and ``!Condition`` keep their bare names.
TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "If": "Fn::If",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "FindInMap": "Fn::FindInMap",
    "ImportValue": "Fn::ImportValue",
    "Base64": "Fn::Base64",
    "Cidr": "Fn::Cidr",
    "GetAZs": "Fn::GetAZs",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "Transform": "Fn::Transform",
    "Length": "Fn::Length",
    "ToJsonString": "Fn::ToJsonString",
}

# YAML 1.1 tags that CloudFormation refuses ("Template formats" in its user guide).
UNSUPPORTED_TAGS = ("binary", "timestamp", "set", "omap", "pairs")

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_MERGE_REFUSED = "a merge key (<<) takes a mapping or a list of mappings"


def intrinsic(tag_suffix: str, value: Any, line: int) -> LocatedDict:
    """The long form of a short-form tag: ``("GetAtt", "T.Arn")`` → ``{"Fn::GetAtt": [..]}``."""
    key = TAGS.get(tag_suffix, f"!{tag_suffix}")
    if key == "Fn::GetAtt" and isinstance(value, str):
        # ``!GetAtt Res.Attr`` → ["Res", "Attr"]; attributes may hold dots themselves.
        logical, _, attribute = value.partition(".")
        value = [logical, attribute]
    located = LocatedDict({key: value})
    located.line = line
    return located


def _mergeable(value: object) -> bool:
    # Built from an untagged YAML mapping: those carry ``key_lines`` in both loaders, the
    # one-key mapping an intrinsic tag becomes does not.
    return isinstance(value, LocatedDict) and hasattr(value, "key_lines")


def _without_timestamps(resolvers: dict[Any, Any]) -> dict[Any, Any]:
    # YAML 1.1 would turn ``Version: 2012-10-17`` into a date; CloudFormation reads a string.
    return {
        first: [(tag, rx) for tag, rx in entries if tag != "tag:yaml.org,2002:timestamp"]
        for first, entries in resolvers.items()
    }


class _CfnConstructors:
    """Constructors of the pure-Python loader (and the libyaml loader's rare scalar tags)."""

    def construct_cfn_mapping(self, node: yaml.MappingNode) -> Any:
        located = LocatedDict()
        located.line = node.start_mark.line + 1
        yield located
        self._fill(located, node, deep=False)

    def construct_intrinsic(self, tag_suffix: str, node: yaml.Node) -> LocatedDict:
        constructor: Any = self
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = constructor.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = constructor.construct_sequence(node, deep=True)
        else:
            assert isinstance(node, yaml.MappingNode)
            value = LocatedDict()
            value.line = node.start_mark.line + 1
            self._fill(value, node, deep=True)
        return intrinsic(tag_suffix, value, node.start_mark.line + 1)

    def construct_unsupported(self, node: yaml.Node) -> Any:
        name = node.tag.rsplit(":", 1)[-1]
        raise LoadError(f"CloudFormation does not support the !!{name} tag",
                        node.start_mark.line + 1)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Merge keys by the YAML rules: own keys win, then merged mappings in list order.

        Only plain mappings merge (not ``<<: !Ref X``). This is PyYAML 5's merge, keys
        included in its order; PyYAML 6's lets a later mapping in ``<<: [*a, *b]`` win or
        not by whether two equal key strings happen to be the same object.
        """
        merged: list[list[tuple[yaml.Node, yaml.Node]]] = []
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                if key_node.tag == _VALUE:
                    key_node.tag = _STR
                own.append((key_node, value_node))
                continue
            sources = (value_node.value if isinstance(value_node, yaml.SequenceNode)
                       and value_node.tag == _SEQ else [value_node])
            for source in sources:
                if not isinstance(source, yaml.MappingNode) or source.tag != _MAP:
                    raise LoadError(_MERGE_REFUSED, key_node.start_mark.line + 1)
                self.flatten_mapping(source)
                merged.append(source.value)
        if merged:
            node.value = [pair for source in reversed(merged) for pair in source] + own

    def _fill(self, located: LocatedDict, node: yaml.MappingNode, deep: bool) -> None:
        if not isinstance(node, yaml.MappingNode):  # ``!!map [a]``
            raise ConstructorError(None, None, f"expected a mapping node, but found {node.id}",
                                   node.start_mark)
        self.flatten_mapping(node)
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_lines[key_node.value] = key_node.start_mark.line + 1
                if isinstance(value_node, yaml.SequenceNode):
                    for i, item in enumerate(value_node.value):
                        key_lines[f"{key_node.value}[{i}]"] = item.start_mark.line + 1
        located.key_lines = key_lines  # type: ignore[attr-defined]
        located.update(self.construct_mapping(node, deep=deep))  # type: ignore[attr-defined]


class CfnLoader(_CfnConstructors, SafeLocatedLoader):
    """Safe YAML loader for CloudFormation (pure Python): short-form tags, dates as strings."""

    yaml_implicit_resolvers = _without_timestamps(
        SafeLocatedLoader.yaml_implicit_resolvers
    )


_SafeBase: Any = getattr(yaml, "CSafeLoader", None)


class CfnFastLoader(_CfnConstructors, _SafeBase or SafeLocatedLoader):  # type: ignore[misc]
    """The same loader on libyaml's parser; :class:`_EventBuilder` builds the document."""

    yaml_implicit_resolvers = _without_timestamps(
        (_SafeBase or SafeLocatedLoader).yaml_implicit_resolvers
    )

    def get_single_data(self) -> Any:
        return _EventBuilder(self).document()


for _loader in (CfnLoader, CfnFastLoader):
    _loader.add_constructor(  # type: ignore[type-var]
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        _CfnConstructors.construct_cfn_mapping,
    )
    _loader.add_multi_constructor("!", _CfnConstructors.construct_intrinsic)
    for _name in UNSUPPORTED_TAGS:
        _loader.add_constructor(  # type: ignore[type-var]
            f"tag:yaml.org,2002:{_name}", _CfnConstructors.construct_unsupported
        )
    for _tag in CHECKED_SCALAR_TAGS:
        _loader.add_constructor(_tag, construct_checked_scalar)


class _Frame:
    """A mapping or sequence whose events are still arriving."""

    __slots__ = ("anchor", "deepest", "depth", "has_key", "is_map", "key", "key_line",
                 "key_raw", "line", "lines", "merges", "tag", "value")

    def __init__(self, is_map: bool, tag: str | None, line: int, anchor: str | None,
                 depth: int) -> None:
        self.is_map = is_map
        self.tag = tag  # a short-form tag ("!Sub"), or None for a plain collection
        self.line = line
        self.anchor = anchor
        self.depth = depth
        self.deepest = depth  # the deepest level inside, aliases expanded
        # The collection being built, and a mapping's key_lines or a sequence's item lines.
        self.value: Any
        self.lines: Any
        if is_map:
            self.value = LocatedDict()
            self.value.line = line
            self.lines = {}
        else:
            self.value = []
            self.lines = []
        self.has_key = False
        self.key: Any = None
        self.key_raw: str | None = None
        self.key_line = 0
        self.merges: list[tuple[Any, int]] = []


# What an anchor stands for: value, line, scalar text, item lines (a sequence), height.
_Anchored = tuple[Any, int, str | None, list[int] | None, int]

_MERGE_KEY: Any = object()  # the value of a ``<<`` key while its mapping is built


class _EventBuilder:
    """Python objects straight from libyaml's parser events, as :class:`CfnLoader` builds them.

    No node graph and no generic constructor: one loop over the events with a stack of
    open collections. The bounds of :class:`~leastpriv_ci.loaders.SafeLocatedLoader` hold
    here too: aliases counted, recursive aliases refused, nesting bounded with aliases
    expanded. Tags other than strings and short-form intrinsics go to PyYAML's safe
    constructors (numbers, booleans, null: cached, few distinct values).
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.anchors: dict[str, _Anchored] = {}
        self.open_anchors: set[str] = set()
        self.aliases = 0
        self.tags: dict[str, str] = {}  # plain scalar → its resolved tag
        self.scalars: dict[tuple[str, str], Any] = {}  # (tag, text) → constructed value

    def document(self) -> Any:
        """The stream's single document (``None`` for an empty stream)."""
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(StreamEndEvent):
            loader.get_event()
            return None
        loader.get_event()  # document start
        value = self.node()
        loader.get_event()  # document end
        if not loader.check_event(StreamEndEvent):
            event = loader.get_event()
            raise ComposerError("expected a single document in the stream", None,
                                "but found another document", event.start_mark)
        loader.get_event()
        return value

    def node(self) -> Any:
        """Build the next node from the events (the whole document, from its root)."""
        get_event = self.loader.get_event
        anchors = self.anchors
        tags = self.tags
        stack: list[_Frame] = []
        value: Any
        raw: str | None
        items: list[int] | None
        while True:
            event = get_event()
            kind = event.__class__
            depth = len(stack) + 1
            if kind is ScalarEvent:
                raw = event.value
                line = event.start_mark.line + 1
                if depth > MAX_DEPTH:
                    raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
                tag = event.tag
                if tag is None or tag == "!":
                    tag = (tags.get(raw) or self._resolve(raw)) if event.implicit[0] else _STR
                if tag == _STR:
                    value = raw
                elif tag[0] == "!":
                    value = intrinsic(tag[1:], raw, line)
                elif tag in (_MERGE, _VALUE) and self._at_key(stack):
                    value = _MERGE_KEY if tag == _MERGE else raw
                else:
                    value = self._scalar(tag, event)
                items = None
                deepest = depth
                if event.anchor is not None:
                    self._anchor(event.anchor, event)
                    anchors[event.anchor] = (value, line, raw, None, 1)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                stack.append(self._open(event, kind is MappingStartEvent, depth))
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                value, line, raw, items, deepest = frame.value, frame.line, None, None, \
                    frame.deepest
                if frame.is_map:
                    if frame.merges:
                        value = self._merged(frame)
                    value.key_lines = frame.lines
                else:
                    items = frame.lines
                if frame.tag is not None:
                    value = intrinsic(frame.tag[1:], value, line)
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                    anchors[frame.anchor] = (value, line, None, items,
                                             deepest - frame.depth + 1)
            elif kind is AliasEvent:
                value, line, raw, items, deepest = self._alias(event, depth)
                if value is _MERGE_KEY and not self._at_key(stack):
                    value = self._scalar(_MERGE, event)  # refused, as PyYAML does
            else:  # pragma: no cover - libyaml emits no other event inside a document
                raise LoadError(f"unexpected YAML event {kind.__name__}",
                                event.start_mark.line + 1)
            if not stack:
                return value
            parent = stack[-1]
            if deepest > parent.deepest:
                parent.deepest = deepest
            if not parent.is_map:
                parent.value.append(value)
                parent.lines.append(line)
            elif not parent.has_key:
                if value.__class__ is not str and value is not _MERGE_KEY:
                    try:
                        hash(value)
                    except TypeError:
                        raise LoadError("found unhashable key", line) from None
                parent.has_key = True
                parent.key, parent.key_raw, parent.key_line = value, raw, line
            else:
                parent.has_key = False
                key, key_raw = parent.key, parent.key_raw
                if key is _MERGE_KEY:
                    parent.merges.append((value, parent.key_line))
                    continue
                parent.value[key] = value
                if key_raw is not None:
                    key_lines = parent.lines
                    key_lines[key_raw] = parent.key_line
                    if items is not None:
                        for i, item_line in enumerate(items):
                            key_lines[f"{key_raw}[{i}]"] = item_line

    @staticmethod
    def _at_key(stack: list[_Frame]) -> bool:
        return bool(stack) and stack[-1].is_map and not stack[-1].has_key

    def _open(self, event: Any, is_map: bool, depth: int) -> _Frame:
        line = event.start_mark.line + 1
        if depth > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
        tag = event.tag
        if tag in (None, "!", _MAP if is_map else _SEQ):
            tag = None
        elif tag[0] != "!":
            # Any other tag on a collection (!!set, !!str, ...) is an error; PyYAML's
            # constructors give the same message as in the pure-Python loader.
            node_class = yaml.MappingNode if is_map else yaml.SequenceNode
            self.loader.construct_object(node_class(tag, [], event.start_mark,
                                                    event.start_mark), deep=True)
            raise LoadError(f"unsupported tag {tag}", line)  # pragma: no cover
        anchor = event.anchor
        if anchor is not None:
            self._anchor(anchor, event)
            self.open_anchors.add(anchor)
        return _Frame(is_map, tag, line, anchor, depth)

    def _anchor(self, anchor: str, event: Any) -> None:
        # Errors PyYAML's composer raises are raised as it raises them (same message).
        if anchor in self.anchors or anchor in self.open_anchors:
            raise ComposerError(f"found duplicate anchor {anchor!r}; first occurrence", None,
                                "second occurrence", event.start_mark)

    def _alias(self, event: Any, depth: int) -> _Anchored:
        anchor = event.anchor
        line = event.start_mark.line + 1
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise LoadError(f"more than {MAX_ALIASES} aliases", line)
        if anchor in self.open_anchors:
            raise LoadError(f"recursive alias *{anchor}", line)
        if anchor not in self.anchors:
            raise ComposerError(None, None, f"found undefined alias {anchor!r}",
                                event.start_mark)
        value, anchor_line, raw, items, height = self.anchors[anchor]
        # Expanded, the alias reaches as deep as its node's own nesting below it.
        reach = depth - 1 + height
        if reach > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
        return value, anchor_line, raw, items, reach

    def _resolve(self, text: str) -> str:
        tag: str = self.loader.resolve(yaml.ScalarNode, text, (True, False))
        self.tags[text] = tag
        return tag

    def _scalar(self, tag: str, event: Any) -> Any:
        text = event.value if isinstance(event, ScalarEvent) else ""
        key = (tag, text)
        if key not in self.scalars:
            node = yaml.ScalarNode(tag, text, event.start_mark, event.start_mark)
            self.scalars[key] = self.loader.construct_object(node, deep=True)
        return self.scalars[key]

    def _merged(self, frame: _Frame) -> LocatedDict:
        sources = []
        for value, line in frame.merges:
            for source in value if isinstance(value, list) else [value]:
                if not _mergeable(source):
                    raise LoadError(_MERGE_REFUSED, line)
                sources.append(source)
        merged = LocatedDict()
        merged.line = frame.line
        key_lines: dict[str, int] = {}
        for source in reversed(sources):
            merged.update(source)
            key_lines.update(source.key_lines)
        merged.update(frame.value)
        key_lines.update(frame.lines)
        frame.lines = key_lines
        return merged


def key_line(mapping: object, key: str, index: int | None = None) -> int | None:
    """The line of ``key`` (or of its ``index``-th list item) in a YAML mapping, if known."""
    lines: dict[str, int] = getattr(mapping, "key_lines", {})
    if index is not None and f"{key}[{index}]" in lines:
        return lines[f"{key}[{index}]"]
    return lines.get(key) or line_of(mapping)


def loads_cfn_yaml(text: str, *, libyaml: bool = True) -> Any:
    """Parse a CloudFormation YAML template safely (see :func:`leastpriv_ci.loaders.loads_yaml`).

    Uses libyaml when PyYAML was built with it (and ``libyaml`` is not turned off), else
    the pure-Python :class:`CfnLoader`; both give the same values and lines.
    """
    if _SafeBase is None or not libyaml:
        return loads_yaml(text, loader=CfnLoader)
    try:
        with paused_gc():
            return yaml.load(text, Loader=CfnFastLoader)  # noqa: S506 - from CSafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LoadError(str(exc.problem or exc), mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise LoadError(str(exc)) from None
    except RecursionError:
        raise LoadError(f"nesting deeper than {MAX_DEPTH}") from None
