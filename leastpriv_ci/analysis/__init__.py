"""Usage against grants → findings (excess, missing, denied, platform, unobserved) and proposals.

:func:`analyse` is the whole stage: pure, deterministic, fed by records only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

import orjson

from leastpriv_ci.analysis.chaining import note_assumed_roles
from leastpriv_ci.analysis.conditions import carried_conditions, variable_patterns
from leastpriv_ci.analysis.context import CallIndex
from leastpriv_ci.analysis.diff import declared_document, in_declared_order, policy_diff
from leastpriv_ci.analysis.excess import excess_findings
from leastpriv_ci.analysis.generate import without_declared_policy
from leastpriv_ci.analysis.missing import full_index, missing_findings
from leastpriv_ci.analysis.platform import (
    DECLARED,
    PlatformGroup,
    PlatformOptions,
    applicable_groups,
    arn_fields,
    compute_kind,
)
from leastpriv_ci.analysis.proposal import (
    MANAGED_LIMIT,
    S3_OBJECT,
    Grant,
    Proposal,
    conditions_kept_note,
    conditions_note,
    guarded_note,
    not_resource_note,
    possible_note,
    propose,
    propose_policies,
    statements_of,
)
from leastpriv_ci.analysis.request_options import request_options, use_options
from leastpriv_ci.analysis.severity import FindingRules, get_rules
from leastpriv_ci.analysis.uses import Use, collect_uses
from leastpriv_ci.catalog import Catalog, get_catalog
from leastpriv_ci.codemarks import mark
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.evaluate import Decision, Evaluation, PolicyIndex
from leastpriv_ci.policy.match import declared_patterns, statement_acts, statement_covers
from leastpriv_ci.policy.model import VERSION_2012, Role, Statement, iam_sid, is_unresolved
from leastpriv_ci.policy.wildcards import has_wildcard
from leastpriv_ci.records import (
    FINDING_KINDS,
    SEVERITIES,
    Access,
    Analysis,
    Coverage,
    Finding,
    Observation,
)
from leastpriv_ci.usage.operations import operations

__all__ = [
    "PlatformOptions",
    "Proposal",
    "analyse",
    "propose",
    "propose_policies",
    "role_proposal",
]


def analyse(
    observation: Observation,
    roles: Mapping[str, Role],
    principal_roles: Mapping[str, str | None],
    *,
    platform: PlatformOptions | None = None,
    declared_only_roles: Collection[str] | None = None,
    untraced: Mapping[str, Sequence[str]] | None = None,
    context: dict[str, object] | None = None,
    limit: int = MANAGED_LIMIT,
    catalog: Catalog | None = None,
    delivered: Mapping[str, Sequence[Access]] | None = None,
) -> Analysis:
    """Compare what each role's principals used with what the role's policies grant.

    ``principal_roles`` maps a principal ARN to the ``Role.key`` it runs as (None: not
    known → ``coverage.unmapped``; a principal missing from it falls back to the role
    its usage record names, when that is one of ``roles``). Roles no observed principal
    runs as get an ``unobserved`` finding and no verdict; with ``declared_only_roles``
    given, only those roles are listed so (the others, e.g. attached roles fetched for
    context, are left out silently). ``untraced`` maps a role key to the principals
    declared or mapped to run as it that have no traces: the role's excess findings and
    proposal then speak for its traced principals only, and say so. ``context`` is the
    request context for conditions (None: conditions are then undecided and their
    findings conditional); a proposal keeps the Condition blocks it decides too, since
    adopting it must not lift one. ``delivered`` maps a role key to what Lambda sends
    with it for its functions (a dead-letter queue, destinations: no trace shows them):
    uses for the excess check and the proposal, never missing findings of their own.
    """
    catalog = catalog or get_catalog()
    rules = get_rules()
    notices = Notices()
    by_role: dict[str, list[str]] = {}
    unmapped: list[str] = []
    for principal, usage in sorted(observation.principals.items()):
        role_key = principal_roles.get(principal) if principal in principal_roles else (
            usage.role if usage.role in roles else None)
        if role_key is not None and role_key not in roles:
            notices.add("unknown-role", "a principal maps to a role whose policies were not "
                        "found; it has no verdict", f"{principal} -> {role_key}")
            role_key = None
        if role_key is None:
            unmapped.append(principal)
        else:
            by_role.setdefault(role_key, []).append(principal)

    findings: list[Finding] = []
    proposals: dict[str, dict[str, object]] = {}
    principal_proposals: dict[str, dict[str, object]] = {}
    proposal_notes: dict[str, tuple[str, ...]] = {}
    principal_notes: dict[str, tuple[str, ...]] = {}
    declared: dict[str, dict[str, object]] = {}
    diffs: dict[str, object] = {}
    shared: dict[str, tuple[str, ...]] = {}
    for role_key in sorted(by_role):
        role = roles[role_key]
        principals = by_role[role_key]
        accesses = [a for p in principals for a in observation.principals[p].accesses]
        uses = collect_uses(accesses, catalog)
        lambda_sends = list((delivered or {}).get(role_key, ()))
        # the role's statements under the context, for its findings and every proposal
        index = CallIndex(role.statements, context=context)
        full = full_index(role, index, context)
        allows = _allows(full)
        # what the calls may have needed: as the observation says, and by request options
        # where the role (its Denies and boundary too) would let them succeed
        observed = [a for p in principals for a in observation.principals[p].possible]
        observed_uses = collect_uses(observed, catalog)
        possible = [*observed, *filter(allows, request_options(accesses))]
        groups = applicable_groups(role_key, principals, role.statements, platform)
        others = tuple((untraced or {}).get(role_key, ()))
        findings.extend(excess_findings(
            role, [*uses, *collect_uses(lambda_sends, catalog)], principals=principals,
            platform=_platform_actions(groups),
            shared=len(principals) > 1, untraced=others, catalog=catalog, rules=rules,
            possible=observed_uses, options=list(filter(allows, use_options(uses)))))
        if others:
            findings.append(_unobserved(role, rules, others))
        missing = missing_findings(role, uses, rules=rules, context=context,
                                   possible=observed_uses,
                                   groups=operations().request_groups(), identity=index,
                                   full=full)
        findings.extend(missing)
        note_assumed_roles(role_key, uses, missing, notices)
        unmet = [f for f in missing if f.one_of]
        patterns: dict[str, tuple[str, ...]] = {}
        proposal = role_proposal(role, accesses, principals, groups, limit=limit,
                                 catalog=catalog, context=context, patterns=patterns,
                                 possible=possible, index=index, delivered=lambda_sends)
        if unmet:
            proposal = replace(proposal, notes=(*proposal.notes, *(
                f"cannot tell which action calls on {mark(f.resource)} needed: {f.fix}"
                for f in unmet)))
        if others:
            proposal = replace(proposal, notes=(
                *proposal.notes, f"built from its traced principals only; "
                f"{', '.join(mark(p) for p in others)} "
                "had no traces: add what they need"))
        _store(proposals, role_key, proposal)
        if proposal.notes:
            proposal_notes[role_key] = proposal.notes
        declared[role_key] = declared_document(role)
        diffs[role_key] = policy_diff(declared[role_key], proposal.document)
        if len(principals) > 1:
            shared[role_key] = tuple(principals)
            for principal in principals:
                usage = observation.principals[principal]
                own = role_proposal(role, usage.accesses, [principal], groups, limit=limit,
                                    catalog=catalog, context=context, patterns=patterns,
                                    possible=[*usage.possible, *filter(
                                        allows, request_options(usage.accesses))],
                                    index=index)
                principal_proposals[principal] = own.document
                # what the role's proposal says already is not said again per principal
                own_notes = tuple(n for n in own.notes if n not in proposal.notes)
                if own_notes:
                    principal_notes[principal] = own_notes
    for principal in unmapped:
        usage = observation.principals[principal]
        own = propose_policies([*usage.accesses, *without_declared_policy(usage.possible)],
                               catalog=catalog, limit=limit)
        principal_proposals[principal] = own.document
        if own.notes:
            principal_notes[principal] = own.notes

    unobserved_roles = sorted(
        key for key in roles
        if key not in by_role and (declared_only_roles is None or key in declared_only_roles)
    )
    findings.extend(_unobserved(roles[key], rules) for key in unobserved_roles)
    unobserved_principals = sorted(
        {p for p, r in principal_roles.items() if p not in observation.principals}
        | {p for key in by_role for p in (untraced or {}).get(key, ())}
    )
    coverage = Coverage(
        traces=observation.traces,
        window=observation.window,
        principals=tuple(sorted(observation.principals)),
        unobserved=tuple(unobserved_roles + unobserved_principals),
        unmapped=tuple(unmapped),
        unknown_resources=sum(
            1 for usage in observation.principals.values() for a in usage.accesses
            if not a.resource_known
        ),
        policy_files=tuple(sorted({  # a role declared with no statement counts its file
            origin.file for role in roles.values()
            for origin in (role.origin, *(s.origin for s in _all_statements(role)))
            if origin.file
        })),
        roles=tuple(sorted(roles)),
    )
    return Analysis(
        findings=tuple(_ordered(_deduplicated(findings))),
        proposals=proposals,
        declared=declared,
        diffs=diffs,
        shared_roles=shared,
        coverage=coverage,
        notices=notices,
        principal_proposals=principal_proposals,
        proposal_notes=proposal_notes,
        principal_proposal_notes=principal_notes,
    )


def _allows(full: CallIndex) -> Callable[[Access | Use], bool]:
    """Whether the role, its Denies and its boundary (``full``), would let a call succeed."""

    def allows(item: Access | Use) -> bool:
        return full.evaluate(item.action, item.resource, item).decision in (
            Decision.ALLOW, Decision.CONDITIONAL)
    return allows


def role_proposal(
    role: Role,
    accesses: Sequence[Access],
    principals: Sequence[str],
    groups: Sequence[PlatformGroup],
    *,
    limit: int = MANAGED_LIMIT,
    catalog: Catalog | None = None,
    context: dict[str, object] | None = None,
    patterns: dict[str, tuple[str, ...]] | None = None,
    possible: Sequence[Access] = (),
    index: CallIndex | None = None,
    delivered: Sequence[Access] = (),
) -> Proposal:
    """The proposal for a role: what was used, plus the platform grants it keeps, and
    what calls may have needed (``possible``) where the role grants it: a call the role
    lets succeed must keep working, but nothing it may not need is added. ``delivered``
    is what Lambda sends with the role for its functions (``BUCKET/*`` for an S3
    destination: granted on the part of the role's grant within it, never more).

    ``patterns`` caches the declared resource patterns per action across calls for the
    same role, and ``index`` its statements' :class:`CallIndex` under ``context`` (its
    regional indexes are built once then, however many principals share the role).
    """
    catalog = catalog or get_catalog()
    index = index or CallIndex(role.statements, context=context)
    used = {a.action.lower() for a in (*accesses, *delivered)}
    cache = patterns if patterns is not None else {}

    def declared(action: str) -> tuple[str, ...]:
        if action not in cache:
            cache[action] = declared_patterns(role.statements, action)
        return cache[action]

    extra = [g for g in _platform_grants(index, principals, groups, catalog, declared)
             if g.action.lower() not in used]

    bounds: dict[tuple[str, bool, tuple[str, ...], bool], tuple[Grant, ...] | None] = {}
    excluded: dict[str, None] = {}  # NotResource patterns of the role, in order
    unexcluded: set[str] = set()  # actions granted on ARN formats those may fall in

    def declared_bound(action: str, access: Access) -> tuple[Grant, ...] | None:
        """An access on a resource the traces did not name: the action on each declared
        pattern, under the Condition blocks the role grants it there with (a use there).
        A declared ``*`` counts only under its conditions (``iam:PassRole`` on ``*`` for
        one service): else the catalog's formats, in the principal's account, are
        narrower."""
        # blocks() asks conditions(), which decides by the calls' regions too
        key = (action, access.denied, access.regions, access.region_known)
        if key not in bounds:
            def blocks(pattern: str) -> tuple[str, ...]:
                return conditions(replace(access, resource=pattern, resource_known=True))

            patterns = [p for p in declared(action) if p != "*"]
            found = [Grant(action, p, block) for p in patterns for block in blocks(p) or ("",)]
            if not patterns and "*" in declared(action):
                found = [Grant(action, "*", block) for block in blocks("*")]
            bounds[key] = tuple(found) or None
            if not found:  # the ARN formats: what a NotResource of the role left out is not
                excluded.update({r: None for s in role.statements
                                 if s.is_allow and s.not_resources
                                 and statement_acts(s, action) is not False
                                 for r in s.resources})
                if excluded:
                    unexcluded.add(action)
        return bounds[key]

    kept = [a for a in possible
            if (index.evaluate(a.action, a.resource, a).decision in (Decision.ALLOW,
                                                                      Decision.CONDITIONAL)
                if a.resource_known else bool(declared(a.action)))]
    # A denied call is a need, unless the role's own Deny refused it: that is a guardrail
    # the proposal must not turn into an Allow. Calls to several regions are guarded only
    # when the Deny refuses them in every one: else some were refused for want of a grant.
    guarded = [a for a in accesses if a.denied and a.resource_known
               and all(e.decision is Decision.EXPLICIT_DENY
                       for e in index.each(a.action, a.resource, a))]
    if guarded:
        accesses = [a for a in accesses if a not in guarded]
    # The role's Deny statements go into the proposal as written: adopting it must not lift
    # a guardrail, and a use they leave undecided needs no condition of its own then.
    denies, unwritten = _kept_denies(role)
    room = limit - sum(len(orjson.dumps(d.to_json())) + 1 for d in denies)  # +1: a comma
    if denies and room < limit // 2:  # they would crowd out what was used
        unwritten, denies, room = [*unwritten, *(_place(d) for d in denies)], [], limit
    written = {id(d) for d in denies}
    carried: set[str] = set()
    uncarried: set[str] = set()

    def open_statements(access: Access, found: Evaluation | None = None
                        ) -> list[Statement] | None:
        """The statements that leave a use undecided, less the Denies the proposal keeps
        (None: the use is decided)."""
        found = found or index.evaluate(access.action, access.resource, access)
        if found.decision is not Decision.CONDITIONAL:
            return None
        return [s for s in found.statements if id(s) not in written]

    def conditions(access: Access) -> tuple[str, ...]:
        """The role's Condition blocks for a use it grants only under them (a denied call
        is a need, granted as such). Blocks the request context decided, such as an Allow
        over TLS only, are kept too: adopting the proposal must not lift them."""
        if not access.resource_known or access.denied:
            return ()
        found = index.evaluate(access.action, access.resource, access)
        if found.decision is Decision.ALLOW:
            if not all(s.conditions for s in found.statements):
                return ()  # an unconditioned Allow grants it
            undecided = list(found.statements)  # under blocks the context decided
        else:
            undecided = open_statements(access, found) or []
            if not undecided:  # decided, or only by a Deny the proposal keeps
                return ()
        blocks = carried_conditions(undecided, access.action, access.resource)
        if blocks:
            carried.add(access.action)
        elif not variables(access):  # else granted on those patterns: nothing is lifted
            uncarried.add(access.action)
        return blocks

    def variables(access: Access) -> tuple[str, ...]:
        """The role's patterns with policy variables that alone granted an S3 object use."""
        if not access.resource_known or access.denied or not S3_OBJECT.match(access.resource):
            return ()
        undecided = open_statements(access)
        if not undecided:
            return ()
        return variable_patterns(undecided, access.action, access.resource)

    # what fitting the size limit may add: what an unconditioned Allow of the role grants
    # (its Denies are kept with the proposal)
    grants = PolicyIndex([s for s in role.statements if s.is_allow])
    unconditioned = [s for s in role.statements if s.is_allow and not s.conditions]

    def granted(action: str, resource: str) -> bool:
        if has_wildcard(resource):  # a pattern (an S3 folder): covered whole, not as text
            return any(statement_acts(s, action) is True and statement_covers(s, resource)
                       for s in unconditioned)
        return grants.evaluate(action, resource).decision is Decision.ALLOW

    proposal = propose_policies([*accesses, *kept], catalog=catalog, limit=room, extra=extra,
                                unknown_bound=declared_bound, declared=declared,
                                conditions=conditions, variables=variables, granted=granted,
                                delivered=delivered)
    notes = [*proposal.notes]
    if denies:
        notes.append(f"keeps the role's {len(denies)} Deny statement(s) as written, in its "
                     "first document: adopting it must not lift a guardrail")
    if unwritten:
        notes.append("the role's Deny statement(s) " + ", ".join(unwritten) + " are not in "
                     "this proposal (values not known offline, or too large to fit): keep "
                     "them beside it")
    if guarded:
        notes.append(guarded_note(guarded))
    if kept:
        notes.append(possible_note(kept))
    if carried:
        notes.append(conditions_kept_note(sorted(carried)))
    if uncarried:  # granted without the role's conditions: say so
        notes.append(conditions_note(sorted(uncarried)))
    if unexcluded:
        notes.append(not_resource_note(sorted(unexcluded), list(excluded)))
    laid_out = in_declared_order(proposal, role, limit=room)
    if denies:
        laid_out = replace(laid_out, documents=(
            _with_denies(laid_out.documents[0], [d.to_json() for d in denies]),
            *laid_out.documents[1:]))
    return replace(laid_out, notes=tuple(notes))


def _kept_denies(role: Role) -> tuple[list[Statement], list[str]]:
    """The role's own Deny statements its proposal keeps as written, and the places of
    those that cannot be written (a value not known offline, or a 2008-10-17 statement
    whose ``${`` would read as a policy variable in the proposal's version)."""
    written: list[Statement] = []
    unwritten: list[str] = []
    for statement in role.statements:
        if statement.is_allow:
            continue
        values = [*statement.actions, *statement.resources,
                  *(v for keys in statement.conditions.values() for vs in keys.values()
                    for v in vs)]
        if any(is_unresolved(v) for v in values) or (
                statement.version != VERSION_2012 and any("${" in v for v in values)):
            unwritten.append(_place(statement))
            continue
        written.append(statement)
    return written, unwritten


def _place(statement: Statement) -> str:
    origin = statement.origin
    if origin.file and origin.line:
        return f"{origin.file}:{origin.line}"
    return str(statement.sid or origin.file or "Deny")


def _with_denies(document: Mapping[str, object], denies: Sequence[dict[str, object]]
                 ) -> dict[str, object]:
    """``document`` with the Deny statements after its own (a Sid already there dropped:
    a Sid is unique in its policy; so is one IAM would refuse, not letters and digits)."""
    statements = statements_of(document)
    sids = {s.get("Sid") for s in statements if isinstance(s, dict)}
    for deny in denies:
        sid = deny.get("Sid")
        kept = isinstance(sid, str) and iam_sid(sid) and sid not in sids
        statements.append(deny if kept else {k: v for k, v in deny.items() if k != "Sid"})
        sids.add(sid)
    return {**document, "Statement": statements}


def _platform_actions(groups: Sequence[PlatformGroup]) -> dict[str, PlatformGroup]:
    found: dict[str, PlatformGroup] = {}
    for group in groups:
        for action in sorted(group.actions):
            found.setdefault(action, group)
    return found


def _platform_grants(
    index: CallIndex, principals: Sequence[str], groups: Sequence[PlatformGroup],
    catalog: Catalog, declared: Callable[[str], tuple[str, ...]],
) -> list[Grant]:
    """The platform permissions the role grants, narrowed where the data can narrow them."""
    grants: list[Grant] = []
    for group in groups:
        for permission in group.permissions:
            for name in permission.actions:
                action = catalog.canonical(name) or name
                # what the role grants it on (a NotResource statement names no pattern:
                # asked of the resources the data names, it still answers)
                candidates = _resources_for(permission.resource, principals, group)
                kept = [r for r in candidates
                        if index.evaluate(action, r).decision in (Decision.ALLOW,
                                                                  Decision.CONDITIONAL)]
                if not kept:
                    kept = list(declared(action))  # else not granted: none kept
                grants.extend(Grant(action, r) for r in kept)
    return grants


def _resources_for(template: str, principals: Sequence[str], group: PlatformGroup
                   ) -> list[str]:
    if template == DECLARED:
        return []
    if "{" not in template:
        return [template]
    found = []
    for principal in principals:
        fields = arn_fields(principal)
        if fields is not None and compute_kind(principal) in group.compute:
            found.append(template.format(**fields))
    return sorted(set(found))


def _store(proposals: dict[str, dict[str, object]], key: str, proposal: Proposal) -> None:
    """A proposal's documents, the first under the role's key (its notes are kept apart,
    in ``Analysis.proposal_notes``)."""
    proposals[key] = proposal.documents[0]
    for number, doc in enumerate(proposal.documents[1:], start=2):
        proposals[f"{key} (part {number})"] = doc


def _unobserved(role: Role, rules: FindingRules, principals: tuple[str, ...] = ()
                ) -> Finding:
    """No verdict: on the whole role, or (``principals``) on those of its principals that
    had no traces while others did."""
    variant = "principals" if principals else "role"
    fields = {"principals": ", ".join(mark(p) for p in principals)}
    return Finding(
        kind="unobserved",
        role=role.key,
        action="*",
        resource="*",
        severity=rules.severity("unobserved"),
        principals=principals,
        origin=role.origin if (role.origin.file or role.origin.policy_arn) else None,
        message=rules.message("unobserved", variant, **fields),
        fix=rules.fix("unobserved", variant, **fields),
    )


def _all_statements(role: Role) -> tuple[Statement, ...]:
    return role.statements + (role.boundary.statements if role.boundary else ())


def _deduplicated(findings: list[Finding]) -> list[Finding]:
    """One finding per (kind, role, action, resource): later duplicates add their origin.

    Actions compare lower-cased, as IAM (and the gate's and SARIF's identity) does;
    resources compare as written, since ARNs are case-sensitive.
    """
    kept: dict[tuple[str, str, str, str], Finding] = {}
    for finding in findings:
        key = (finding.kind, finding.role, finding.action.lower(), finding.resource)
        first = kept.get(key)
        if first is None:
            kept[key] = finding
            continue
        also = list(first.detail.get("also_declared_at", []))  # type: ignore[call-overload]
        if finding.origin is not None and str(finding.origin) not in also:
            also.append(str(finding.origin))
        kept[key] = replace(first, detail={**first.detail, "also_declared_at": also})
    return list(kept.values())


def _ordered(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (
        f.role, FINDING_KINDS.index(f.kind), -SEVERITIES.index(f.severity),
        f.action.lower(), f.resource))
