"""Missing and denied: what the principals used that the role's policies do not allow.

- A used (not denied) access the policies do not allow is ``missing``: an implicit
  deny (no statement allows it; ``origin`` is the closest Allow of the same action, if
  any), an explicit deny (``origin`` is the Deny statement) or the permissions boundary.
- An access the traces show as denied is ``denied``, whatever the policies say; when
  they allow it, the denial came from outside the role and the finding says so.
- A decision that rests on a condition the tool cannot decide is "may be missing":
  ``conditional=True`` and a lower severity, never proof.
- An access whose trace named no resource is judged by its action alone: missing only
  when no statement allows that action on any resource. One whose trace named only part
  of it (an S3 bucket without the key: ``arn:aws:s3:::BUCKET/*``) is judged so within
  that bound: a grant counts only if its resource pattern may match inside it.
- A call whose actions its request decides (a DynamoDB write transaction needs PutItem,
  UpdateItem, DeleteItem or ConditionCheckItem per item; the traces do not say which)
  needs one of them at least on each resource it names. Where the role allows none of
  them there, and none was used directly, that is ``missing`` too, naming them all
  (``one_of``): whichever the requests held, the call is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from leastpriv_ci.analysis.context import CallIndex
from leastpriv_ci.analysis.severity import FindingRules, strongest_level
from leastpriv_ci.analysis.uses import Use
from leastpriv_ci.codemarks import mark
from leastpriv_ci.grants.resource_policies import (
    names_anyone,
    principal_values,
    refuses,
    role_name_in,
)
from leastpriv_ci.policy.conditions import evaluate_conditions
from leastpriv_ci.policy.evaluate import Decision, Evaluation
from leastpriv_ci.policy.match import (
    lower_context,
    statement_acts,
    statement_covers,
    statement_reaches,
)
from leastpriv_ci.policy.model import PARTIAL, Role, Statement
from leastpriv_ci.records import Finding, Origin

# A use no statement of the role allows, that a resource-based policy naming it does
RESOURCE_POLICY = "resource_policy"


def by_resource_policy(finding: Finding) -> bool:
    """Missing from the role's policies, allowed by a resource-based policy naming it
    (undecided too: such a policy grants only in its account, and while deployed)."""
    return finding.kind == "missing" and finding.detail.get("decision") == RESOURCE_POLICY


@dataclass(frozen=True)
class _Verdict:
    variant: str  # message variant in findings.yaml
    origin: Origin | None
    conditional: bool = False
    statement: Statement | None = None
    by_deny: bool = False  # conditional only through a Deny whose condition is undecided
    assumed: bool = False  # a resource policy allows it under conditions taken as held


def full_index(role: Role, identity: CallIndex, context: dict[str, object] | None
               ) -> CallIndex:
    """The index deciding a call of the role: ``identity`` (its statements' index), or,
    when the role has a permissions boundary, one that decides that too."""
    return (CallIndex(role.statements, context=context, boundary=role.boundary.statements)
            if role.boundary else identity)


def missing_findings(
    role: Role,
    uses: Sequence[Use],
    *,
    rules: FindingRules,
    context: dict[str, object] | None = None,
    possible: Sequence[Use] = (),
    groups: Iterable[tuple[str, ...]] = (),
    identity: CallIndex | None = None,
    full: CallIndex | None = None,
) -> list[Finding]:
    """Missing and denied findings for one role's uses; then, from what calls may have
    needed (``possible``), the ``one_of`` findings of ``groups``
    (``Operations.request_groups``). ``identity``: the role's statements' index under
    ``context``, and ``full`` with its boundary (:func:`full_index`), when the caller has
    them (their regional indexes are then built once)."""
    identity = identity or CallIndex(role.statements, context=context)
    index = full or full_index(role, identity, context)
    findings = []
    closest: dict[str, Statement | None] = {}
    holds = _conditions_under(context)
    # what resource-based policies naming the role grant it, within its boundary
    grants = [s for s in role.resource_grants if s.is_allow]
    granted = CallIndex(grants, context=context, boundary=(
        role.boundary.statements if role.boundary else None)) if grants else None
    # what the files' resource policies' Denies for anyone refuse it (its ARN and account
    # decide their conditions): why a denied call its own policies allow was refused
    arn = _known_arn(role)
    denies = [s for s in role.resource_grants if not s.is_allow and (
        s.not_principal is None
        or (arn is not None and refuses(s, arn, bounded=role.boundary is not None)))]
    refusing = CallIndex(denies, context=_as_principal(role, context)) if denies else None
    for use in uses:
        verdict = _verdict(role, use, index, identity, closest, holds, granted, refusing)
        if verdict is None:
            continue
        findings.append(_finding(role, use, verdict, rules))
    if possible:
        findings.extend(_one_of_findings(role, possible, uses, groups, index, identity, rules))
    return findings


def _one_of_findings(
    role: Role,
    possible: Sequence[Use],
    uses: Sequence[Use],
    groups: Iterable[tuple[str, ...]],
    index: CallIndex,
    identity: CallIndex,
    rules: FindingRules,
) -> list[Finding]:
    """Calls that needed one of a group of actions on a resource, seen as the group's
    ``possible`` uses, where the role allows none of the group there and the traces show
    none used. When the identity policies (``identity``) allow one and the permissions
    boundary none, the finding says the boundary is what lacks them."""
    possible_here: dict[str, dict[str, Use]] = {}
    for use in possible:
        if use.resource_known:
            possible_here.setdefault(use.resource, {})[use.key] = use
    direct = {(use.key, use.resource) for use in uses}
    allowing = (Decision.ALLOW, Decision.CONDITIONAL)
    findings = []
    for resource, by_action in sorted(possible_here.items()):
        for group in groups:
            keys = [action.lower() for action in group]
            if not all(k in by_action for k in keys) or any((k, resource) in direct
                                                              for k in keys):
                continue
            evaluations = [index.evaluate(action, resource, by_action[action.lower()])
                           for action in group]
            if any(e.decision in allowing for e in evaluations):
                continue
            by_boundary = identity is not index and any(
                identity.evaluate(action, resource, by_action[action.lower()]).decision
                in allowing for action in group)
            findings.append(_one_of_finding(role, [by_action[k] for k in keys], evaluations,
                                            rules, by_boundary=by_boundary))
    return findings


def _one_of_finding(role: Role, group: Sequence[Use], evaluations: Sequence[Evaluation],
                    rules: FindingRules, *, by_boundary: bool) -> Finding:
    first = group[0]
    actions = ", ".join(mark(use.action) for use in group)
    fields = {"actions": actions, "resource": first.resource}
    denies = [e for e in evaluations if e.decision is Decision.EXPLICIT_DENY]
    closest = next((s for s in (_closest_allow(role.statements, use.action) for use in group)
                    if s is not None), None)
    statement = None if by_boundary else denies[0].statements[0] if denies else closest
    variant = "one_of_boundary" if by_boundary else "one_of"
    detail: dict[str, object] = {
        "decision": "boundary" if by_boundary else "explicit_deny" if denies
        else "implicit_deny",
        "count": first.count,
    }
    if statement is not None and statement.sid:
        detail["statement"] = statement.sid
    origin = statement.origin if statement is not None else None
    if by_boundary and role.boundary is not None:
        origin = role.boundary.origin
    if origin is None and role.origin.file:
        origin = role.origin
        detail["origin_is_role"] = True
    level = strongest_level(use.access_level for use in group)
    return Finding(
        kind="missing",
        role=role.key,
        action=first.action,
        resource=first.resource,
        severity=rules.severity("missing", level),
        principals=first.principals,
        access_level=level,
        origin=origin,
        message=rules.message("missing", variant, **fields),
        fix=rules.fix("missing", variant, **fields),
        trace_ids=first.trace_ids,
        detail=detail,
        one_of=tuple(use.action for use in group),
    )



def _conditions_under(context: Mapping[str, object] | None
                      ) -> Callable[[Statement], bool | None]:
    """Whether a statement's Condition block holds under the request context (None:
    undecided; True for a statement with none), each statement decided once."""
    lowered = lower_context(context)
    decided: dict[int, bool | None] = {}

    def holds(statement: Statement) -> bool | None:
        key = id(statement)
        if key not in decided:
            decided[key] = evaluate_conditions(statement.conditions, lowered,
                                               version=statement.version)
        return decided[key]
    return holds


def _as_principal(role: Role, context: dict[str, object] | None
                  ) -> dict[str, object] | None:
    """The request context of a call by ``role``, with its ARN and account where its key
    is its ARN (a partly declared role's key guesses its path: not that)."""
    arn = _known_arn(role)
    return {**context, **principal_values(arn)} if context is not None and arn else context


def _known_arn(role: Role) -> str | None:
    """The role's ARN, when its key is (a partly declared role's guesses its path)."""
    if role.source == PARTIAL or role_name_in(
            role.key, "".join(role.key.split(":")[4:5])) is None:
        return None
    return role.key


def _verdict(role: Role, use: Use, index: CallIndex, identity: CallIndex,
             closest_cache: dict[str, Statement | None],
             holds: Callable[[Statement], bool | None],
             granted: CallIndex | None = None,
             refusing: CallIndex | None = None) -> _Verdict | None:
    if not use.resource_known:
        return _unknown_resource_verdict(role, use, holds)
    evaluation = index.evaluate(use.action, use.resource, use)
    decision = evaluation.decision
    if decision is Decision.ALLOW and not use.denied:
        return None
    if decision is Decision.EXPLICIT_DENY:
        return _Verdict("explicit_deny", _origin(evaluation), statement=evaluation.statements[0])
    if use.denied and refusing is not None:
        # a Deny for anyone in the resource's policy, as the files declare it, refused it
        refused = refusing.evaluate(use.action, use.resource, use)
        if refused.decision is Decision.EXPLICIT_DENY:
            return _Verdict("resource_deny", _origin(refused), statement=refused.statements[0])
    if decision is Decision.ALLOW:
        return _Verdict("allow", _origin(evaluation))
    if decision is Decision.CONDITIONAL:
        # allowed for certain, unless an undecided Deny applies; or allowed only undecidedly
        by_deny = all(not s.is_allow for s in evaluation.statements)
        return _Verdict("conditional", _origin(evaluation), conditional=True,
                        by_deny=by_deny and bool(evaluation.statements))
    if identity is not index and identity.evaluate(use.action, use.resource, use).allowed:
        boundary = role.boundary
        return _Verdict("boundary", boundary.origin if boundary else None)
    if granted is not None and not use.denied:
        # No statement of the role allows it, but a resource-based policy naming the role
        # does, for certain: in its own account that is enough, as the use's success says
        by_resource = granted.evaluate(use.action, use.resource, use)
        if by_resource.decision is Decision.ALLOW:
            # the resource policy's statements (the boundary's follow them); one that
            # holds as it is explains it best
            own = {id(s) for s in role.resource_grants}
            statement = min((s for s in by_resource.statements if id(s) in own),
                            key=lambda s: bool(s.assumed), default=by_resource.statements[0])
            return _Verdict(RESOURCE_POLICY, statement.origin, conditional=True,
                            statement=statement, assumed=bool(statement.assumed))
    if use.key not in closest_cache:
        closest_cache[use.key] = _closest_allow(role.statements, use.action)
    closest = closest_cache[use.key]
    return _Verdict("implicit_deny", closest.origin if closest else None, statement=closest)


def _unknown_resource_verdict(role: Role, use: Use,
                              holds: Callable[[Statement], bool | None]) -> _Verdict | None:
    """Judge an access by its action only, within the bound the trace gave (``*`` when
    it named no resource): the trace did not name the resource itself. A Condition is
    decided by the request context where it can be (``holds``), as for other calls."""
    bound = use.resource
    for statement in role.statements + (role.boundary.statements if role.boundary else ()):
        if (not statement.is_allow and holds(statement) is True
                and statement_acts(statement, use.action) and statement_covers(statement, bound)):
            return _Verdict("explicit_deny", statement.origin, statement=statement)
    allows = [s for s in role.statements
              if s.is_allow and holds(s) is not False
              and statement_acts(s, use.action) is not False and statement_reaches(s, bound)]
    if not allows:
        closest = _closest_allow(role.statements, use.action)
        return _Verdict("unknown_resource", closest.origin if closest else None,
                        statement=closest)
    if all(holds(s) is not True for s in allows):
        return _Verdict("conditional", allows[0].origin, conditional=True)
    if role.boundary is not None:
        # the boundary must allow the action too, on some resource
        bounded = [s for s in role.boundary.statements
                   if s.is_allow and holds(s) is not False
                   and statement_acts(s, use.action) is not False
                   and statement_reaches(s, bound)]
        if not bounded:
            return _Verdict("boundary", role.boundary.origin)
        if all(holds(s) is not True for s in bounded):
            return _Verdict("conditional", bounded[0].origin, conditional=True)
    if use.denied:
        return _Verdict("allow", allows[0].origin)
    return None


def _closest_allow(statements: Sequence[Statement], action: str) -> Statement | None:
    """The first Allow statement naming the action (on other resources), if any."""
    for statement in statements:
        if statement.is_allow and statement_acts(statement, action):
            return statement
    return None


def _origin(evaluation: Evaluation) -> Origin | None:
    return evaluation.statements[0].origin if evaluation.statements else None


def _finding(role: Role, use: Use, verdict: _Verdict, rules: FindingRules) -> Finding:
    kind = "denied" if use.denied else "missing"
    variant = verdict.variant
    if kind == "missing" and variant == "allow":  # pragma: no cover - filtered above
        raise AssertionError("an allowed access is not missing")
    if kind == "denied" and variant == "unknown_resource":
        variant = "implicit_deny"
    if variant == "unknown_resource" and use.resource != "*":
        variant = "unknown_within"
    fields = {"action": use.action, "resource": use.resource}
    if verdict.by_deny:
        variant = "conditional_deny"
    if verdict.assumed:
        variant = "resource_policy_organization"
    elif variant == RESOURCE_POLICY and verdict.statement is not None and names_anyone(
            verdict.statement.principal):
        variant = "resource_policy_account"
    message = rules.message(kind, variant, **fields)
    fix = rules.fix(kind, _fix_variant(kind, variant), **fields)
    detail: dict[str, object] = {"decision": verdict.variant, "count": use.count}
    if kind == "denied" and use.refused_by:
        # the calls' errors named a policy outside the role's own as what refused them
        said = "; ".join(use.refused_by)
        message += rules.message(kind, "refused_by", refused_by=said)
        fix = rules.fix(kind, "outside", refused_by=said, **fields)
        detail["refused_by"] = list(use.refused_by)
    if verdict.statement is not None and verdict.statement.sid:
        detail["statement"] = verdict.statement.sid
    if not use.resource_known:
        detail["resource_known"] = False
    origin = verdict.origin
    if origin is None and role.origin.file:
        # No statement comes close: point at the role, where the grant belongs.
        origin = role.origin
        detail["origin_is_role"] = True
    return Finding(
        kind=kind,
        role=role.key,
        action=use.action,
        resource=use.resource,
        severity=rules.severity(kind, use.access_level, conditional=verdict.conditional),
        principals=use.principals,
        access_level=use.access_level,
        origin=origin,
        message=message,
        fix=fix,
        conditional=verdict.conditional,
        trace_ids=use.trace_ids,
        detail=detail,
    )


def _fix_variant(kind: str, variant: str) -> str:
    if variant in ("explicit_deny", "resource_deny"):
        return "deny"
    if variant in ("conditional", "conditional_deny") and kind == "missing":
        return variant
    if variant == "conditional_deny":
        return "deny"
    if variant == "boundary" and kind == "missing":
        return "boundary"
    if variant == "allow":
        return "elsewhere"
    if variant.startswith(RESOURCE_POLICY):
        return RESOURCE_POLICY
    return "grant"
