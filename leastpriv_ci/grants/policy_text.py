"""A template's policy document written as JSON text: a string, or ``Fn::Sub`` of one.

CloudFormation's ``PolicyDocument`` is of type Json and takes JSON text as well as a
mapping; templates such as Karpenter's write ``PolicyDocument: !Sub |`` followed by JSON.
The text is read as JSON first, so that a ``${...}`` it cannot resolve leaves the one
string that holds it unresolved rather than the whole document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leastpriv_ci.loaders import LoadError, LocatedDict, loads_json

SUB = "Fn::Sub"


def as_structure(raw: Any) -> Any:
    """``raw`` as a document mapping when it is JSON text (each of its strings that
    holds a ``${...}`` then a ``Fn::Sub`` of the same variables); ``raw`` itself when it
    is no JSON text, or text that does not parse as JSON whole (a ``${...}`` may stand
    for JSON, which only resolving the whole text tells)."""
    if isinstance(raw, str):
        return _parsed(raw) if raw.lstrip().startswith("{") else raw
    if not (isinstance(raw, Mapping) and len(raw) == 1 and SUB in raw):
        return raw
    argument = raw[SUB]
    template, variables = (argument[0], argument[1]) if isinstance(argument, list) \
        and len(argument) == 2 and isinstance(argument[1], Mapping) else (argument, None)
    if not isinstance(template, str) or not template.lstrip().startswith("{"):
        return raw
    parsed = _parsed(template)
    if isinstance(parsed, str) or _substituted_keys(parsed):
        return raw  # a ${...} in a key (a condition's aws:ResourceTag/${Key}): the whole
        # text is substituted, then read
    return _substituted(parsed, variables)


def resolved_text(value: Any) -> Any:
    """A PolicyDocument that resolved to JSON text, parsed; anything else as it is."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        return _parsed(value)
    return value


def _parsed(text: str) -> Any:
    try:
        document = loads_json(text)
    except (LoadError, ValueError, RecursionError):
        return text
    return _without_lines(document)


def _without_lines(value: Any) -> Any:
    """Lines inside the text count from the text, not the template: the statements take
    the resource's line instead."""
    if isinstance(value, Mapping):
        out = LocatedDict()
        for key, item in value.items():
            out[key] = _without_lines(item)
        return out
    if isinstance(value, list):
        return [_without_lines(item) for item in value]
    return value


def _substituted_keys(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any("${" in str(k) or _substituted_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_substituted_keys(item) for item in value)
    return False


def _substituted(value: Any, variables: Mapping[str, Any] | None) -> Any:
    """Each string holding ``${`` as a ``Fn::Sub`` of it (with ``variables``)."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return {SUB: [value, variables] if variables is not None else value}
    if isinstance(value, Mapping):
        out = LocatedDict()
        for key, item in value.items():
            out[key] = _substituted(item, variables)
        return out
    if isinstance(value, list):
        return [_substituted(item, variables) for item in value]
    return value
