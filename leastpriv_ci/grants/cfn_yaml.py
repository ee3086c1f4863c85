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

from leastpriv_ci.loaders import LocatedDict, SafeLocatedLoader, line_of, loads_yaml

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


class CfnLoader(SafeLocatedLoader):
    """Safe YAML loader for CloudFormation: short-form tags, dates left as strings."""

    # YAML 1.1 would turn ``Version: 2012-10-17`` into a date; CloudFormation reads a string.
    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML reads this class attribute
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in SafeLocatedLoader.yaml_implicit_resolvers.items()
    }

    def construct_located_mapping(self, node: yaml.MappingNode) -> Iterator[LocatedDict]:
        # Also remember each key's line, so that a string entry (a managed policy ARN)
        # can point at the line of the key that holds it.
        generator = super().construct_located_mapping(node)
        located = next(generator)
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_lines[key_node.value] = key_node.start_mark.line + 1
            if isinstance(value_node, yaml.SequenceNode):
                key_lines.update({
                    f"{key_node.value}[{i}]": item.start_mark.line + 1
                    for i, item in enumerate(value_node.value)
                })
        located.key_lines = key_lines  # type: ignore[attr-defined]
        yield located
        yield from generator

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
        if isinstance(node, yaml.ScalarNode):
            return self.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return self.construct_sequence(node, deep=True)
        assert isinstance(node, yaml.MappingNode)
        located = LocatedDict(self.construct_mapping(node, deep=True))  # type: ignore[arg-type]
        located.line = node.start_mark.line + 1
        return located


CfnLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, CfnLoader.construct_located_mapping
)
CfnLoader.add_multi_constructor("!", CfnLoader.construct_intrinsic)


def key_line(mapping: object, key: str, index: int | None = None) -> int | None:
    """The line of ``key`` (or of its ``index``-th list item) in a YAML mapping, if known."""
    lines: dict[str, int] = getattr(mapping, "key_lines", {})
    if index is not None and f"{key}[{index}]" in lines:
        return lines[f"{key}[{index}]"]
    return lines.get(key) or line_of(mapping)


def loads_cfn_yaml(text: str) -> Any:
    """Parse a CloudFormation YAML template safely (see :func:`leastpriv_ci.loaders.loads_yaml`)."""
    return loads_yaml(text, loader=CfnLoader)
