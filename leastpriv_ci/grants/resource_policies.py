"""Resource-based policies declared in infrastructure code (``data/resource_policies.yaml``).

A bucket's, queue's, topic's, key's or secret's policy whose Allow statement names a role
as its Principal grants that role by itself in the account it belongs to. Those
statements never count as the role's own grants (nothing in them is excess, and the
proposal does not lean on them); they only explain a use that no statement of the role
allows (``analysis/missing.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from functools import cache
from typing import Any, NamedTuple

from leastpriv_ci.bundled import load
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.intrinsics import TemplateResolver
from leastpriv_ci.grants.model import EVERY_ROLE, GrantSet
from leastpriv_ci.grants.policy_text import as_structure, resolved_text
from leastpriv_ci.loaders import LocatedDict, line_of, value_at
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.conditions import evaluate_conditions
from leastpriv_ci.policy.model import (
    ALLOW,
    DENY,
    UNRESOLVED_PREFIX,
    Conditions,
    Statement,
    is_unresolved,
    unresolved,
)
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

SELF = "self"
PRINCIPAL_ARN = "aws:principalarn"
PRINCIPAL_ACCOUNT = "aws:principalaccount"
# KMS's own key for the caller's account (a key policy's "every principal of the account
# that may use the service", as AWS managed keys' policies write it)
CALLER_ACCOUNT = "kms:calleraccount"
# Condition keys the request's principal alone decides: for a role, its ARN and account
PRINCIPAL_KEYS = frozenset({PRINCIPAL_ARN, PRINCIPAL_ACCOUNT, CALLER_ACCOUNT})
# Condition keys on the principal's organization: not known offline, so taken as held
# (Statement.assumed, see organization_assumed)
ORGANIZATION_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
# Condition keys on the resource an AWS service calls for: absent from a role's own call,
# so a condition requiring them never holds for it. AWS:SourceOwner (SNS's default topic
# policy; undocumented) is taken so too: it ties the caller to an account, not to anyone.
SOURCE_KEYS = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid",
                         "aws:sourceorgpaths", "aws:sourceowner"})
# Condition keys S3 sets only on a request through an access point: absent from a call on
# the bucket itself (one through an access point is on the access point's ARN). A bucket
# policy delegating to access points (s3:DataAccessPointAccount) opens it to no one.
ACCESS_POINT_KEYS = frozenset({"s3:dataaccesspointaccount", "s3:dataaccesspointarn",
                               "s3:accesspointnetworkorigin"})
# Condition keys on a service principal, and their values (None: absent) for a role's call
SERVICE_PRINCIPAL: Mapping[str, object] = {"aws:principalisawsservice": False,
                                           "aws:principalservicename": None}
_ROLE_ARN = re.compile(
    r"arn:[\w-]+:iam::(?P<account>\d{12}):role/(?:[\w+=,.@/-]*/)?(?P<name>[\w+=,.@-]+)")
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


class Permission(NamedTuple):
    """A resource-based policy written as the properties of one permission, from which
    the service writes one Allow statement (Lambda's AddPermission)."""

    action: str  # the property holding the statement's Action
    principal: str  # the property holding its principal, as the service takes it
    conditions: tuple[tuple[str, str, str], ...]  # property, operator, condition key

    @property
    def properties(self) -> tuple[str, ...]:
        return (self.action, self.principal, *(name for name, _, _ in self.conditions))

    def document(self, properties: Mapping[str, Any], line: int | None) -> dict[str, Any]:
        """The policy the service writes from ``properties`` (as written, or evaluated),
        its statement at ``line``; its Resource ``*``: the resource it is attached to."""
        statement = LocatedDict({"Effect": ALLOW, "Action": properties.get(self.action),
                                 "Principal": service_principal(properties.get(
                                     self.principal)), "Resource": "*"})
        statement.line = line
        condition: dict[str, dict[str, Any]] = {}
        for name, operator, key in self.conditions:
            if properties.get(name) is not None:
                condition.setdefault(operator, {})[key] = properties[name]
        if condition:
            statement["Condition"] = condition
        return {"Version": "2012-10-17", "Statement": [statement]}


def service_principal(value: Any) -> Any:
    """A principal as a service's permission takes it, as a policy's ``Principal``: ``*``
    is anyone, a service's name (``s3.amazonaws.com``) a ``Service``, anything else (an
    account ID, an ARN, a value not known yet) an ``AWS`` principal."""
    if value == "*":
        return "*"
    if isinstance(value, str) and ":" not in value and not value.isdigit() \
            and not is_unresolved(value):
        return {"Service": value}
    return {"AWS": value}


class ResourcePolicyType(NamedTuple):
    """Where a resource type keeps its policy, and what its Resource ``*`` stands for."""

    kind: str  # "bucket policy"
    document: tuple[str, ...]  # the property path of the policy document
    star: str | None  # SELF, the property naming the resource, or None
    single: bool = False  # the property holds one statement, not a document
    permission: Permission | None = None  # no document: one permission's properties
    arn: str | None = None  # the star property's ARN format, when it holds a name
    named: re.Pattern[str] | None = None  # that name's fields
    qualifier: str | None = None  # the argument naming a version or alias

    def document_of(self, properties: Mapping[str, Any], line: int | None = None) -> Any:
        """The raw policy document in ``properties`` (None: not there), or the one its
        permission's properties write (its statement at ``line``)."""
        if self.permission is not None:
            return self.permission.document(properties, line)
        return value_at(properties, self.document)

    def star_arn(self, value: Any, location: Mapping[str, str], qualifier: Any = None) -> str:
        """What a policy's Resource ``*`` stands for: ``value``, the resource's ARN, when
        known offline (a name, of a type with an ARN format, in ``location``: partition,
        region, account), with the ``qualifier`` (a version or alias) given; else a value
        that never decides a grant (unresolved)."""
        if qualifier is not None and isinstance(value, str):
            value = f"{value}:{qualifier}" if isinstance(qualifier, str) and qualifier \
                and not is_unresolved(qualifier) else None
        if isinstance(value, str) and value and not is_unresolved(value):
            if value.startswith("arn:"):
                return value
            if self.named is not None and self.arn is not None and (
                    matched := self.named.match(value)) is not None:
                fields = {k: v for k, v in matched.groupdict().items() if v is not None}
                return self.arn.format_map({**location, **fields})
        return unresolved(f"the {self.kind}'s Resource *")


@cache
def resource_policy_types(source: str = "cloudformation") -> Mapping[str, ResourcePolicyType]:
    """Resource type → where its resource-based policy is, for ``source``
    (``cloudformation`` or ``terraform``)."""
    raw = load("resource_policies.yaml")[source]
    return {kind: _policy_type(entry) for kind, entry in raw.items()}


def _policy_type(entry: Mapping[str, Any]) -> ResourcePolicyType:
    permission = entry.get("permission")
    return ResourcePolicyType(
        entry["kind"], tuple(entry.get("document", "").split(".")), entry.get("star"),
        bool(entry.get("single")),
        Permission(permission["action"], permission["principal"], tuple(
            (name, operator, key) for name, (operator, key) in permission["conditions"].items())
        ) if permission else None,
        entry.get("arn"), re.compile(entry["named"]) if "named" in entry else None,
        entry.get("qualifier"))


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
            values.extend(value if isinstance(value, list | tuple) else [value])
    return values if tested else None


def role_name_in(arn: Any, account: str) -> str | None:
    """The name of the role ``arn`` is the ARN of in ``account`` (None: not a role's ARN,
    or another account's role)."""
    matched = _ROLE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    return matched["name"] if matched and matched["account"] == account else None


def named_elsewhere(statement: Statement, roles: Collection[str], account: str
                    ) -> list[tuple[str, Statement]]:
    """The names of the roles of ``account``, not among ``roles``, that a parsed Allow
    statement names by ARN (its Principal, or, for anyone, an ``aws:PrincipalArn``
    condition of equality), each with the statement as it grants that role (its
    conditions on the organization taken as held: :func:`organization_assumed`; one for
    anyone has the role's ARN as its Principal). A role another file declares is matched
    by its name once every file is read."""
    if not statement.is_allow:
        return []
    statement = organization_assumed(statement)
    if not names_anyone(statement.principal):
        names = {name for arn in principal_roles(statement.principal)
                 if isinstance(arn, str) and arn not in roles
                 and (name := role_name_in(arn, account)) is not None}
        return [(name, statement) for name in sorted(names)]
    arns = {name: arn for arn in principal_arn_values(statement.conditions) or []
            if isinstance(arn, str) and arn not in roles
            and (name := role_name_in(arn, account)) is not None}
    statement = without_principal_arn(statement)
    return [(name, replace(statement, principal={"AWS": arns[name]})) for name in sorted(arns)]


def is_public(statement: Statement) -> bool:
    """Whether a parsed statement is an Allow for anyone with no condition on the
    principal (its ARN, account or organization): it names no role."""
    return (statement.is_allow and names_anyone(statement.principal)
            and not _on(statement.conditions, PRINCIPAL_KEYS | ORGANIZATION_KEYS))


def opens_to_anyone(statement: Statement) -> bool:
    """Whether a public statement (:func:`is_public`) may allow a role's own call: its
    conditions on the source of a service's call (``SOURCE_KEYS``), on an access point
    (``ACCESS_POINT_KEYS``) or on a service principal (``SERVICE_PRINCIPAL``) do not rule
    that out (as the keys are in a role's own call on the resource)."""
    on_source = _on(statement.conditions, SOURCE_KEYS | ACCESS_POINT_KEYS
                    | SERVICE_PRINCIPAL.keys())
    role_call = {key: value for key, value in SERVICE_PRINCIPAL.items() if value is not None}
    return evaluate_conditions(on_source, role_call, version=statement.version,
                               complete=True) is not False


def for_every_role(statement: Statement, account: str) -> Statement | None:
    """An Allow statement for anyone (its Principal ``*``) as it grants every role of
    ``account``: when its conditions on the principal test no ARN and hold for any
    principal of ``account``. Those on its organization are taken as held
    (:func:`organization_assumed`); those on its account (``aws:PrincipalAccount``) are
    decided for ``account``, and no longer held by the statement. None: it grants no
    role so (no condition on the principal, for anyone at all, names no role)."""
    on_principal = _on(statement.conditions, PRINCIPAL_KEYS | ORGANIZATION_KEYS)
    if not statement.is_allow or not on_principal or _on(on_principal, {PRINCIPAL_ARN}):
        return None
    statement = organization_assumed(statement)
    on_account = _on(statement.conditions, PRINCIPAL_KEYS)
    if not on_account:
        return statement
    if evaluate_conditions(on_account, {PRINCIPAL_ACCOUNT: account, CALLER_ACCOUNT: account},
                           version=statement.version) is not True:
        return None
    return replace(statement, conditions=_on(statement.conditions, PRINCIPAL_KEYS, keep=False))


def role_grants(statement: Statement, roles: Collection[str]) -> list[tuple[str, Statement]]:
    """The keys among ``roles`` that a parsed Allow statement names, each with the
    statement as it grants that role: named by its Principal's ARN, or, with a Principal
    of anyone, by conditions on the principal (``aws:PrincipalArn``,
    ``aws:PrincipalAccount``) that hold for the role's key (an ARN). Those conditions
    are decided for the role, so its statement no longer holds them; one decided by the
    role's ARN has it as its Principal, one decided by its account keeps anyone (the
    account's every principal). Conditions on the
    principal's organization (``aws:PrincipalOrgID``, ``aws:PrincipalOrgPaths``), which
    the scan cannot decide offline, are moved to the statement's ``assumed``
    (:func:`organization_assumed`); for anyone in an organization, the statement grants
    every role so. A Principal of anyone with no condition on the principal (a public
    policy) names no role."""
    if not statement.is_allow or is_public(statement):
        return []
    on_principal = _on(statement.conditions, PRINCIPAL_KEYS)
    statement = organization_assumed(statement)
    if names_anyone(statement.principal):
        if not on_principal:
            return [(key, statement) for key in sorted(roles) if key.startswith("arn:")]
        candidates = sorted(key for key in roles if key.startswith("arn:"))
    else:
        candidates = sorted({value for value in principal_roles(statement.principal)
                             if isinstance(value, str) and value in roles})
        if not on_principal:
            return [(key, statement) for key in candidates]
    decided = replace(statement, conditions=_on(statement.conditions, PRINCIPAL_KEYS,
                                                keep=False))
    by_arn = names_anyone(statement.principal) and bool(_on(on_principal, {PRINCIPAL_ARN}))
    return [(key, replace(decided, principal={"AWS": key}) if by_arn else decided)
            for key in candidates if evaluate_conditions(
                on_principal, principal_values(key), version=statement.version) is True]


def principal_values(arn: str) -> dict[str, object]:
    """The values of the condition keys on the principal (``PRINCIPAL_KEYS``) for a
    request by ``arn``, a role's or user's ARN."""
    account = "".join(arn.split(":")[4:5])
    return {PRINCIPAL_ARN: arn, PRINCIPAL_ACCOUNT: account, CALLER_ACCOUNT: account}


def organization_assumed(statement: Statement) -> Statement:
    """``statement`` with its conditions on the principal's organization taken as held
    (``assumed``): a same-account role belongs to its account's organization, which a
    resource policy of that account names, and a use that succeeded says they held."""
    held = _on(statement.conditions, ORGANIZATION_KEYS)
    if not held:
        return statement
    return replace(statement, assumed=held,
                   conditions=_on(statement.conditions, ORGANIZATION_KEYS, keep=False))


def without_principal_arn(statement: Statement) -> Statement:
    """``statement`` without its conditions on ``aws:PrincipalArn``."""
    return replace(statement, conditions=_on(statement.conditions, {PRINCIPAL_ARN}, keep=False))


def _on(conditions: Conditions, keys: Collection[str], *, keep: bool = True) -> Conditions:
    """The conditions on ``keys`` (lower case) of a condition block, or, with ``keep``
    false, the others."""
    return {operator: kept for operator, tested in conditions.items()
            if (kept := {k: v for k, v in tested.items() if (k.lower() in keys) is keep})}


def refuses(statement: Statement, role: str, bounded: bool = False) -> bool:
    """Whether a parsed statement is a Deny whose Principal takes in the role ``role``
    (its ARN): anyone, the role's account, or the role itself; or whose ``NotPrincipal``
    excepts none of its sessions for certain (:func:`excepts`; ``bounded``: the role has
    a permissions boundary)."""
    if statement.is_allow:
        return False
    if statement.not_principal is not None:
        return excepts(statement.not_principal, role, bounded) is False
    if names_anyone(statement.principal):
        return True
    account = "".join(role.split(":")[4:5])
    return any(value == role or names_account(value, account)
               for value in principal_roles(statement.principal))


def may_refuse(statement: Statement, role: str) -> bool:
    """Whether a parsed Deny may refuse the role ``role`` (its ARN): :func:`refuses` it,
    or its ``NotPrincipal`` excepts not everyone (decided when the role is judged, its
    boundary known)."""
    if statement.not_principal is not None:
        return not statement.is_allow and not names_anyone(statement.not_principal)
    return refuses(statement, role)


def excepts(not_principal: Any, role: str, bounded: bool = False) -> bool | None:
    """Whether a Deny's ``NotPrincipal`` excepts the sessions of the role ``role`` (its
    ARN), as IAM reads it: False when it certainly does not (it names no session of the
    role: the role's ARN alone excepts none; and always for a role with a permissions
    boundary, bounded), True when it names anyone, None when it names a session of the
    role, whose name decides."""
    if names_anyone(not_principal):
        return True
    if bounded:
        return False
    return None if names_session_of(not_principal, role) else False


def names_session_of(principal: Any, role: str) -> bool:
    """Whether a ``Principal`` (or ``NotPrincipal``) names a session of the role ``role``
    (its ARN): ``arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION``."""
    parts = role.split(":", 5)
    if len(parts) < 6:
        return False
    session = (f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/"
               f"{parts[5].rsplit('/', 1)[-1]}/")
    return any(str(item).startswith(session) for item in principal_roles(principal))


def names_account(value: Any, account: str) -> bool:
    """Whether a Principal's ``AWS`` value is ``account`` (its ID, or its root's ARN):
    in a Deny, every principal of the account."""
    return isinstance(value, str) and (value == account or (
        value.endswith(":root") and in_account(value, account)))


def in_account(arn: str, account: str) -> bool:
    """Whether ``arn`` names something of ``account`` (a role of the same name in another
    account is another role)."""
    return arn.split(":")[4:5] == [account]


def as_grant(statement: Statement, star: str, origin: Origin) -> Statement:
    """A parsed statement, as it grants a role (:func:`role_grants`), as a resource
    grant: a Resource ``*`` read as ``star``, declared at ``origin``. Its Principal says
    how it grants the role: anyone, once decided for the role's account, grants every
    principal of that account."""
    return replace(statement, origin=origin, resources=tuple(
        star if resource == "*" else resource for resource in statement.resources))


class ResourceGrants(NamedTuple):
    """Resource-based policy statements, per role they name; the resources every
    statement of the policies names, whichever principal it names; and the statements
    for anyone (public), which name no role."""

    by_key: dict[str, list[Statement]]  # the file's (module's) roles, by key
    by_name: list[tuple[str, Statement]]  # other roles of the account, by name
    resources: set[str]  # ARNs known offline
    public: list[Statement]

    @classmethod
    def empty(cls) -> ResourceGrants:
        return cls({}, [], set(), [])

    def onto(self, grants: GrantSet) -> GrantSet:
        """``grants``, one file's (module's), with what its resource policies declare:
        the statements naming its roles as their resource grants, the rest in its
        fields for every file's (:meth:`GrantSet.with_attached`)."""
        roles = {key: replace(role, resource_grants=(*role.resource_grants, *self.by_key[key]))
                 if key in self.by_key else role for key, role in grants.roles.items()}
        return replace(grants, roles=roles, granted_by_name=tuple(self.by_name),
                       policy_resources=frozenset(self.resources),
                       public_statements=tuple(self.public))

    def add_public(self, statement: Statement) -> None:
        """A statement for anyone, kept when it may allow a role's own call
        (:func:`opens_to_anyone`) and its resources are known offline: one whose Resource
        is not (a key's ``*`` before deployment) would seem to open every resource its
        actions name."""
        if opens_to_anyone(statement) and not any(
                is_unresolved(resource) for resource in statement.resources):
            self.public.append(statement)

    def add(self, statement: Statement, roles: Collection[str], account: str, star: str,
            origin: Origin) -> None:
        """What a parsed statement of a policy declared at ``origin`` grants: to the
        ``roles`` it names (by key), to the other roles of ``account`` it names by ARN
        (by name), or, for anyone in the account or its organization, to every role
        (EVERY_ROLE); for anyone at all (public), to none, kept in ``public``; a Deny for
        anyone, to every role too (why a call the role allows was refused); its
        Resource ``*`` read as ``star``. The resources it names, known
        offline, join ``resources`` whatever it grants."""
        if not statement.not_resources:
            self.resources.update(resource for r in statement.resources
                                  if known_arn(resource := star if r == "*" else r))
        if not statement.is_allow:  # why a call the role's own policies allow was refused
            named = [v for v in principal_roles(statement.principal) if isinstance(v, str)]
            denied = as_grant(statement, star, origin)
            if statement.not_principal is not None:  # each role is decided when judged
                if not names_anyone(statement.not_principal):
                    self.by_name.append((EVERY_ROLE, denied))
                return
            if names_anyone(statement.principal) or any(
                    names_account(value, account) for value in named):
                self.by_name.append((EVERY_ROLE, replace(denied, principal="*")))
                return
            for key in sorted({value for value in named if value in roles}):
                self.by_key.setdefault(key, []).append(denied)
            elsewhere = {name for name in (role_name_in(value, account) for value in named
                                           if value not in roles) if name is not None}
            self.by_name.extend((name, denied) for name in sorted(elsewhere))
            return
        if is_public(statement):
            self.add_public(as_grant(statement, star, origin))
            return
        if names_anyone(statement.principal) and (
                every := for_every_role(statement, account)) is not None:
            self.by_name.append((EVERY_ROLE, as_grant(every, star, origin)))
            return
        for key, granting in role_grants(statement, roles):
            self.by_key.setdefault(key, []).append(as_grant(granting, star, origin))
        self.by_name.extend((name, as_grant(granting, star, origin))
                            for name, granting in named_elsewhere(statement, roles, account))


def resource_grants(resources: Mapping[str, Any], resolver: TemplateResolver,
                    role_key: RoleKeyFn, file: str, notices: Notices) -> ResourceGrants:
    """The Allow statements of the template's resource-based policies, per key of the
    template role their Principal names (``role_key``), or per name of a role of the
    account they name by ARN; their resources resolved (values not known offline stay
    unresolved, and then never decide that the policy grants a use); and the resources
    every statement of those policies names, known offline. Entries of ``resources``
    that are no resource (not a mapping) name none."""
    types = resource_policy_types()
    granted = ResourceGrants.empty()
    for logical, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        kind = resource.get("Type")
        found = types.get(kind) if isinstance(kind, str) else None
        properties = resource.get("Properties")
        if found is None or not isinstance(properties, Mapping):
            continue
        line = line_of(resource)
        document = as_structure(found.document_of(properties, line))
        if not isinstance(document, Mapping):
            continue
        if found.single:
            document = {"Statement": [document]}
        star = _star(found, logical, properties)
        if found.arn is not None:  # a name: its ARN, resolved once
            with resolver.silenced():
                star = found.star_arn(_text(resolver, star, line), resolver.context.location())
        raw = document.get("Statement")
        statements = raw if isinstance(raw, list) else [raw]
        granted.resources.update(_named_resources(statements, star, resolver, line))
        for item in statements:
            if not isinstance(item, Mapping):
                continue
            at = line_of(item) or line
            origin = Origin(file=file, line=at, logical_id=logical, policy_name=found.kind)
            deny = item.get("Effect") != ALLOW
            if deny and "NotPrincipal" in item:  # each role is decided when judged
                excepted = _resolved_principal(resolver, item["NotPrincipal"], at)
                if excepted is not None and not names_anyone(item["NotPrincipal"]):
                    _add_deny(granted, document, item, star, resolver, origin,
                              not_principal=excepted)
                continue
            named = principal_roles(item.get("Principal"))
            if deny and (names_anyone(item.get("Principal"))
                         or _names_account(resolver, named, at)):
                # it may refuse any role: anyone's, or every principal of the account's
                _add_deny(granted, document, item, star, resolver, origin)
                continue
            by_condition = not deny and names_anyone(item.get("Principal"))
            if by_condition:  # anyone whose ARN the condition names
                named = principal_arn_values(item.get("Condition")) or []
                if not named:  # anyone in the account or its organization, or public
                    _add_anyone(granted, document, item, star, resolver, origin, notices)
                    continue
            keys: set[str] = set()
            names: set[str] = set()
            for value in named:
                key = role_key(value, at)
                if key is not None:
                    keys.add(key)
                elif (name := _role_name(resolver, value, at)) is not None:
                    names.add(name)
            if not keys and not names:
                continue
            statement = _statement(document, item, star, resolver, origin,
                                   Notices() if deny else notices)
            if statement is None:
                continue
            if not deny:  # a Deny's conditions on the organization are not taken as held
                statement = organization_assumed(statement)
            if by_condition:
                statement = without_principal_arn(statement)
            for key in sorted(keys):
                granted.by_key.setdefault(key, []).append(statement)
            granted.by_name.extend((name, statement) for name in sorted(names))
    return granted


def _add_deny(granted: ResourceGrants, document: Mapping[str, Any], item: Mapping[str, Any],
              star: Any, resolver: TemplateResolver, origin: Origin,
              not_principal: Any = None) -> None:
    """A template's Deny statement for anyone (or every principal of the account), or
    for everyone but its ``not_principal`` (resolved), kept for every role: why a call
    the role's own policies allow was refused (one that does not parse is not worth a
    warning)."""
    statement = _statement(document, item, star, resolver, origin, Notices())
    if statement is not None and statement.effect == DENY:
        granted.by_name.append((EVERY_ROLE, replace(
            statement, principal="*" if not_principal is None else None,
            not_principal=not_principal)))


def _resolved_principal(resolver: TemplateResolver, principal: Any, line: int | None
                        ) -> dict[str, list[str]] | None:
    """A template's ``NotPrincipal`` with its ``AWS`` values resolved as text; None when
    one is not known offline (a role without a name): whom it excepts is not known."""
    with resolver.silenced():
        texts = [_text(resolver, value, line) for value in principal_roles(principal)]
    known = [text for text in texts if text is not None and UNRESOLVED_PREFIX not in text]
    return {"AWS": known} if len(known) == len(texts) else None


def _add_anyone(granted: ResourceGrants, document: Mapping[str, Any],
                item: Mapping[str, Any], star: Any, resolver: TemplateResolver,
                origin: Origin, notices: Notices) -> None:
    """A template's Allow statement for anyone whose Condition names no role by ARN: as it
    grants every role of the template's account (:func:`for_every_role`), if it does; with
    no condition on the principal, as public (``granted.public``: it names no role, and
    one that does not parse is not worth a warning)."""
    condition = item.get("Condition")
    on_principal = isinstance(condition, Mapping) and any(
        str(key).lower() in PRINCIPAL_KEYS | ORGANIZATION_KEYS
        for tested in condition.values() if isinstance(tested, Mapping) for key in tested)
    statement = _statement(document, item, star, resolver, origin,
                           notices if on_principal else Notices())
    if statement is None:
        return
    statement = replace(statement, principal="*")  # read without it, as a policy's
    if not on_principal:
        granted.add_public(statement)
    elif (every := for_every_role(statement, resolver.context.account)) is not None:
        granted.by_name.append((EVERY_ROLE, every))


def known_arn(value: str) -> bool:
    """Whether ``value`` is an ARN with nothing in it unknown offline."""
    return value.startswith("arn:") and UNRESOLVED_PREFIX not in value


def _named_resources(statements: list[Any], star: Any, resolver: TemplateResolver,
                     line: int | None) -> set[str]:
    """The ARNs known offline of the resources ``statements`` name (their Resource
    ``*`` as ``star``), whatever their effect and principal."""
    found: set[str] = set()
    with resolver.silenced():
        for item in statements:
            raw = item.get("Resource") if isinstance(item, Mapping) else None
            for value in raw if isinstance(raw, list) else [raw]:
                text = _text(resolver, star if value == "*" else value, line_of(item) or line)
                if text is not None and known_arn(text):
                    found.add(text)
    return found


def _text(resolver: TemplateResolver, value: Any, line: int | None) -> str | None:
    """``value`` resolved as text (None: not text, or a hostile value, which names
    nothing the scan can use)."""
    try:
        return resolver.text(value, line)
    except UserError:
        return None


def _names_account(resolver: TemplateResolver, values: list[Any], line: int | None) -> bool:
    """Whether a Principal's ``AWS`` values name the stack's account (:func:`names_account`)."""
    with resolver.silenced():
        return any(names_account(_text(resolver, value, line), resolver.context.account)
                   for value in values)


def _role_name(resolver: TemplateResolver, value: Any, line: int | None) -> str | None:
    """The name of the role of the stack's account ``value`` is the ARN of, if any."""
    with resolver.silenced():
        text = resolver.text(value, line)
    return role_name_in(text, resolver.context.account)


def _star(found: ResourcePolicyType, logical: str, properties: Mapping[str, Any]) -> Any:
    """What the policy's Resource ``*`` stands for, as the template writes it."""
    if found.star == SELF:
        return {"Fn::GetAtt": [logical, "Arn"]}
    if found.star is not None and found.star in properties:
        return properties[found.star]
    return found.star_arn(None, {})


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
