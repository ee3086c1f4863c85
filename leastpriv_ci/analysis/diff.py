"""Declared vs proposed: the role's statements as one document, and a JSON-safe jsondiff."""

from __future__ import annotations

from collections.abc import Mapping

import jsondiff
from jsondiff.symbols import Symbol

from leastpriv_ci.policy.model import VERSION_2012, Role


def declared_document(role: Role) -> dict[str, object]:
    """Every identity statement of the role as one policy document."""
    return {"Version": VERSION_2012, "Statement": [s.to_json() for s in role.statements]}


def policy_diff(declared: Mapping[str, object], proposed: Mapping[str, object]) -> object:
    """``jsondiff``'s symmetric diff from declared to proposed, made JSON-safe.

    jsondiff marks changes with ``Symbol`` keys (``insert``, ``delete``...); they become
    ``"$insert"``, ``"$delete"``..., and tuples become lists.
    """
    return json_safe(jsondiff.diff(dict(declared), dict(proposed), syntax="symmetric",
                                   dump=False))


def json_safe(value: object) -> object:
    """Symbols → ``$label`` strings, tuples/sets → lists, recursively."""
    if isinstance(value, Symbol):
        return f"${value.label}"
    if isinstance(value, Mapping):
        return {str(json_safe(k)) if isinstance(k, Symbol) else str(k): json_safe(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return value
