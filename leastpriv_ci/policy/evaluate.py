"""Policy evaluation: does a set of statements allow one action on one resource?

IAM's order for identity policies: an explicit ``Deny`` that applies beats any
``Allow``; an ``Allow`` that applies beats the implicit deny. This tool adds a fourth
answer, **conditional**, for statements it cannot decide (a condition on a key the
context does not hold, an unresolved value from infrastructure code): an undecided
Allow is never proof of missing access, and an undecided Deny keeps an allowed access
from being called certain. A permissions boundary, when known, intersects: the access
is allowed only if both the identity policies and the boundary allow it.

:class:`PolicyIndex` is the bulk path: patterns are compiled once, statements are
indexed by service prefix, conditions are decided once for the fixed context, and
the statements that may cover an action are cached per action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from leastpriv_ci.policy.conditions import evaluate_conditions
from leastpriv_ci.policy.match import ActionSet, ResourceSet, lower_context, sender_identities
from leastpriv_ci.policy.model import Statement, is_unresolved
from leastpriv_ci.policy.wildcards import has_wildcard

_MEMO_LIMIT = 262_144


class Decision(StrEnum):
    """The outcome of evaluating one request."""

    ALLOW = "allow"
    IMPLICIT_DENY = "implicit_deny"
    EXPLICIT_DENY = "explicit_deny"
    CONDITIONAL = "conditional"


@dataclass(frozen=True)
class Evaluation:
    """A decision and the statements that made it.

    ``statements`` holds the Deny statements that apply for ``explicit_deny``, the Allow
    statements that apply for ``allow``, the undecided statements for ``conditional``
    (Allow and Deny alike), and nothing for ``implicit_deny``. When a permissions
    boundary took part, its statements follow the identity policies' statements (tell
    them apart by their ``origin``).
    """

    decision: Decision
    statements: tuple[Statement, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


def statement_applies(
    statement: Statement,
    action: str,
    resource: str,
    context: Mapping[str, object] | None = None,
    *,
    complete_context: bool = False,
) -> bool | None:
    """Whether the statement's action, resource and condition all match the request.

    ``None`` when it cannot be decided (a condition with no context to decide it, an
    unresolved pattern). The statement's effect is not considered. See
    :func:`evaluate` for ``complete_context``.
    """
    if complete_context and context is None:
        context = {}
    compiled = _CompiledStatement(statement, lower_context(context), complete_context)
    return compiled.applies(action, resource)


def evaluate(
    statements: Iterable[Statement],
    action: str,
    resource: str,
    *,
    context: Mapping[str, object] | None = None,
    boundary: Iterable[Statement] | None = None,
    complete_context: bool = False,
) -> Evaluation:
    """Evaluate one request against identity statements and an optional boundary.

    ``resource`` is the ARN the action acts on, or ``*`` for actions that support no
    resource type (those are granted only by patterns that cover ``*``). A condition key
    missing from ``context`` is undecided, unless ``complete_context`` says the context
    is the request's whole context: then a missing key is absent, with IAM's rules
    (positive operators false, negated operators true).
    """
    index = PolicyIndex(statements, context=context, boundary=boundary,
                        complete_context=complete_context)
    return index.evaluate(action, resource)


class PolicyIndex:
    """Statements compiled and indexed for evaluating many requests.

    The context (and so every condition result) is fixed per index: build one index per
    role and context. ``evaluate`` gives the same answers as :func:`evaluate`. The
    statements that may cover an action are cached per action; ``memoize=True`` also
    caches whole answers per (action, resource), which pays only when the same requests
    repeat (usage records are usually aggregated, so it is off by default).
    """

    __slots__ = ("_boundary", "_identity", "_memo", "_memoize")

    def __init__(
        self,
        statements: Iterable[Statement],
        *,
        context: Mapping[str, object] | None = None,
        boundary: Iterable[Statement] | None = None,
        memoize: bool = False,
        complete_context: bool = False,
    ) -> None:
        lowered = lower_context({} if complete_context and context is None else context)
        self._identity = _StatementSet(statements, lowered, complete_context)
        self._boundary = (_StatementSet(boundary, lowered, complete_context)
                          if boundary is not None else None)
        self._memo: dict[tuple[str, str], Evaluation] = {}
        self._memoize = memoize

    @property
    def statements(self) -> tuple[Statement, ...]:
        """The identity statements, in policy order."""
        return tuple(c.statement for c in self._identity.compiled)

    def evaluate(self, action: str, resource: str) -> Evaluation:
        """Decide one request (action case-insensitive, resource case-sensitive)."""
        key = (action.lower(), resource)
        if self._memoize:
            cached = self._memo.get(key)
            if cached is not None:
                return cached
        others = sender_identities(action, resource)
        result = self._decide(key[0], resource)
        if others:  # an SES send, which may be authorized on its domain's identity
            result = _either(result, *(self._decide(key[0], o) for o in others))
        if self._memoize:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = result
        return result

    def allows(self, action: str, resource: str) -> bool:
        """Whether the request is certainly allowed."""
        return self.evaluate(action, resource).decision is Decision.ALLOW

    def _decide(self, action: str, resource: str) -> Evaluation:
        result = self._identity.decide(action, resource)
        if self._boundary is not None:
            result = every(result, self._boundary.decide(action, resource))
        return result


_IMPLICIT_DENY = Evaluation(Decision.IMPLICIT_DENY)


def _either(*candidates: Evaluation) -> Evaluation:
    """A request authorized on one of several resources, not saying which (an SES send:
    the address's identity, or a domain's), each decided on its own.

    - Refused for certain when every candidate refuses it: explicitly when a Deny
      refuses every one, else implicitly (nothing allows it on some of them).
    - Allowed when one allows it and no Deny may refuse it on the others (a grant on
      any of the identities is taken to allow the send: a refusal would show in the
      trace).
    - Else undecided: by the Denies that may refuse it, or by the undecided statements
      when none allows it for certain.
    """
    decisions = [c.decision for c in candidates]
    if all(d is Decision.EXPLICIT_DENY for d in decisions):
        return Evaluation(Decision.EXPLICIT_DENY, _union(candidates))
    if all(d in (Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY) for d in decisions):
        return _IMPLICIT_DENY
    allowed = next((c for c in candidates if c.decision is Decision.ALLOW), None)
    open_ = _union([c for c in candidates if c.decision is not Decision.ALLOW],
                   denies_only=allowed is not None)
    if allowed is not None and not open_:
        return allowed
    return Evaluation(Decision.CONDITIONAL, open_)


def _union(evaluations: Sequence[Evaluation], *, denies_only: bool = False
           ) -> tuple[Statement, ...]:
    """The statements of ``evaluations``, each once, in order (``denies_only``: the Deny
    statements)."""
    found: list[Statement] = []
    seen: set[int] = set()  # by identity: equal statements of two policies are two
    for evaluation in evaluations:
        for statement in evaluation.statements:
            if not (denies_only and statement.is_allow) and id(statement) not in seen:
                seen.add(id(statement))
                found.append(statement)
    return tuple(found)


def every(*evaluations: Evaluation) -> Evaluation:
    """Requests that must all be allowed: the identity policies and a permissions
    boundary (and the calls of one use sent to several regions, once none lacks an
    Allow: ``analysis.context``).

    Refused explicitly when a Deny refuses one, else implicitly when one is refused;
    allowed when all are; else undecided, by the undecided statements.
    """
    decisions = [e.decision for e in evaluations]
    if Decision.EXPLICIT_DENY in decisions:
        return Evaluation(Decision.EXPLICIT_DENY, _union(
            [e for e in evaluations if e.decision is Decision.EXPLICIT_DENY]))
    if Decision.IMPLICIT_DENY in decisions:
        return _IMPLICIT_DENY
    if all(d is Decision.ALLOW for d in decisions):
        return Evaluation(Decision.ALLOW, _union(evaluations))
    return Evaluation(Decision.CONDITIONAL, _union(
        [e for e in evaluations if e.decision is Decision.CONDITIONAL]))


class _CompiledStatement:
    """One statement with its patterns compiled and its condition decided."""

    __slots__ = ("actions", "condition", "is_allow", "not_actions", "not_resources",
                 "resources", "statement")

    def __init__(self, statement: Statement, context: Mapping[str, object] | None,
                 complete: bool = False) -> None:
        self.statement = statement
        self.is_allow = statement.is_allow
        self.not_actions = statement.not_actions
        self.not_resources = statement.not_resources
        self.actions = ActionSet(statement.actions)
        self.resources = ResourceSet(statement.resources, context, version=statement.version,
                                     complete=complete)
        self.condition = evaluate_conditions(
            statement.conditions, context, version=statement.version, complete=complete
        )

    def action_result(self, action: str) -> bool | None:
        result = self.actions.match(action)
        if self.not_actions and result is not None:
            return not result
        return result

    def resource_result(self, resource: str) -> bool | None:
        result = self.resources.match(resource)
        if self.not_resources and result is not None:
            return not result
        return result

    def applies(self, action: str, resource: str) -> bool | None:
        if self.condition is False:
            return False
        acting = self.action_result(action)
        if acting is False:
            return False
        return _and3(_and3(acting, self.resource_result(resource)), self.condition)


def _and3(left: bool | None, right: bool | None) -> bool | None:
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True


class _StatementSet:
    """Compiled statements indexed by the service prefix their action patterns name."""

    __slots__ = ("_by_action", "_by_prefix", "_generic", "compiled")

    def __init__(
        self, statements: Iterable[Statement], context: Mapping[str, object] | None,
        complete: bool = False,
    ) -> None:
        self.compiled = tuple(_CompiledStatement(s, context, complete) for s in statements)
        self._by_prefix: dict[str, list[int]] = {}
        self._generic: list[int] = []
        for position, item in enumerate(self.compiled):
            if item.condition is False:
                continue  # can never apply under this context
            prefixes = _literal_prefixes(item.statement)
            if prefixes is None:
                self._generic.append(position)
            else:
                for prefix in prefixes:
                    self._by_prefix.setdefault(prefix, []).append(position)
        # action (lower case) -> the statements whose action patterns may cover it
        self._by_action: dict[str, tuple[tuple[_CompiledStatement, bool], ...]] = {}

    def _candidates(self, action: str) -> tuple[tuple[_CompiledStatement, bool], ...]:
        found = self._by_action.get(action)
        if found is not None:
            return found
        prefix = action.partition(":")[0]
        positions = sorted(set(self._by_prefix.get(prefix, ())).union(self._generic))
        out = []
        for position in positions:
            item = self.compiled[position]
            result = _and3(item.action_result(action), item.condition)
            if result is not False:
                out.append((item, result is True))
        found = tuple(out)
        if len(self._by_action) >= _MEMO_LIMIT:
            self._by_action.clear()
        self._by_action[action] = found
        return found

    def decide(self, action: str, resource: str) -> Evaluation:
        """IAM's decision for one request over this set of statements."""
        allows: list[Statement] = []
        undecided_allows: list[Statement] = []
        undecided_denies: list[Statement] = []
        denies: list[Statement] = []
        for item, known in self._candidates(action):
            # ``known``: the action and condition are certain (else one is undecided)
            matched = item.resource_result(resource)
            if matched is False:
                continue
            certain = known and matched is True
            if item.is_allow:
                (allows if certain else undecided_allows).append(item.statement)
            else:
                (denies if certain else undecided_denies).append(item.statement)
        if denies:
            return Evaluation(Decision.EXPLICIT_DENY, tuple(denies))
        if not allows and not undecided_allows:
            return _IMPLICIT_DENY
        if allows and not undecided_denies:
            return Evaluation(Decision.ALLOW, tuple(allows))
        undecided = undecided_denies if allows else undecided_allows + undecided_denies
        wanted = {id(s) for s in undecided}  # by identity, in policy order
        return Evaluation(Decision.CONDITIONAL, tuple(
            s for s in (c.statement for c in self.compiled) if id(s) in wanted))


def _literal_prefixes(statement: Statement) -> set[str] | None:
    """The service prefixes an Action list is confined to, or None when it could cover
    any service (NotAction, ``*``, a wildcard or unresolved value in the prefix)."""
    if statement.not_actions:
        return None
    prefixes: set[str] = set()
    for pattern in statement.actions:
        if pattern == "*" or is_unresolved(pattern) or ":" not in pattern:
            return None
        prefix = pattern.partition(":")[0]
        if has_wildcard(prefix):
            return None
        prefixes.add(prefix.lower())
    return prefixes


__all__ = [
    "Decision",
    "Evaluation",
    "PolicyIndex",
    "evaluate",
    "every",
    "statement_applies",
]
