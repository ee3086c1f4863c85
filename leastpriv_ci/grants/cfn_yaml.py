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

    libyaml composes the node graph in C, so the alias, depth and recursion bounds of
    :class:`~leastpriv_ci.loaders.SafeLocatedLoader` are checked on that graph before
    any Python object is built.
    """

    yaml_implicit_resolvers = _without_timestamps(
        (_SafeBase or SafeLocatedLoader).yaml_implicit_resolvers
    )

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        check_graph(node)
        return self.construct_document(node)


def check_graph(root: yaml.Node) -> None:
    """Refuse node graphs with too many aliases, too deep nesting, or a node inside itself."""
    seen: set[int] = set()
    open_nodes: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            open_nodes.discard(id(node))
            continue
        line = node.start_mark.line + 1
        if id(node) in open_nodes:
            raise LoadError("recursive alias", line)
        if id(node) in seen:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise LoadError(f"more than {MAX_ALIASES} aliases", line)
            continue
        if depth > MAX_DEPTH:
            raise LoadError(f"nesting deeper than {MAX_DEPTH}", line)
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            continue
        open_nodes.add(id(node))
        stack.append((node, depth, True))
        children: list[yaml.Node] = (
            [child for pair in node.value for child in pair]
            if isinstance(node, yaml.MappingNode) else list(node.value)
        )
        stack.extend((child, depth + 1, False) for child in reversed(children))


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
