"""CloudFormation YAML: the short-form intrinsic tags, read by a safe, line-aware loader.

``!Sub "x"`` becomes ``{"Fn::Sub": "x"}`` and so on, so the rest of the tool sees the
long form only. The constructors are registered on :class:`CfnLoader` alone, never on
PyYAML's global loaders. A tag CloudFormation does not define (``!Foo``) becomes a
one-key mapping ``{"!Foo": value}`` that the resolver reports as unresolved; Python tags
(``!!python/object``) stay refused by the safe loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from leastpriv_ci.loaders import (
    MAX_ALIASES,
    MAX_DEPTH,
    LoadError,
    LocatedDict,
    SafeLocatedLoader,
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


def _without_timestamps(resolvers: dict[Any, Any]) -> dict[Any, Any]:
    # YAML 1.1 would turn ``Version: 2012-10-17`` into a date; CloudFormation reads a string.
    return {
        first: [(tag, rx) for tag, rx in entries if tag != "tag:yaml.org,2002:timestamp"]
        for first, entries in resolvers.items()
    }


class _CfnConstructors:
    """Constructors shared by the pure-Python and the libyaml CloudFormation loaders."""

    def construct_cfn_mapping(self, node: yaml.MappingNode) -> Iterator[LocatedDict]:
        # Each key's line is kept too, so that a string entry (a managed policy ARN) can
        # point at the line of the key or list item that holds it.
        located = LocatedDict()
        located.line = node.start_mark.line + 1
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_lines[key_node.value] = key_node.start_mark.line + 1
                if isinstance(value_node, yaml.SequenceNode):
                    for i, item in enumerate(value_node.value):
                        key_lines[f"{key_node.value}[{i}]"] = item.start_mark.line + 1
        located.key_lines = key_lines  # type: ignore[attr-defined]
        yield located
        located.update(self.construct_mapping(node))  # type: ignore[attr-defined]

    def construct_intrinsic(self, tag_suffix: str, node: yaml.Node) -> LocatedDict:
        key = TAGS.get(tag_suffix, f"!{tag_suffix}")
        value = self._node_value(node)
        if key == "Fn::GetAtt" and isinstance(value, str):
            # ``!GetAtt Res.Attr`` → ["Res", "Attr"]; attributes may hold dots themselves.
            logical, _, attribute = value.partition(".")
            value = [logical, attribute]
        located = LocatedDict({key: value})
        located.line = node.start_mark.line + 1
        return located

    def _node_value(self, node: yaml.Node) -> Any:
        constructor: Any = self
        if isinstance(node, yaml.ScalarNode):
            return constructor.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return constructor.construct_sequence(node, deep=True)
        assert isinstance(node, yaml.MappingNode)
        located = LocatedDict(constructor.construct_mapping(node, deep=True))
        located.line = node.start_mark.line + 1
        return located


class CfnLoader(_CfnConstructors, SafeLocatedLoader):
    """Safe YAML loader for CloudFormation (pure Python): short-form tags, dates as strings."""

    yaml_implicit_resolvers = _without_timestamps(
        SafeLocatedLoader.yaml_implicit_resolvers
    )


_SafeBase: Any = getattr(yaml, "CSafeLoader", None)


class CfnFastLoader(_CfnConstructors, _SafeBase or SafeLocatedLoader):  # type: ignore[misc]
    """The same loader on libyaml's parser (about 10x faster on large templates).

    libyaml composes the node graph in C (aliases stay shared nodes there); the alias,
    depth and recursion bounds of :class:`~leastpriv_ci.loaders.SafeLocatedLoader` are
    checked while the objects are built from that graph.
    """

    yaml_implicit_resolvers = _without_timestamps(
        (_SafeBase or SafeLocatedLoader).yaml_implicit_resolvers
    )

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        return _GraphBuilder(self).build(node, 1)


_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _GraphBuilder:
    """Python objects from a libyaml node graph, checking the loader's bounds on the way.

    Faster than PyYAML's generic constructor on large templates (no generator per node)
    and it refuses too many aliases, too deep nesting and nodes that contain themselves
    before they are expanded. Tags other than the common ones go to PyYAML's safe
    constructors.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.built: dict[int, Any] = {}
        self.open: set[int] = set()
        self.aliases = 0

    def build(self, node: yaml.Node, depth: int) -> Any:
        key = id(node)
        if key in self.built:
            if key in self.open:
                raise LoadError("recursive alias", node.start_mark.line + 1)
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise LoadError(f"more than {MAX_ALIASES} aliases", node.start_mark.line + 1)
            return self.built[key]
        if depth > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", node.start_mark.line + 1)
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag == _STR:
                value: Any = node.value
            elif tag.startswith("!"):
                value = self._intrinsic(tag[1:], node.value, node)
            else:
                value = self.loader.construct_object(node)
            self.built[key] = value
            return value
        if tag.startswith("!"):
            self.built[key] = None
            self.open.add(key)
            inner = self._container(node, depth, _SEQ if isinstance(node, yaml.SequenceNode)
                                    else _MAP)
            self.open.discard(key)
            value = self._intrinsic(tag[1:], inner, node)
        elif tag in (_SEQ, _MAP):
            value = self._container(node, depth, tag, key)
        else:  # !!set, !!omap, ... : rare, left to PyYAML's safe constructors
            self._check_children(node, depth)
            value = self.loader.construct_object(node, deep=True)
        self.built[key] = value
        return value

    def _container(self, node: yaml.Node, depth: int, tag: str, key: int | None = None) -> Any:
        if tag == _SEQ:
            items: list[Any] = []
            if key is not None:
                self.built[key] = items
                self.open.add(key)
            items.extend(self.build(child, depth + 1) for child in node.value)
            if key is not None:
                self.open.discard(key)
            return items
        assert isinstance(node, yaml.MappingNode)
        if any(k.tag == _MERGE for k, _ in node.value):
            self.loader.flatten_mapping(node)  # ``<<: *base`` merge keys
        mapping = LocatedDict()
        mapping.line = node.start_mark.line + 1
        if key is not None:
            self.built[key] = mapping
            self.open.add(key)
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            name = self.build(key_node, depth + 1)
            try:
                hash(name)
            except TypeError:
                raise LoadError("a mapping key must be a plain value",
                                key_node.start_mark.line + 1) from None
            mapping[name] = self.build(value_node, depth + 1)
            if isinstance(key_node, yaml.ScalarNode):
                key_lines[key_node.value] = key_node.start_mark.line + 1
                if isinstance(value_node, yaml.SequenceNode):
                    for i, item in enumerate(value_node.value):
                        key_lines[f"{key_node.value}[{i}]"] = item.start_mark.line + 1
        mapping.key_lines = key_lines  # type: ignore[attr-defined]
        if key is not None:
            self.open.discard(key)
        return mapping

    def _check_children(self, node: yaml.Node, depth: int) -> None:
        children = node.value if isinstance(node, yaml.SequenceNode) else [
            child for pair in node.value for child in pair]
        for child in children:
            self.build(child, depth + 1)

    @staticmethod
    def _intrinsic(tag_suffix: str, value: Any, node: yaml.Node) -> LocatedDict:
        key = TAGS.get(tag_suffix, f"!{tag_suffix}")
        if key == "Fn::GetAtt" and isinstance(value, str):
            logical, _, attribute = value.partition(".")
            value = [logical, attribute]
        located = LocatedDict({key: value})
        located.line = node.start_mark.line + 1
        return located


for _loader in (CfnLoader, CfnFastLoader):
    _loader.add_constructor(  # type: ignore[type-var]
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        _CfnConstructors.construct_cfn_mapping,
    )
    _loader.add_multi_constructor("!", _CfnConstructors.construct_intrinsic)


def key_line(mapping: object, key: str, index: int | None = None) -> int | None:
    """The line of ``key`` (or of its ``index``-th list item) in a YAML mapping, if known."""
    lines: dict[str, int] = getattr(mapping, "key_lines", {})
    if index is not None and f"{key}[{index}]" in lines:
        return lines[f"{key}[{index}]"]
    return lines.get(key) or line_of(mapping)


def loads_cfn_yaml(text: str) -> Any:
    """Parse a CloudFormation YAML template safely (see :func:`leastpriv_ci.loaders.loads_yaml`).

    Uses libyaml when PyYAML was built with it, else the pure-Python :class:`CfnLoader`.
    """
    if _SafeBase is None:
        return loads_yaml(text, loader=CfnLoader)
    try:
        return yaml.load(text, Loader=CfnFastLoader)  # noqa: S506 - derives from CSafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LoadError(str(exc.problem or exc), mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise LoadError(str(exc)) from None
    except RecursionError:
        raise LoadError(f"nesting deeper than {MAX_DEPTH}") from None
