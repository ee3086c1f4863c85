"""Resource-based policies declared in infrastructure code (``data/resource_policies.yaml``).

A bucket's, queue's, topic's, key's or secret's policy whose Allow statement names a role
as its Principal grants that role by itself in the account it belongs to. Those
statements never count as the role's own grants (nothing in them is excess, and the
proposal does not lean on them); they only explain a use that no statement of the role
allows (``analysis/missing.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from functools import cache
from typing import Any, NamedTuple

from leastpriv_ci.bundled import load
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.intrinsics import TemplateResolver
from leastpriv_ci.grants.policy_text import as_structure, resolved_text
from leastpriv_ci.loaders import LocatedDict, line_of
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.conditions import evaluate_conditions
from leastpriv_ci.policy.model import ALLOW, Statement, is_unresolved, unresolved
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

SELF = "self"
PRINCIPAL_ARN = "aws:principalarn"
# The operators by which a condition names the principals it lets through
_EQUALS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals",
                     "ArnLike"})
UNREAD = "resource-policy-unread"
UNREAD_TEXT = (
    "resource-based policy statements naming a role that do not parse as a policy were "
    "not read; a use they grant is reported missing"
)
# The role key a Principal value names, when it is one of the template's roles
RoleKeyFn = Callable[[Any, int | None], str | None]


class ResourcePolicyType(NamedTuple):
    """Where a resource type keeps its policy, and what its Resource ``*`` stands for."""

    kind: str  # "bucket policy"
    document: tuple[str, ...]  # the property path of the policy document
    star: str | None  # SELF, the property naming the resource, or None

    def document_of(self, properties: Mapping[str, Any]) -> Any:
        """The raw policy document in ``properties`` (None: not there)."""
        found: Any = properties
        for key in self.document:
            if not isinstance(found, Mapping):
                return None
            found = found.get(key)
        return found


@cache
def resource_policy_types(source: str = "cloudformation") -> Mapping[str, ResourcePolicyType]:
    """Resource type → where its resource-based policy is, for ``source``
    (``cloudformation`` or ``terraform``)."""
    raw = load("resource_policies.yaml")[source]
    return {kind: ResourcePolicyType(entry["kind"], tuple(entry["document"].split(".")),
                                     entry.get("star"))
            for kind, entry in raw.items()}


def principal_roles(principal: Any) -> list[Any]:
    """The values of a statement's ``Principal`` that may name a role: its ``AWS``
    entries, as written (a ``Fn::GetAtt`` of a role, an ARN). ``*`` (anyone: see
    :func:`names_anyone`) and service principals name no role."""
    if not isinstance(principal, Mapping):
        return []
    named = principal.get("AWS")
    items = named if isinstance(named, list) else [named]
    return [item for item in items if item is not None and item != "*"]


def names_anyone(principal: Any) -> bool:
    """Whether a ``Principal`` is anyone: ``"*"`` or an ``AWS`` entry ``"*"``."""
    if principal == "*":
        return True
    named = principal.get("AWS") if isinstance(principal, Mapping) else None
    return "*" in (named if isinstance(named, list) else [named])


def principal_arn_values(condition: Any) -> list[Any] | None:
    """The values, as written, a raw ``Condition`` requires ``aws:PrincipalArn`` to
    equal (``StringEquals``, ``ArnEquals``, ``StringLike``, ``ArnLike``, their
    ``IgnoreCase``/``IfExists`` forms). None when it tests the key otherwise too (a
    ``...NotEquals`` or a set operator) or not at all."""
    if not isinstance(condition, Mapping):
        return None
    values: list[Any] = []
    tested = False
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping):
            continue
        for key, value in keys.items():
            if str(key).lower() != PRINCIPAL_ARN:
                continue
            tested = True
            if str(operator).removesuffix("IfExists") not in _EQUALS:
                return None
            values.extend(value if isinstance(value, list) else [value])
    return values if tested else None


def role_grants(statement: Statement, roles: Collection[str]) -> list[tuple[str, Statement]]:
    """The keys among ``roles`` that a parsed Allow statement names, each with the
    statement as it grants that role: named by its Principal's ARN, or, with a Principal
    of anyone, by an ``aws:PrincipalArn`` condition the role's key (an ARN) satisfies.
    Such a condition is decided for the role, so its statement no longer holds it; a
    Principal of anyone without one (a public policy) names no role."""
    if not statement.is_allow:
        return []
    on_arn = {operator: kept for operator, keys in statement.conditions.items()
              if (kept := {k: v for k, v in keys.items() if k.lower() == PRINCIPAL_ARN})}
    if names_anyone(statement.principal):
        if not on_arn:
            return []
        candidates = sorted(key for key in roles if key.startswith("arn:"))
    else:
        candidates = sorted({value for value in principal_roles(statement.principal)
                             if isinstance(value, str) and value in roles})
        if not on_arn:
            return [(key, statement) for key in candidates]
    decided = without_principal_arn(statement)
    return [(key, decided) for key in candidates if evaluate_conditions(
        on_arn, {PRINCIPAL_ARN: key}, version=statement.version) is True]


def without_principal_arn(statement: Statement) -> Statement:
    """``statement`` without its conditions on ``aws:PrincipalArn``."""
    return replace(statement, conditions={
        operator: kept for operator, keys in statement.conditions.items()
        if (kept := {k: v for k, v in keys.items() if k.lower() != PRINCIPAL_ARN})})


def in_account(arn: str, account: str) -> bool:
    """Whether ``arn`` names something of ``account`` (a role of the same name in another
    account is another role)."""
    return arn.split(":")[4:5] == [account]


def as_grant(statement: Statement, star: str, origin: Origin) -> Statement:
    """A parsed statement as a resource grant: no Principal, a Resource ``*`` read as
    ``star``, declared at ``origin``."""
    return replace(statement, principal=None, origin=origin, resources=tuple(
        star if resource == "*" else resource for resource in statement.resources))


def resource_grants(resources: Mapping[str, Any], resolver: TemplateResolver,
                    role_key: RoleKeyFn, file: str, notices: Notices
                    ) -> dict[str, list[Statement]]:
    """The Allow statements of the template's resource-based policies, per key of the
    role their Principal names (``role_key``), their resources resolved (values not known
    offline stay unresolved, and then never decide that the policy grants a use).
    Entries of ``resources`` that are no resource (not a mapping) name none."""
    types = resource_policy_types()
    granted: dict[str, list[Statement]] = {}
    for logical, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type")
        found = types.get(kind) if isinstance(kind, str) else None
        properties = resource.get("Properties")
        if found is None or not isinstance(properties, Mapping):
            continue
        document = as_structure(found.document_of(properties))
        if not isinstance(document, Mapping):
            continue
        line = line_of(resource)
        statements = document.get("Statement")
        for item in statements if isinstance(statements, list) else [statements]:
            if not isinstance(item, Mapping) or item.get("Effect") != ALLOW:
                continue
            named = principal_roles(item.get("Principal"))
            by_condition = names_anyone(item.get("Principal"))
            if by_condition:  # anyone whose ARN the condition names
                named = principal_arn_values(item.get("Condition")) or []
            keys = {key for value in named
                    if (key := role_key(value, line_of(item) or line)) is not None}
            if not keys:
                continue
            origin = Origin(file=file, line=line_of(item) or line, logical_id=logical,
                            policy_name=found.kind)
            statement = _statement(document, item, _star(found, logical, properties),
                                   resolver, origin, notices)
            if statement is None:
                continue
            if by_condition:
                statement = without_principal_arn(statement)
            for key in sorted(keys):
                granted.setdefault(key, []).append(statement)
    return granted


def star_arn(found: ResourcePolicyType, value: Any) -> str:
    """What a policy's Resource ``*`` stands for: ``value``, the resource's ARN, when
    known offline, else a value that never decides a grant (unresolved)."""
    if isinstance(value, str) and value.startswith("arn:") and not is_unresolved(value):
        return value
    return unresolved(f"the {found.kind}'s Resource *")


def _star(found: ResourcePolicyType, logical: str, properties: Mapping[str, Any]) -> Any:
    """What the policy's Resource ``*`` stands for, as the template writes it."""
    if found.star == SELF:
        return {"Fn::GetAtt": [logical, "Arn"]}
    if found.star is not None and found.star in properties:
        return properties[found.star]
    return star_arn(found, None)


def _statement(document: Mapping[str, Any], item: Mapping[str, Any], star: Any,
               resolver: TemplateResolver, origin: Origin,
               notices: Notices) -> Statement | None:
    """One statement, without its Principal, read as a policy's; ``*`` resources as
    ``star``."""
    own = LocatedDict({k: v for k, v in item.items() if k not in ("Principal", "NotPrincipal")})
    own.line = line_of(item)
    resources = own.get("Resource")
    if resources == "*":
        own["Resource"] = star
    elif isinstance(resources, list):
        own["Resource"] = [star if r == "*" else r for r in resources]
    raw = {"Version": document.get("Version", "2012-10-17"), "Statement": [own]}
    try:
        with resolver.silenced():  # resources nobody asked the scan about
            resolved = resolved_text(resolver.resolve(raw, origin.line))
        policy = parse_policy(resolved, name=origin.policy_name or "", origin=origin)
    except UserError as exc:  # it explains nothing; the rest of the template stands
        notices.add(UNREAD, UNREAD_TEXT, str(exc))
        return None
    return policy.statements[0] if len(policy.statements) == 1 else None
