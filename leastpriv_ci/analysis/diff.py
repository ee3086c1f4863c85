"""Declared vs proposed: the role's statements as one document, the proposal laid out
like it, and a JSON-safe jsondiff between the two."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import jsondiff
from jsondiff.symbols import Symbol

from leastpriv_ci.analysis.proposal import Proposal, policy_size
from leastpriv_ci.policy.match import ActionSet, ResourceSet
from leastpriv_ci.policy.model import VERSION_2012, Role, Statement, iam_sid


def declared_document(role: Role) -> dict[str, object]:
    """Every identity statement of the role as one policy document."""
    return {"Version": VERSION_2012, "Statement": [s.to_json() for s in role.statements]}


def in_declared_order(proposal: Proposal, role: Role, *, limit: int) -> Proposal:
    """The proposal with its statements in the order of the declared Allow statements
    each one narrows most, and the first of each keeping that statement's ``Sid``;
    statements no declared one grants any of come last.

    The proposal reads as an edit of the role's policy, and the diff compares each
    declared statement with what replaces it: sorted alone, a DynamoDB statement would
    be compared with the declared S3 one. A document the Sids would take past ``limit``
    characters is only reordered.
    """
    allows = [s for s in role.statements if s.is_allow]
    if not allows:
        return proposal
    return replace(proposal, documents=tuple(
        _laid_out(doc, allows, limit) for doc in proposal.documents))


def _laid_out(doc: dict[str, object], allows: Sequence[Statement],
              limit: int) -> dict[str, object]:
    statements = doc.get("Statement")
    if not isinstance(statements, list):
        return doc
    home_of = _Homes(allows)
    homes = sorted(((home_of(s), index, s) for index, s in enumerate(statements)),
                   key=lambda found: found[:2])
    ordered = {**doc, "Statement": [s for _, _, s in homes]}
    named: list[object] = []
    sids: set[str] = set()  # a Sid is unique in its policy: the first of a group takes it
    for home, _, statement in homes:
        sid = allows[home].sid if home < len(allows) else None
        # one IAM would refuse (a declared policy not deployed yet, "read-notes") is left out
        if (sid and iam_sid(sid) and sid not in sids and isinstance(statement, dict)
                and "Sid" not in statement):
            sids.add(sid)
            statement = {"Sid": sid, **statement}
        named.append(statement)
    if not sids:
        return ordered
    with_sids = {**doc, "Statement": named}
    return with_sids if policy_size(with_sids) <= limit else ordered


class _Homes:
    """The index of the declared statement granting most of a proposed statement's
    actions on its resources (the first of equals), or ``len(allows)`` when none grants
    any. A proposed resource pattern is read as an ARN: a declared pattern that matches it
    covers it (deciding an intersection of patterns exactly costs far more)."""

    def __init__(self, allows: Sequence[Statement]) -> None:
        self._actions = [(ActionSet(s.actions), s.not_actions) for s in allows]
        self._resources = [(ResourceSet(s.resources, version=s.version), s.not_resources)
                           for s in allows]
        # a declared pattern the proposal repeats (one with a policy variable, which no
        # ARN-reading matches) is covered by its statement
        self._written = [frozenset(() if s.not_resources else s.resources) for s in allows]
        self._acts: dict[str, tuple[int, ...]] = {}

    def __call__(self, statement: object) -> int:
        nowhere = len(self._actions)
        if not isinstance(statement, Mapping):
            return nowhere
        acts: dict[int, int] = {}
        for action in _strings(statement.get("Action")):
            if (found := self._acts.get(action)) is None:
                found = self._acts[action] = tuple(
                    i for i, (patterns, negated) in enumerate(self._actions)
                    if patterns.match(action) is (not negated))
            for index in found:
                acts[index] = acts.get(index, 0) + 1
        resources = _strings(statement.get("Resource"))
        best, most = nowhere, 0
        for index in sorted(acts):
            if acts[index] * len(resources) <= most:
                continue  # cannot do better than the best so far
            patterns, negated = self._resources[index]
            written = self._written[index]
            score = acts[index] * sum(1 for r in resources
                                      if r in written or patterns.match(r) is (not negated))
            if score > most:
                best, most = index, score
        return best


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def policy_diff(declared: Mapping[str, object], proposed: Mapping[str, object]) -> object:
    """``jsondiff``'s symmetric diff from declared to proposed, made JSON-safe.

    The lists of a statement's actions and resources are compared as sorted: their order
    means nothing to IAM, and the proposal's is sorted. jsondiff marks changes with
    ``Symbol`` keys (``insert``, ``delete``...); they become ``"$insert"``,
    ``"$delete"``..., and tuples become lists.
    """
    return json_safe(jsondiff.diff(_sorted_lists(declared), _sorted_lists(proposed),
                                   syntax="symmetric", dump=False))


def _sorted_lists(document: Mapping[str, object]) -> dict[str, object]:
    statements = document.get("Statement")
    if not isinstance(statements, list):
        return dict(document)
    return {**document, "Statement": [
        {key: sorted(value, key=lambda v: (str(v).lower(), str(v)))
         if key in _UNORDERED and isinstance(value, list) else value
         for key, value in statement.items()} if isinstance(statement, Mapping) else statement
        for statement in statements]}


_UNORDERED = frozenset({"Action", "NotAction", "Resource", "NotResource"})


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
