"""``Fn::ForEach`` loops (the ``AWS::LanguageExtensions`` transform), expanded as
CloudFormation expands them before anything else reads the template.

``'Fn::ForEach::Name': [Identifier, Collection, {OutputKey: OutputValue}]`` makes one
``OutputKey: OutputValue`` per item of the collection, every ``${Identifier}`` (the item)
and ``&{Identifier}`` (the item without its non-alphanumeric characters) in keys and
strings, and every ``Ref: Identifier``, replaced by the item. Loops may nest, in
``Resources``, ``Conditions``, ``Outputs`` and inside resource properties. A collection is
a list of strings or a ``Ref`` to a list parameter; one not known offline leaves its loop
out, with a warning naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.loaders import LocatedDict, line_of
from leastpriv_ci.notices import Notices

PREFIX = "Fn::ForEach::"
TRANSFORM = "AWS::LanguageExtensions"
SECTIONS = ("Resources", "Conditions", "Outputs")
MAX_DEPTH = 5  # loops inside loops, as CloudFormation allows
MAX_OUTPUTS = 2000  # entries one template's loops may make (CloudFormation: 500 resources)
MAX_NODES = 200_000  # values they may copy (CloudFormation: a template is at most 1 MB)
NOT_EXPANDED = "cfn-foreach-not-expanded"


class _Budget:
    def __init__(self) -> None:
        self.entries = MAX_OUTPUTS
        self.left = MAX_NODES


def expand_loops(template: Any, context: ResolveContext, notices: Notices, file: str) -> Any:
    """``template`` with its loops expanded (``template`` itself when its ``Transform``
    does not name ``AWS::LanguageExtensions``, without which CloudFormation refuses a
    loop)."""
    if not isinstance(template, Mapping) or TRANSFORM not in _listed(template.get("Transform")):
        return template
    out = LocatedDict(template)
    out.line = line_of(template)
    parameters = template.get("Parameters")
    expander = _Expander(context, parameters if isinstance(parameters, Mapping) else {},
                         notices, file, _Budget())
    for section in SECTIONS:
        if isinstance(template.get(section), Mapping):
            out[section] = expander.mapping(template[section], {}, 0)
    return out


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _Expander:
    def __init__(self, context: ResolveContext, parameters: Mapping[str, Any],
                 notices: Notices, file: str, budget: _Budget) -> None:
        self.context = context
        self.parameters = parameters
        self.notices = notices
        self.file = file
        self.budget = budget

    def mapping(self, value: Mapping[str, Any], items: Mapping[str, str],
                depth: int) -> LocatedDict:
        """A mapping with ``items`` (identifier → item) substituted and loops expanded."""
        out = LocatedDict()
        out.line = line_of(value)
        for key, item in value.items():
            if isinstance(key, str) and key.startswith(PREFIX):
                out.update(self.loop(key, item, items, depth, out.line))
            else:
                out[_substituted(str(key), items)] = self.value(item, items, depth)
        return out

    def value(self, value: Any, items: Mapping[str, str], depth: int) -> Any:
        if isinstance(value, Mapping):
            if len(value) == 1 and isinstance(value.get("Ref"), str) and value["Ref"] in items:
                return items[value["Ref"]]
            return self.mapping(value, items, depth)
        if isinstance(value, list):
            return [self.value(item, items, depth) for item in value]
        if isinstance(value, str):
            return _substituted(value, items)
        return value

    def loop(self, key: str, loop: Any, items: Mapping[str, str], depth: int,
             line: int | None) -> dict[str, Any]:
        where = f"{self.file}:{line_of(loop) or line}" if (line_of(loop) or line) \
            else self.file
        name = key.removeprefix(PREFIX)
        if depth >= MAX_DEPTH:
            self.notices.add(NOT_EXPANDED, f"Fn::ForEach loops nested more than {MAX_DEPTH} "
                             "deep are left out, as CloudFormation refuses them",
                             f"{where} {name}")
            return {}
        if not (isinstance(loop, list) and len(loop) == 3 and isinstance(loop[0], str)
                and isinstance(loop[2], Mapping)):
            self.notices.add(NOT_EXPANDED, "an Fn::ForEach loop is not [Identifier, "
                             "Collection, {OutputKey: OutputValue}]; it is left out",
                             f"{where} {name}")
            return {}
        identifier, fragment = loop[0], loop[2]
        collection = self.collection(self.value(loop[1], items, depth))
        if collection is None:
            self.notices.add(NOT_EXPANDED, "an Fn::ForEach collection is not known offline "
                             "(a list, or a Ref to a list parameter with a value); what the "
                             "loop makes is left out: set the parameter", f"{where} {name}")
            return {}
        out: dict[str, Any] = {}
        size = _size(fragment, self.budget.left + 1)
        for item in collection:
            if size > self.budget.left or len(fragment) > self.budget.entries:
                self.notices.add(NOT_EXPANDED, f"Fn::ForEach loops make more than "
                                 f"{MAX_OUTPUTS} entries or copy more than {MAX_NODES} "
                                 "values; the rest are left out", f"{where} {name}")
                break
            self.budget.left -= size  # counted before it is copied
            self.budget.entries -= len(fragment)
            out.update(self.mapping(fragment, {**items, identifier: item}, depth + 1))
        return out

    def collection(self, value: Any) -> list[str] | None:
        if isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get("Ref"), str):
            value = self.parameter(value["Ref"])
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        return None

    def parameter(self, name: str) -> Any:
        if name in self.context.parameters:
            return self.context.parameters[name]
        declaration = self.parameters.get(name)
        if not isinstance(declaration, Mapping) or str(declaration.get("Type", "")).startswith(
                "AWS::SSM::Parameter::Value"):
            return None  # an SSM parameter's Default is its name, not its value
        return declaration.get("Default")


def _size(value: Any, limit: int) -> int:
    """How many values ``value`` holds (counting stops past ``limit``)."""
    count, pending = 0, [value]
    while pending and count <= limit:
        item = pending.pop()
        count += 1
        if isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def _substituted(text: str, items: Mapping[str, str]) -> str:
    if not items or ("${" not in text and "&{" not in text):
        return text
    for identifier, item in items.items():
        text = text.replace("${" + identifier + "}", item)
        text = text.replace("&{" + identifier + "}", re.sub(r"[^0-9A-Za-z]", "", item))
    return text
