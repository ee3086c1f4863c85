"""CloudFormation templates (JSON or YAML, including CDK's ``cdk.out/*.template.json``).

Roles come from ``AWS::IAM::Role`` (``Policies``, ``ManagedPolicyArns``,
``PermissionsBoundary``) and the policies attached to them by reference
(``AWS::IAM::Policy``, ``AWS::IAM::ManagedPolicy``, ``AWS::IAM::RolePolicy``). Functions
(``AWS::Lambda::Function``), ECS task definitions, state machines and instance profiles
become bindings (``data/compute_roles.yaml``); an instance profile's is named also by the
EC2 instances and launch templates running as it.
A role's key is its ARN when ``RoleName`` is known, else its logical ID.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from leastpriv_ci.collector import paused_gc
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.branches import Branches, Held, with_key
from leastpriv_ci.grants.cfn_yaml import key_line, loads_cfn_yaml
from leastpriv_ci.grants.compute import (
    INSTANCE_PROFILE,
    cloudformation_profile_users,
    cloudformation_types,
    launch_users,
    profile_name_of,
)
from leastpriv_ci.grants.deliveries import function_name_of
from leastpriv_ci.grants.foreach import expand_loops
from leastpriv_ci.grants.intrinsics import NO_VALUE, TemplateResolver, is_intrinsic
from leastpriv_ci.grants.managed import managed_policy, placeholder
from leastpriv_ci.grants.model import Binding, Delivery, GrantSet, ResolveContext
from leastpriv_ci.grants.policy_text import as_structure, resolved_text
from leastpriv_ci.grants.references import reference_of
from leastpriv_ci.grants.resource_policies import in_account, resource_grants
from leastpriv_ci.grants.sources import sniff
from leastpriv_ci.grants.undecided import under
from leastpriv_ci.loaders import (
    LoadError,
    LocatedDict,
    line_of,
    loads_json,
    read_text,
    value_at,
)
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Policy, Role, is_unresolved, unresolved
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

NAME = "cloudformation"
PRIORITY = 20
SUFFIXES = (".json", ".yaml", ".yml", ".template")
_YAML_TOP = re.compile(r"(?m)^(AWSTemplateFormatVersion|Resources)\s*:")
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
_WHOLE_SUB = re.compile(r"\$\{([^}.!]+)(?:\.Arn)?\}")
# A role's ARN as written out: arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
_ROLE_ARN = re.compile(r"arn:[^:]+:iam::[^:]*:role/(?:[^:]*/)?(?P<name>[^/:]+)")
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
# Stands for a template role's name (its Ref) while the ARN built around it resolves
_NAME_MARK = "\x00role-name\x00"



def detect(path: Path) -> bool:
    """A JSON/YAML file with top-level ``Resources`` of ``AWS::`` types (and not SAM)."""
    if path.suffix.lower() not in SUFFIXES:
        return False
    text = sniff(path)
    if SAM_TRANSFORM in text or "AWS::" not in text:
        return False
    if text.lstrip().startswith("{"):
        return '"AWSTemplateFormatVersion"' in text or '"Resources"' in text
    return bool(_YAML_TOP.search(text))


def load_template(path: Path) -> Any:
    """Parse a template file; a syntax error is a :class:`UserError` with file and line."""
    try:
        text = read_text(path)
        if text.lstrip().startswith("{"):
            return loads_json(text)
        return loads_cfn_yaml(text)
    except LoadError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise UserError(f"cannot parse template: {exc}; fix the syntax", where=where) from None


def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    """Roles and bindings declared in one CloudFormation template."""
    with paused_gc():  # a large template is hundreds of thousands of live containers
        template = load_template(path)
        if not isinstance(template, Mapping) or not isinstance(template.get("Resources"),
                                                               Mapping):
            return GrantSet()
        template = expand_loops(template, context, notices, str(path))
        check_resource_types(template["Resources"], str(path))
        return grants_from_template(template, str(path), context, notices)


def check_resource_types(resources: Mapping[str, Any], file: str) -> None:
    """A resource whose ``Type`` is not text is an error naming it (CloudFormation
    refuses such a template; the tool would otherwise guess)."""
    for logical, resource in resources.items():
        if isinstance(resource, Mapping) and not isinstance(resource.get("Type"), str):
            line = line_of(resource)
            raise UserError(
                f"resource {logical!r}: Type must be a resource type name such as "
                "AWS::IAM::Role", where=f"{file}:{line}" if line else file)


@dataclass
class _Builder:
    """Collects the roles of one template while its resources are walked."""

    file: str
    resolver: TemplateResolver
    notices: Notices
    context: ResolveContext
    roles: dict[str, Role] = field(default_factory=dict)
    role_keys: dict[str, str] = field(default_factory=dict)  # logical ID → role key
    managed: dict[str, Policy] = field(default_factory=dict)  # logical ID → template policy
    managed_arns: dict[str, Policy] = field(default_factory=dict)  # its ARN, when known
    branches: Branches = field(init=False)
    # Policies attached by name to a role the template does not declare
    attached: list[tuple[str, Policy]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.branches = Branches(self.resolver, self.notices, self.file)


def grants_from_template(
    template: Mapping[str, Any],
    file: str,
    context: ResolveContext,
    notices: Notices,
) -> GrantSet:
    """The roles and bindings of a loaded (and, for SAM, translated) template."""
    resolver = TemplateResolver(template, context, notices, file)
    builder = _Builder(file, resolver, notices, context)
    resources = {
        logical: resource
        for logical, resource in template["Resources"].items()
        if isinstance(resource, Mapping) and resolver.resource_included(logical) is not False
    }
    for logical, resource in resources.items():
        if resource.get("Type") == "AWS::IAM::ManagedPolicy":
            policy = _template_policy(builder, logical, resource, "ManagedPolicyName")
            builder.managed[logical] = policy
            if policy.origin.policy_arn:
                builder.managed_arns[policy.origin.policy_arn] = policy
    for logical, resource in resources.items():
        if resource.get("Type") == "AWS::IAM::Role":
            _add_role(builder, logical, resource)
    for logical, resource in resources.items():
        kind = resource.get("Type")
        if kind == "AWS::IAM::Policy":
            policy = _template_policy(builder, logical, resource, "PolicyName")
            _attach(builder, policy, _properties(resource).get("Roles"), resource)
        elif kind == "AWS::IAM::ManagedPolicy":
            _attach(builder, builder.managed[logical], _properties(resource).get("Roles"),
                    resource)
        elif kind == "AWS::IAM::RolePolicy":
            policy = _template_policy(builder, logical, resource, "PolicyName")
            _attach(builder, policy, [_properties(resource).get("RoleName")], resource)
    bindings = _with_destinations(builder, resources, _with_profile_users(builder, resources, [
        binding
        for logical, resource in resources.items()
        if (binding := _binding(builder, logical, resource)) is not None
    ]))
    service_roles = _service_roles(builder, resources)
    policies = resource_grants(
        resources, resolver, lambda value, line: _principal_role(builder, value, line),
        file, notices)
    imports = frozenset(resolver.imports)  # what the roles and bindings asked for
    exports = _exports(template, builder)
    return policies.onto(GrantSet(
        roles=builder.roles, bindings=bindings, files=(file,),
        attached=tuple(builder.attached), exports=exports.values, imports=imports,
        role_exports=exports.roles, service_roles=service_roles,
        unknown_exports=exports.unknown))


@dataclass(frozen=True)
class _Exports:
    """What a template's ``Outputs`` export, by export name, for another template's
    ``Fn::ImportValue``: the values that resolve offline; the template's roles (a ``Ref``
    or ``Fn::GetAtt`` Arn of one) by their key, as CDK's cross-stack references export a
    role whose name CloudFormation generates; and why the other values do not resolve."""

    values: dict[str, str]
    roles: dict[str, str]
    unknown: dict[str, str]


def _exports(template: Mapping[str, Any], builder: _Builder) -> _Exports:
    found = _Exports({}, {}, {})
    resolver = builder.resolver
    for name, node, line in resolver.exported(template.get("Outputs")):
        if (key := _template_role(builder, node)) is not None:
            found.roles[name] = key
        with resolver.silenced() as unsaid:
            value = resolver.text(node, line)
        if value is not None:
            found.values[name] = value
        else:
            said = [example for notice in unsaid.items() for example in notice.examples]
            found.unknown[name] = (f"it is not known offline ({said[0]})" if said
                                   else "it is not known offline")
    return found


def _properties(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = resource.get("Properties")
    return properties if isinstance(properties, Mapping) else LocatedDict()


def _property_at(resource: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The resource's property at ``path`` (a property inside one), None when absent."""
    return value_at(_properties(resource), path)


def _add_role(builder: _Builder, logical: str, resource: Mapping[str, Any]) -> None:
    props = _properties(resource)
    line = line_of(resource)
    resolver = builder.resolver
    name = resolver.text(props["RoleName"], line) if "RoleName" in props else None
    key = logical
    if name is not None:
        path = resolver.text(props.get("Path", "/"), line) or "/"
        key = f"arn:{builder.context.partition}:iam::{builder.context.account}:role{path}{name}"
    origin = Origin(file=builder.file, line=line, logical_id=logical)
    policies: list[Policy] = []
    for entry, conditions in builder.branches.policies(props.get("Policies", []), line,
                                                       f"{logical} Policies"):
        if not isinstance(entry, Mapping) or is_intrinsic(entry):
            entry = resolver.resolve(entry, line)  # else its document is parsed as written
        policy = _inline_policy(builder, entry, origin)
        policies.append(under(policy, conditions))
    raw_managed = props.get("ManagedPolicyArns", [])
    for i, entry in enumerate(raw_managed if isinstance(raw_managed, list) else [raw_managed]):
        entry_line = key_line(props, "ManagedPolicyArns", i) or line
        policies.extend(_managed_reference(builder, entry, origin, entry_line))
    boundary = None
    if "PermissionsBoundary" in props:
        found = _managed_reference(builder, props["PermissionsBoundary"], origin,
                                   key_line(props, "PermissionsBoundary") or line)
        if len(found) > 1:  # the branches of an undecided Fn::If, each under its value
            boundary = replace(found[0], name=" | ".join(p.name for p in found),
                               statements=tuple(s for p in found for s in p.statements))
        elif found:
            boundary = found[0]
    builder.role_keys[logical] = key
    builder.roles[key] = Role(key=key, name=name, policies=tuple(policies), boundary=boundary,
                              origin=origin)


def _items(value: Any) -> list[Any]:
    """A resolved property as a list: ``AWS::NoValue`` is no item (not an unknown one)."""
    if value is NO_VALUE:
        return []
    return value if isinstance(value, list) else [value]


def _inline_policy(builder: _Builder, entry: Any, role_origin: Origin) -> Policy:
    line = line_of(entry) or role_origin.line
    if not isinstance(entry, Mapping):
        label = entry if isinstance(entry, str) else "policy"
        return placeholder(str(label), replace(role_origin, line=line))
    name = builder.resolver.resolve(entry.get("PolicyName"), line)
    name = name if isinstance(name, str) and not is_unresolved(name) else f"policy@{line}"
    origin = replace(role_origin, line=line, policy_name=name)
    return _parse(builder, entry.get("PolicyDocument"), name, origin)


def _managed_reference(
    builder: _Builder, entry: Any, role_origin: Origin, line: int | None
) -> list[Policy]:
    line = line_of(entry) or line
    policies = []
    for chosen, conditions in builder.branches.policies(
            entry, line, f"{role_origin.logical_id} managed policy", expand=False):
        template = _template_managed(builder, chosen)
        if template is not None:
            policies.append(under(template, conditions))
            continue
        for item in _items(builder.resolver.resolve(chosen, line)):
            policy = _managed_by_arn(builder, item, replace(role_origin, line=line))
            policies.append(under(policy, conditions))
    return policies


def _template_managed(builder: _Builder, node: Any) -> Policy | None:
    """The template's managed policy a ``Ref``/``Fn::GetAtt X.PolicyArn`` names."""
    if not isinstance(node, Mapping) or len(node) != 1:
        return None
    named = reference_of(node)
    if named is None or named.attribute not in (None, "PolicyArn"):
        return None
    return builder.managed.get(named.logical)


def _managed_by_arn(builder: _Builder, item: Any, origin: Origin) -> Policy:
    if not isinstance(item, str) or is_unresolved(item):
        shown = item if isinstance(item, str) else unresolved("managed policy ARN")
        return placeholder(shown, origin)
    if item in builder.managed_arns:  # written out, the ARN of a policy in this template
        return builder.managed_arns[item]
    return managed_policy(item, origin, builder.notices)


def _template_policy(
    builder: _Builder, logical: str, resource: Mapping[str, Any], name_key: str
) -> Policy:
    props = _properties(resource)
    line = line_of(resource)
    name = builder.resolver.text(props[name_key], line) if name_key in props else None
    name = name or logical
    origin = Origin(file=builder.file, line=line, logical_id=logical, policy_name=name)
    if name_key == "ManagedPolicyName":
        with builder.resolver.silenced():  # its ARN only names it: a generated name is fine
            arn = builder.resolver.ref(logical, line)
        if isinstance(arn, str) and not is_unresolved(arn):
            origin = replace(origin, policy_arn=arn)
    return _parse(builder, props.get("PolicyDocument"), name, origin)


def _parse(builder: _Builder, raw: Any, name: str, origin: Origin) -> Policy:
    """A policy document (a mapping, or JSON text); statements behind an undecided
    ``Fn::If`` hold under its value."""
    raw = as_structure(raw)
    if not isinstance(raw, Mapping) or not builder.branches.splits(raw.get("Statement")):
        return _parse_document(builder, raw, name, origin)  # the usual case, at once
    subject = f"{origin.logical_id} {name} Statement"
    parts = [split for statement, conditions in builder.branches.policies(
                raw["Statement"], line_of(raw) or origin.line, subject, expand=False)
             for split in builder.branches.statement(statement, conditions, subject)]
    if not any(conditions for _, conditions in parts):
        return _parse_document(builder, raw, name, origin)
    policy = _parse_document(builder, _with_statements(raw, [s for s, c in parts if not c]),
                             name, origin)
    held = [statement for item, conditions in parts if conditions
            for statement in under(_parse_document(
                builder, _with_statements(raw, [item]), name, origin), conditions).statements]
    return replace(policy, statements=(*policy.statements, *held))


def _with_statements(document: Mapping[str, Any], statements: list[Any]) -> LocatedDict:
    return with_key(document, "Statement", statements)


def _parse_document(builder: _Builder, raw: Any, name: str, origin: Origin) -> Policy:
    document = resolved_text(builder.resolver.resolve(raw, origin.line))
    if isinstance(document, str) and is_unresolved(document):
        return placeholder(document, origin)
    if isinstance(document, str):
        raise UserError(f"policy {name!r} is text that does not parse as JSON; write the "
                        "PolicyDocument as JSON (or as a mapping)",
                        where=f"{origin.file}:{origin.line}")
    if isinstance(document, Mapping) and isinstance(document.get("Statement"), list):
        # A statement behind an undecidable Fn::If stays, as an unresolved statement.
        statements = [
            _unresolved_statement(item, origin) if isinstance(item, str) and is_unresolved(item)
            else item
            for item in document["Statement"]
        ]
        patched = LocatedDict(document)
        patched.line = line_of(document)
        patched["Statement"] = statements
        document = patched
    return parse_policy(document, name=name, origin=origin, notices=builder.notices)


def _unresolved_statement(marker: str, origin: Origin) -> LocatedDict:
    statement = LocatedDict(Effect="Allow", Action=marker, Resource=marker)
    statement.line = origin.line
    return statement


def _attach(builder: _Builder, policy: Policy, targets: Any, resource: Mapping[str, Any]) -> None:
    line = line_of(resource)
    for target, conditions in _attach_targets(builder, policy, targets, line):
        key = _template_role(builder, target)
        if key is None:
            name = builder.resolver.text(target, line)
            key = _role_key_by_name(builder, name) if name else unresolved(f"role {target!r}")
        role = builder.roles.get(key)
        if role is None and not is_unresolved(key):
            # Another file's role (or the account's): it gets the policy once every file
            # is read (GrantSet.with_attached), rather than a role of this one policy
            # standing for it
            builder.attached.append((key.rsplit("/", 1)[-1], under(policy, conditions)))
            continue
        if role is None:
            role = Role(key=key, name=None, policies=(), origin=policy.origin)
        attached = under(policy, conditions)
        if attached in role.policies:
            continue  # the role's ManagedPolicyArns names it as well: attached once
        policies = (*role.policies, attached)
        builder.roles[key] = Role(role.key, role.name, policies, role.boundary, role.origin,
                                  role.source)


def _attach_targets(builder: _Builder, policy: Policy, targets: Any,
                    line: int | None) -> list[tuple[Any, Held]]:
    """The role names a policy's ``Roles`` lists (see :meth:`Branches.of`)."""
    return builder.branches.of(
        targets, line, "attachment-undecided",
        "a policy is attached to a role only under a template condition that cannot be "
        "decided offline; its statements count as conditional there (set the parameters the "
        "condition depends on)", f"{policy.origin.logical_id} Roles")


def _template_role(builder: _Builder, node: Any) -> str | None:
    """The key of the template role a ``Ref``/``Fn::GetAtt``, or a ``Fn::Sub`` that is
    only ``${Role.Arn}`` or ``${Role}``, names (``None``: no such)."""
    if not isinstance(node, Mapping) or len(node) != 1:
        return None
    named = reference_of(node)
    target = named.logical if named is not None else _sub_target(node.get("Fn::Sub"))
    key = builder.role_keys.get(target) if target is not None else None
    return key if key is not None else _role_arn_built(builder, node)


def _role_arn_built(builder: _Builder, node: Mapping[str, Any]) -> str | None:
    """The key of the template role whose ARN a ``Fn::Sub`` or ``Fn::Join`` builds around
    its ``Ref`` (its name): ``arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Role}``,
    as ``Fn::GetAtt Role.Arn`` gives it (``None``: it builds no such ARN)."""
    marked: list[str] = []
    if "Fn::Sub" in node:
        argument = node["Fn::Sub"]
        text, variables = (argument if isinstance(argument, list) and len(argument) == 2
                           else (argument, {}))
        if not isinstance(text, str) or not isinstance(variables, Mapping):
            return None

        def mark(match: re.Match[str]) -> str:
            if match.group(1) in builder.role_keys and match.group(1) not in variables:
                marked.append(match.group(1))
                return _NAME_MARK
            return match.group(0)

        written: Any = {"Fn::Sub": [_SUB_VARIABLE.sub(mark, text), variables]}
    elif "Fn::Join" in node:
        argument = node["Fn::Join"]
        if not isinstance(argument, list) or len(argument) != 2 \
                or not isinstance(argument[1], list):
            return None
        parts = []
        for part in argument[1]:
            named = reference_of(part) if isinstance(part, Mapping) and len(part) == 1 else None
            if named is not None and named.attribute is None and named.logical in builder.role_keys:
                marked.append(named.logical)
                part = _NAME_MARK
            parts.append(part)
        written = {"Fn::Join": [argument[0], parts]}
    else:
        return None
    if len(marked) != 1:
        return None
    with builder.resolver.silenced():
        arn = builder.resolver.text(written, line_of(node))
    match = _ROLE_ARN.fullmatch(arn) if arn is not None else None
    return builder.role_keys[marked[0]] if match and match["name"] == _NAME_MARK else None


def _role_named_in(builder: _Builder, arn: str) -> str | None:
    """The key of the template role whose ``RoleName`` ends an ARN written out (a Lambda
    function's or an ECS task's role is in the stack's own account, whatever the ARN's
    account placeholder says)."""
    match = _ROLE_ARN.fullmatch(arn)
    if match is None or arn in builder.roles:
        return None
    found = [key for key, role in builder.roles.items() if role.name == match["name"]]
    return found[0] if len(found) == 1 else None


def _sub_target(argument: Any) -> str | None:
    """The resource a ``Fn::Sub`` of exactly ``${X}``/``${X.Arn}`` refers to."""
    variables: Any = {}
    if isinstance(argument, list) and len(argument) == 2:
        argument, variables = argument
    match = _WHOLE_SUB.fullmatch(argument) if isinstance(argument, str) else None
    if match is None or not isinstance(variables, Mapping) or match.group(1) in variables:
        return None
    return match.group(1)


def _principal_role(builder: _Builder, node: Any, line: int | None) -> str | None:
    """The key of the template role a resource-based policy's Principal names: by
    ``Ref``/``Fn::GetAtt``/``Fn::Sub`` (:func:`_template_role`), or by its ARN in the
    stack's account (another account's role of the same name is not it)."""
    key = _template_role(builder, node)
    if key is None:
        with builder.resolver.silenced():
            arn = builder.resolver.text(node, line)
        if (arn is not None and _ROLE_ARN.fullmatch(arn)
                and in_account(arn, builder.context.account)):
            key = _role_named_in(builder, arn) or arn
    return key if key in builder.roles else None


def _imported_role(builder: _Builder, node: Any, line: int | None) -> str | None:
    """The key of the role another scanned template exports, when ``node`` imports it."""
    if not isinstance(node, Mapping) or len(node) != 1 or "Fn::ImportValue" not in node:
        return None
    with builder.resolver.silenced():
        name = builder.resolver.text(node["Fn::ImportValue"], line)
    if name is None or name in builder.context.parameters:  # a parameter still wins
        return None
    return builder.context.role_exports.get(name)


def _role_key_by_name(builder: _Builder, name: str) -> str:
    for key, role in builder.roles.items():
        if role.name == name:
            return key
    context = builder.context
    return f"arn:{context.partition}:iam::{context.account}:role/{name}"


def _binding(builder: _Builder, logical: str, resource: Mapping[str, Any]) -> Binding | None:
    kind = resource.get("Type")
    compute = cloudformation_types().get(str(kind))
    if compute is None:
        return None
    props = _properties(resource)
    if compute.role not in props:
        return None
    line = line_of(resource)
    # a decided Fn::If leaving it out (AWS::NoValue) is no role, as when not written
    raw = builder.resolver.choose(props[compute.role], line)
    if raw is NO_VALUE:
        return None
    if isinstance(raw, list):  # an instance profile's Roles: one role at most
        if not raw:
            return None
        raw = raw[0]
    role_key = _role_key_of(builder, raw, line)
    names = [
        name
        for prop in compute.names
        if prop in props and (name := builder.resolver.text(props[prop], line))
    ]
    dead_letter = props.get("DeadLetterConfig")
    target = builder.resolver.text(dead_letter.get("TargetArn"), line) \
        if kind == "AWS::Lambda::Function" and isinstance(dead_letter, Mapping) else None
    return Binding(
        function=logical,
        role=role_key,
        names=tuple(dict.fromkeys([*names, logical])),
        origin=Origin(file=builder.file, line=line, logical_id=logical),
        deliveries=(Delivery("dead-letter", target),) if target else (),
        kind=compute.kind,
    )


def _service_roles(builder: _Builder, resources: Mapping[str, Any]) -> frozenset[str]:
    """The template's roles its resources hand to an AWS service for its own use (an ECS
    task definition's ``ExecutionRoleArn``), named as a binding's role may be."""
    found = set()
    for resource in resources.values():
        compute = cloudformation_types().get(str(resource.get("Type")))
        props = _properties(resource)
        if compute is not None and compute.service_role is not None \
                and props.get(compute.service_role) is not None:
            with builder.resolver.silenced():  # no traced code runs as it: no concern
                key = _role_key_of(builder, props[compute.service_role], line_of(resource))
            if not is_unresolved(key):
                found.add(key)
    return frozenset(found)


def _with_profile_users(builder: _Builder, resources: Mapping[str, Any],
                        bindings: list[Binding]) -> list[Binding]:
    """``bindings``, each instance profile's named also by the EC2 instances and launch
    templates of the template that run as it (by ``Ref``/``GetAtt`` of the profile, or
    its name or ARN written out)."""
    profiles = {b.function: b for b in bindings if b.kind == INSTANCE_PROFILE}
    if not profiles:
        return bindings
    users: dict[str, list[str]] = {}
    for logical, resource in resources.items():
        user = cloudformation_profile_users().get(str(resource.get("Type")))
        node = _property_at(resource, user.profile) if user is not None else None
        if isinstance(node, Mapping) and not is_intrinsic(node):  # a launch template's
            node = node.get("Arn", node.get("Name"))
        profile = _profile_named(builder, profiles, node, line_of(resource))
        if profile is not None:
            users.setdefault(profile, []).append(logical)
    _with_launch_users(resources, users)
    return [replace(b, names=tuple(dict.fromkeys((*b.names, *users[b.function]))))
            if b.function in users else b for b in bindings]


def _with_launch_users(resources: Mapping[str, Any], users: dict[str, list[str]]) -> None:
    """Add to ``users`` (profile → what runs as it) the Auto Scaling groups that run a
    launch template's or configuration's instances, naming it by ``Ref``/``Fn::GetAtt``."""
    launched = {user: profile for profile, found in users.items() for user in found}
    for logical, resource in resources.items():
        group = launch_users("cloudformation").get(str(resource.get("Type")))
        for path in group.launch if group is not None else ():
            node = _property_at(resource, path)
            named = reference_of(node) if isinstance(node, Mapping) else None
            if named is not None and named.logical in launched:
                users[launched[named.logical]].append(logical)
                break


def _profile_named(builder: _Builder, profiles: Mapping[str, Binding], node: Any,
                   line: int | None) -> str | None:
    """The logical ID of the template's instance profile ``node`` names, if it names one."""
    if node is None:
        return None
    named = reference_of(node) if isinstance(node, Mapping) and len(node) == 1 else None
    if named is not None and named.logical in builder.resolver.template["Resources"]:
        return named.logical if named.logical in profiles else None
    with builder.resolver.silenced():
        text = builder.resolver.text(node, line)
    name = profile_name_of(text) if text else ""
    found = [logical for logical, b in profiles.items() if name and name in b.names]
    return found[0] if len(found) == 1 else None


# What each resource type's DestinationConfig holds: (delivery kind, key)
_DESTINATIONS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "AWS::Lambda::EventInvokeConfig": (("on-failure", "OnFailure"), ("on-success", "OnSuccess")),
    "AWS::Lambda::EventSourceMapping": (("source-on-failure", "OnFailure"),),
}


def _with_destinations(builder: _Builder, resources: Mapping[str, Any],
                       bindings: list[Binding]) -> tuple[Binding, ...]:
    """``bindings``, each function's with the destinations an
    ``AWS::Lambda::EventInvokeConfig`` or ``AWS::Lambda::EventSourceMapping`` of it
    names (by ``Ref``, name or ARN, maybe with a version or alias)."""
    found: dict[str, list[Delivery]] = {}
    for resource in resources.values():
        kinds = _DESTINATIONS.get(str(resource.get("Type")))
        if kinds is None:
            continue
        props, line = _properties(resource), line_of(resource)
        name = _function_named(builder, resources, props.get("FunctionName"), line)
        config = props.get("DestinationConfig")
        for kind, key in kinds:
            target = config.get(key) if isinstance(config, Mapping) else None
            arn = builder.resolver.text(target.get("Destination"), line) \
                if isinstance(target, Mapping) else None
            if name and arn:
                found.setdefault(function_name_of(name), []).append(Delivery(kind, arn))
    if not found:
        return tuple(bindings)
    return tuple(replace(b, deliveries=(*b.deliveries, *(
        d for name in dict.fromkeys((b.function, *b.names)) for d in found.get(name, ()))))
        for b in bindings)


_QUALIFIED = ("AWS::Lambda::Alias", "AWS::Lambda::Version")


def _function_named(builder: _Builder, resources: Mapping[str, Any], function: Any,
                    line: int | None) -> str | None:
    """The function a ``FunctionName`` names: the logical ID it refers to, through an
    alias or version of the template (SAM's ``AutoPublishAlias`` points event source
    mappings at the alias), else its resolved name or ARN."""
    for _ in range(len(_QUALIFIED) + 1):  # an alias may name a version of the function
        ref = function.get("Ref") if isinstance(function, Mapping) else None
        if not isinstance(ref, str) or ref not in resources:
            break
        target = resources[ref]
        if not isinstance(target, Mapping) or target.get("Type") not in _QUALIFIED:
            return ref
        function = _properties(target).get("FunctionName")
    return builder.resolver.text(function, line)


def _role_key_of(builder: _Builder, raw: Any, line: int | None) -> str:
    """The key of the role a ``Role``/``TaskRoleArn`` value names (through a decided
    ``Fn::If``, as SAM writes a function's ``Role`` when it may create the role)."""
    chosen = builder.resolver.choose(raw, line)
    key = _template_role(builder, chosen) or _imported_role(builder, chosen, line)
    if key is not None:
        return key
    value = builder.resolver.resolve(chosen, line)
    if isinstance(value, str) and value and not value.startswith("arn:") \
            and not is_unresolved(value):
        return _role_key_by_name(builder, value)  # an instance profile's Roles: names
    if isinstance(value, str) and value:
        return _role_named_in(builder, value) or value
    return unresolved(f"role {raw!r}")

