"""Excess: what each Allow statement grants beyond what the role's principals used.

A statement is judged per (action pattern, resource pattern) it lists, so every finding
names one pattern pair (DESIGN.md: one finding per kind, role, action and resource):

- a wildcard action is expanded through the catalog and reported once ("`dynamodb:*`
  grants 57 actions, 3 used"), the unused actions in ``detail``;
- a resource pattern is *broad* when the used resources, as the proposal would write
  them, are narrower than it; ``*`` is never broad for actions that support no
  resource type, and accesses whose traces named no resource keep it from being judged;
- a pattern pair nobody used is reported as unused;
- platform-required actions are set aside (reported as ``platform``, never excess).

A statement with a condition (or a value the infrastructure code did not resolve) is
excess only with that caveat: ``conditional=True``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from leastpriv_ci.analysis.platform import PlatformGroup
from leastpriv_ci.analysis.proposal import S3_OBJECT, grant_patterns, s3_object_pattern
from leastpriv_ci.analysis.severity import FindingRules, strongest_level
from leastpriv_ci.analysis.uses import Use, traces_of
from leastpriv_ci.bundled import load
from leastpriv_ci.catalog import ActionInfo, Catalog
from leastpriv_ci.codemarks import mark
from leastpriv_ci.policy.evaluate import Decision, PolicyIndex
from leastpriv_ci.policy.match import (
    action_match,
    any_of,
    could_match,
    declared_patterns,
    pattern_covers,
    statement_acts,
    statement_covers,
    statement_reaches,
)
from leastpriv_ci.policy.model import Role, Statement, is_unresolved
from leastpriv_ci.policy.wildcards import has_wildcard
from leastpriv_ci.records import Finding
from leastpriv_ci.usage.operations import operations

MAX_LISTED = 200  # actions/resources listed in a finding's detail; counts stay exact


@dataclass(frozen=True)
class Unit:
    """One (action pattern, resource pattern) pair of a statement, or its Not* block."""

    statement: Statement
    action: str  # the finding's action label: the pattern, or NotAction(...)
    resource: str  # the finding's resource label
    sub: Statement  # the statement narrowed to this pair


def units(statement: Statement) -> list[Unit]:
    """The pattern pairs a statement is judged by."""
    if statement.not_actions:
        actions = [(f"NotAction({', '.join(statement.actions)})", statement.actions)]
    else:
        actions = [(a, (a,)) for a in statement.actions]
    if statement.not_resources:
        resources = [(f"NotResource({', '.join(statement.resources)})", statement.resources)]
    else:
        resources = [(r, (r,)) for r in statement.resources]
    return [
        Unit(statement, label_a, label_r, replace(statement, actions=a, resources=r))
        for label_a, a in actions
        for label_r, r in resources
    ]


def excess_findings(
    role: Role,
    uses: Sequence[Use],
    *,
    principals: Sequence[str],
    platform: Mapping[str, PlatformGroup],
    shared: bool,
    catalog: Catalog,
    rules: FindingRules,
    untraced: tuple[str, ...] = (),
    possible: Sequence[Use] = (),
    options: Sequence[Use] = (),
) -> list[Finding]:
    """Excess and platform findings for every Allow statement of ``role``.

    ``platform`` maps lower-cased platform-required action names to their group.
    ``untraced`` names principals that also run as the role and had no traces: each
    excess finding then says it speaks for the traced ones only (and does not gate).
    ``possible`` are actions calls may have needed (``PrincipalUsage.possible``): an
    unused grant of one is reported with that caveat, and does not gate when nothing
    else in the finding is surely unused. ``options`` are what the calls' requests may
    add (an upload's tagging): they give the same caveat, but no resources to narrow a
    grant to.
    """
    findings: list[Finding] = []
    used_anywhere = {u.key for u in uses}
    grouped = _by_action(uses)
    maybe = _by_action(possible)
    optional = _by_action(options)
    for statement in role.statements:
        if not statement.is_allow:
            continue
        for unit in units(statement):
            if _applies_elsewhere_only(unit, catalog):
                continue
            findings.extend(_judge(unit, role, grouped, principals, platform, used_anywhere,
                                   shared, catalog, rules, untraced, maybe, optional))
    return findings


def _applies_elsewhere_only(unit: Unit, catalog: Catalog) -> bool:
    """Whether the pair grants nothing while its action applies to another resource of
    the statement: ``s3:GetObject`` on a bucket ARN next to the bucket's objects, as SAM's
    policy templates write them. Nothing to remove there; a statement that grants nothing
    anywhere is still judged (and reported) as written."""
    statement = unit.statement
    if statement.not_actions or statement.not_resources or unit.resource == "*":
        return False
    actions = unit.sub.actions
    if _applicable(actions, False, unit.resource, catalog):
        return False
    return any(_applicable(actions, False, other, catalog)
               for other in statement.resources if other != unit.resource)


def _judge(
    unit: Unit,
    role: Role,
    uses: Mapping[str, list[Use]],
    principals: Sequence[str],
    platform: Mapping[str, PlatformGroup],
    used_anywhere: set[str],
    shared: bool,
    catalog: Catalog,
    rules: FindingRules,
    untraced: tuple[str, ...],
    possible: Mapping[str, list[Use]],
    options: Mapping[str, list[Use]],
) -> list[Finding]:
    statement = unit.sub
    if any(is_unresolved(a) for a in statement.actions):
        return []  # an action list the tool could not resolve cannot be judged
    # a NotResource block is judged on everything it grants
    granted = _granted(statement.actions, statement.not_actions,
                       "*" if statement.not_resources else unit.resource, catalog)
    covered, unknown = _covered(statement, uses)
    used = {u.key for u in covered} | {u.key for u in unknown}
    conditional = bool(statement.conditions) or any(is_unresolved(r) for r in
                                                    statement.resources)
    findings = [
        _platform_finding(unit, role, info, platform[key], principals, rules)
        for key, info in sorted(granted.items())
        if key in platform and key not in used_anywhere
    ]
    unused = {k: i for k, i in granted.items() if k not in used and k not in platform}
    denied = _denied_everywhere(role, unit, unused)
    unused = {k: i for k, i in unused.items() if k not in denied}
    outside = _outside_boundary(role, unit, unused)
    unused = {k: i for k, i in unused.items() if k not in outside}
    maybe_covered, maybe_unknown = _covered(statement, possible) if possible else ([], [])
    optional = [u for group in _covered(statement, options) for u in group] if options else []
    maybe_keys = {u.key for u in (*maybe_covered, *maybe_unknown, *optional)}
    maybe = sorted((i.full_name for k, i in unused.items() if k in maybe_keys), key=str.lower)
    # What the calls may have needed keeps its resources: narrowing must not drop them
    suggested = _suggested(unit, [*covered, *maybe_covered], [*unknown, *maybe_unknown],
                           role.statements)
    if not unused and suggested is None:
        return findings
    wildcard = statement.not_actions or has_wildcard(unit.action)
    resources = suggested or ()
    if not covered and not unknown:
        # broader than what the calls may have needed (an upload's tagging on its objects)
        variant = ("possible_broad" if maybe and suggested is not None and not wildcard
                   else "wildcard" if wildcard else "unused")
    elif suggested is not None:
        variant = "wildcard_broad" if wildcard and unused else "broad"
    else:
        variant = "wildcard"
    levels: list[str | None] = [i.access_level for i in unused.values()]
    if suggested is not None:
        levels.extend(u.access_level for u in covered if u.resource_level)
    level = strongest_level(levels)
    everything = (unit.action == "*" or statement.not_actions) and unit.resource == "*"
    fields = {
        "action": unit.action, "resource": unit.resource, "granted": len(granted),
        "used": sum(1 for k in granted if k in used),
        "count": len({u.resource for u in (maybe_covered if variant == "possible_broad"
                                           else covered) if u.resource_level}),
        "unknown": len(unknown),
    }
    message = rules.message("excess", variant, **fields)
    if conditional:
        message += rules.message("excess", "conditional")
    if unknown:
        message += rules.message("excess", "unknown_resources", **fields)
    only_possible = bool(maybe) and len(maybe) == len(unused) and suggested is None
    if maybe:
        message += rules.message("excess", "possible_only" if only_possible else "possible",
                                 actions=_quoted(maybe))
    if untraced:
        message += rules.message("excess", "untraced",
                                 principals=", ".join(mark(p) for p in untraced))
    used_actions = sorted({u.action for u in covered} | {u.action for u in unknown},
                          key=str.lower)
    if only_possible:
        fix = rules.fix("excess", "possible", actions=_quoted(maybe))
    elif variant == "unused":
        fix = rules.fix("excess", "unused", **fields)
    elif variant in ("broad", "possible_broad"):
        fix = rules.fix("excess", "broad", resources=_quoted(resources))
    else:
        fix = rules.fix("excess", "wildcard", used_actions=_quoted(used_actions) or "none")
        if suggested is not None:
            fix += "; " + rules.fix("excess", "broad", resources=_quoted(resources))
    # actions without resource types that were used here need the `*` being narrowed
    needs_star = sorted({u.action for u in covered if not u.resource_level}, key=str.lower)
    if suggested is not None and needs_star:
        fix += "; " + rules.fix("excess", "keep_star", used_actions=_quoted(needs_star))
    detail: dict[str, object] = {
        "statement": unit.statement.sid,
        "granted_actions": len(granted),
        "used_actions": used_actions,
        "unused_actions": sorted((i.full_name for i in unused.values()),
                                 key=str.lower)[:MAX_LISTED],
        "unused_count": len(unused),
        "unused_by_level": _by_level(unused.values()),
        "used_resources": sorted({u.resource for u in covered})[:MAX_LISTED],
    }
    if denied:
        # an unconditional Deny takes these away wherever this pattern grants them
        detail["denied_by_policy"] = sorted(denied.values(), key=str.lower)[:MAX_LISTED]
    if outside:
        # the permissions boundary never lets these take effect on this pattern
        detail["outside_boundary"] = sorted(outside.values(), key=str.lower)[:MAX_LISTED]
    if suggested is not None:
        detail["suggested_resources"] = list(resources)
    if unknown:
        detail["unknown_resources"] = len(unknown)
    if shared:
        detail["per_principal"] = _per_principal(principals, covered, unknown)
    if untraced:
        detail["untraced_principals"] = list(untraced)
    if maybe:
        detail["possibly_needed"] = maybe[:MAX_LISTED]
        detail["only_possibly_needed"] = only_possible
    severity = rules.severity("excess", level, everything=everything)
    return [*findings, Finding(
        kind="excess",
        role=role.key,
        action=unit.action,
        resource=unit.resource,
        severity=severity,
        principals=tuple(principals),
        access_level=level,
        origin=unit.statement.origin,
        message=message,
        fix=fix,
        conditional=conditional,
        trace_ids=traces_of(u.trace_ids for u in (*covered, *unknown, *(
            u for u in (*maybe_covered, *maybe_unknown, *optional) if u.action in maybe))),
        detail=detail,
    )]


def _denied_everywhere(role: Role, unit: Unit, actions: Mapping[str, ActionInfo]
                       ) -> dict[str, str]:
    """Granted actions an unconditional Deny removes on the whole resource pattern.

    A Deny covers the pattern when one of its own resource patterns matches every
    resource the pattern does (``*``, the same ARN, or a wider wildcard), so the grant
    never takes effect there.
    """
    if unit.sub.not_resources:
        return {}
    denies = _covering_denies(role.statements, unit.sub.resources[0])
    return {key: info.full_name for key, info in actions.items()
            if any(statement_acts(s, info.full_name) is True for s in denies)}


def _outside_boundary(role: Role, unit: Unit, actions: Mapping[str, ActionInfo]
                      ) -> dict[str, str]:
    """Granted actions the permissions boundary never allows on the resource pattern.

    Such an action is not effective, like one an unconditional Deny removes: no boundary
    Allow may grant it on a resource the pattern can match, or an unconditional boundary
    Deny covers it on the whole pattern. A conditional boundary Allow may grant it (its
    condition is undecidable), so it keeps the action; a conditional Deny removes nothing.
    """
    if role.boundary is None:
        return {}
    pattern = "*" if unit.sub.not_resources else unit.sub.resources[0]
    allows = [s for s in role.boundary.statements
              if s.is_allow and statement_reaches(s, pattern)]
    denies = _covering_denies(role.boundary.statements, pattern)
    return {key: info.full_name for key, info in actions.items()
            if not any(statement_acts(s, info.full_name) is not False for s in allows)
            or any(statement_acts(s, info.full_name) is True for s in denies)}


def _covering_denies(statements: Sequence[Statement], pattern: str) -> list[Statement]:
    """The unconditional Deny statements whose resources cover every resource of
    ``pattern``: one of its Resource patterns covers it, or none of its NotResource
    patterns may match a resource of it."""
    return [s for s in statements
            if not s.is_allow and not s.conditions and statement_covers(s, pattern)]


def _covered(statement: Statement, uses: Mapping[str, list[Use]]
             ) -> tuple[list[Use], list[Use]]:
    """Uses the (narrowed, Allow) statement may grant: with a known resource, and not."""
    index = PolicyIndex([replace(statement, effect="Allow")], memoize=False)
    covered: list[Use] = []
    unknown: list[Use] = []
    for action, group in uses.items():
        acting = any_of([action_match(p, action) for p in statement.actions])
        if statement.not_actions:
            acting = None if acting is None else not acting
        if acting is False:
            continue
        for use in group:
            if not use.resource_known:
                if statement_reaches(statement, use.resource):  # `*`, or the bound the trace gave
                    unknown.append(use)
            elif index.evaluate(use.action, use.resource).decision is not (
                    Decision.IMPLICIT_DENY):
                covered.append(use)
            elif has_wildcard(use.resource) and statement_reaches(statement, use.resource):
                # objects whose keys Lambda chooses (an S3 destination's BUCKET/*): a
                # grant on some of them may be the one it writes with
                unknown.append(use)
    return covered, unknown


def _by_action(uses: Sequence[Use]) -> dict[str, list[Use]]:
    """Uses grouped by action, so each pattern is matched once per distinct action."""
    grouped: dict[str, list[Use]] = {}
    for use in uses:
        grouped.setdefault(use.action, []).append(use)
    return grouped


def _suggested(unit: Unit, covered: list[Use], unknown: list[Use],
               statements: Sequence[Statement]) -> tuple[str, ...] | None:
    """The narrower resources to grant instead, or None when the pattern is not broad
    (``statements``: the role's, whose patterns the proposal keeps where they tell)."""
    statement = unit.sub
    scoped = [u for u in covered if u.resource_level]
    if not scoped or unknown:
        return None
    if not statement.not_resources:
        pattern = statement.resources[0]
        if pattern != "*" and not has_wildcard(pattern):
            return None
    suggestion = _as_proposed(scoped, statements)
    if not statement.not_resources and not _narrower(statement.resources[0], suggestion):
        return None
    return suggestion


def _narrower(pattern: str, suggestion: tuple[str, ...]) -> bool:
    """Whether the suggested resources are all within ``pattern`` and grant less.

    A pattern with a policy variable (``${aws:PrincipalTag/team}``) cannot be compared
    offline: the staging value the traces show is not the only one, so it is never
    narrowed to it.
    """
    return (all(pattern_covers(pattern, s) for s in suggestion)
            and not any(pattern_covers(s, pattern) for s in suggestion))


def _as_proposed(uses: list[Use], statements: Sequence[Statement]) -> tuple[str, ...]:
    """Used resources written as the proposal writes them (S3 keys generalised)."""
    out: set[str] = set()
    declared: dict[str, tuple[str, ...]] = {}
    keys: dict[tuple[str, str, str], set[str]] = {}
    for use in uses:
        s3 = S3_OBJECT.match(use.resource)
        if s3:
            keys.setdefault((use.key, s3.group(1), s3.group(2)), set()).add(s3.group(3))
        else:
            if use.key not in declared:
                declared[use.key] = declared_patterns(statements, use.action)
            out.update(grant_patterns(use.action, use.resource, declared[use.key]))
    for (_, partition, bucket), found in keys.items():
        out.add(s3_object_pattern(partition, bucket, found))
    return tuple(sorted(out))


@lru_cache(maxsize=4096)
def _granted_cached(
    patterns: tuple[str, ...], negated: bool, catalog: Catalog
) -> Mapping[str, ActionInfo]:
    if negated:
        excluded = {i.full_name.lower() for p in patterns for i in catalog.expand(p)}
        return {i.full_name.lower(): i for i in catalog if i.full_name.lower() not in excluded}
    found: dict[str, ActionInfo] = {}
    for pattern in patterns:
        expanded = catalog.expand(pattern)
        if not expanded and not has_wildcard(pattern):
            if operations().authorized_as(pattern):
                continue  # an API operation's name (sqs:DeleteMessageBatch): grants nothing
            # IAM does not know it (typo, retired, newer than the catalog): judge it alone
            service, _, name = pattern.partition(":")
            expanded = [ActionInfo(service, name, "", (), (), ())]
        for info in expanded:
            found[info.full_name.lower()] = info
    return found


@lru_cache(maxsize=4096)
def _granted(patterns: tuple[str, ...], negated: bool, resource: str, catalog: Catalog
             ) -> Mapping[str, ActionInfo]:
    """The actions the patterns grant that IAM can authorize on ``resource`` (the
    statement's resource pattern), by lower-cased name.

    An action none of whose resource types' ARNs the pattern can match is not granted
    there (and one with no resource type is granted on ``*`` only): ``dynamodb:*`` on an
    index ARN grants the index actions, not ``PutResourcePolicy``. When nothing would be
    left, the statement grants nothing at all; it is judged as written, so it is still
    reported.
    """
    return _applicable(patterns, negated, resource, catalog) or \
        _granted_cached(patterns, negated, catalog)


@lru_cache(maxsize=4096)
def _applicable(patterns: tuple[str, ...], negated: bool, resource: str, catalog: Catalog
                ) -> Mapping[str, ActionInfo]:
    """The actions the patterns grant that IAM can authorize on ``resource``, by
    lower-cased name (empty when none can)."""
    granted = _granted_cached(patterns, negated, catalog)
    if resource == "*":
        return granted
    return {key: info for key, info in granted.items() if _applies(info, resource, catalog)}


def _applies(info: ActionInfo, resource: str, catalog: Catalog) -> bool:
    if not info.access_level:  # not in the catalog: nothing is known of its resources
        return True
    if not info.resource_types:
        return could_match(resource, "*")
    whole = _whole_names(info.service)
    for ref in info.resource_types:
        rtype = catalog.resource_type(info.service, ref.name)
        if rtype is None or could_match(resource, rtype.arn_format, whole):
            return True
    return False


@cache
def _whole_names(service: str) -> frozenset[str]:
    """ARN-format names that hold no "/" in ``service`` (``data/arn_names.yaml``)."""
    data = load("arn_names.yaml")
    return frozenset(data["any_service"]) | frozenset(data["services"].get(service, ()))


def _platform_finding(
    unit: Unit, role: Role, info: ActionInfo, group: PlatformGroup,
    principals: Sequence[str], rules: FindingRules,
) -> Finding:
    fields = {"action": info.full_name, "resource": unit.resource, "group": group.name,
              "description": group.description}
    return Finding(
        kind="platform",
        role=role.key,
        action=info.full_name,
        resource=unit.resource,
        severity=rules.severity("platform"),
        principals=tuple(principals),
        access_level=info.access_level or None,
        origin=unit.statement.origin,
        message=rules.message("platform", "granted", **fields),
        fix=rules.fix("platform", "granted", **fields),
        conditional=bool(unit.statement.conditions),
        detail={"platform_group": group.name, "source": group.source,
                "statement": unit.statement.sid},
    )


def _by_level(infos: object) -> dict[str, int]:
    counts: dict[str, int] = {}
    for info in infos:  # type: ignore[attr-defined]
        level = info.access_level or "unknown"
        counts[level] = counts.get(level, 0) + 1
    return dict(sorted(counts.items()))


def _per_principal(
    principals: Sequence[str], covered: list[Use], unknown: list[Use]
) -> dict[str, list[str]]:
    """What each principal sharing the role used of this grant."""
    out: dict[str, list[str]] = {p: [] for p in principals}
    for use in (*covered, *unknown):
        for principal in use.principals:
            out.setdefault(principal, []).append(f"{use.action} on {use.resource}")
    return {p: sorted(set(v)) for p, v in sorted(out.items())}


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(mark(v) for v in values)
