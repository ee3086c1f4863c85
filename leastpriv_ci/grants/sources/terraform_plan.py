"""Terraform plans as JSON (``terraform show -json plan.tfplan``): planned IAM roles, their
policies, and the compute resources running as them (``data/compute_roles.yaml``).

Reads ``planned_values`` (root and child modules) for the resource types the ``.tf``
source reads. A value unknown at plan time (a policy built from an ARN that does not exist
yet, a role ARN for a new role) is looked up through ``configuration``: its expression's
``references`` link it to another planned resource (``aws_iam_policy.x.arn``,
``aws_iam_role.x.arn``, ``data.aws_iam_policy_document.x.json``); what still has no value
stays *unresolved*. Plans carry no line numbers: origins name the resource address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.compute import (
    INSTANCE_PROFILE,
    ComputeType,
    launch_users,
    profile_name_of,
    terraform_profile_users,
    terraform_types,
)
from leastpriv_ci.grants.managed import managed_policy
from leastpriv_ci.grants.model import Binding, GrantSet, ResolveContext
from leastpriv_ci.grants.references import role_arn
from leastpriv_ci.grants.resource_policies import (
    SELF,
    ResourceGrants,
    resource_policy_types,
)
from leastpriv_ci.grants.sources import sniff
from leastpriv_ci.loaders import LoadError, list_of, loads_json, mapping_of, read_text
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import Policy, Role, unresolved
from leastpriv_ci.policy.parse import parse_statement
from leastpriv_ci.records import Origin

NAME = "terraform-plan"
PRIORITY = 15
MAX_MODULE_DEPTH = 32
_INDEX = re.compile(r"\[[^\]]*\]")


def detect(path: Path) -> bool:
    """A ``.json`` file whose first KBs hold ``format_version`` and plan/terraform keys."""
    if path.suffix.lower() != ".json":
        return False
    text = sniff(path, 4096)
    return '"format_version"' in text and (
        '"planned_values"' in text or '"terraform_version"' in text)


def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    """The roles and functions a plan creates or keeps."""
    try:
        document = loads_json(read_text(path))
    except LoadError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise UserError(f"cannot read Terraform plan JSON: {exc}; regenerate it with "
                        "`terraform show -json plan.tfplan`", where=where) from None
    if not isinstance(document, Mapping) or not isinstance(document.get("planned_values"),
                                                           Mapping):
        notices.add("terraform-plan-without-planned-values",
                    "Terraform JSON without planned_values (a state file?) is not read",
                    str(path))
        return GrantSet(files=(str(path),))
    return _Plan.build(path, document, context, notices).grants()


@dataclass(frozen=True)
class _Resource:
    address: str
    type: str
    mode: str
    module: str  # "" for the root module, else "module.a.module.b"
    values: Mapping[str, Any]


@dataclass
class _Plan:
    path: Path
    context: ResolveContext
    notices: Notices
    resources: dict[str, _Resource] = field(default_factory=dict)
    expressions: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, path: Path, document: Mapping[str, Any], context: ResolveContext,
              notices: Notices) -> _Plan:
        plan = cls(path, context, notices)
        prior = document.get("prior_state")
        prior_values = prior.get("values") if isinstance(prior, Mapping) else None
        if isinstance(prior_values, Mapping):
            for resource in _module_resources(prior_values.get("root_module"), "", 0):
                if resource.mode == "data":  # data sources read during the plan
                    plan.resources[resource.address] = resource
        for resource in _module_resources(document["planned_values"].get("root_module"), "", 0):
            plan.resources[resource.address] = resource
        configuration = document.get("configuration")
        if isinstance(configuration, Mapping):
            plan.expressions = dict(_module_expressions(configuration.get("root_module"), "", 0))
        return plan

    def origin(self, address: str, policy: str | None = None) -> Origin:
        return Origin(file=str(self.path), logical_id=address, policy_name=policy)

    # -- references ---------------------------------------------------------------------

    def references(self, resource: _Resource, attribute: str) -> list[str]:
        """The config references of ``resource.attribute``, as plan addresses."""
        expression = self.expressions.get(_INDEX.sub("", resource.address), {}).get(attribute)
        found: list[str] = []
        for item in _walk_expressions(expression):
            for reference in list_of(item.get("references")):
                if not isinstance(reference, str):
                    continue
                address = f"{resource.module}.{reference}" if resource.module else reference
                found.append(address)
        return found

    def referenced(self, resource: _Resource, attribute: str, kind: str) -> _Resource | None:
        """The planned ``kind`` resource that ``resource.attribute`` refers to."""
        for reference in self.references(resource, attribute):
            parts = reference.split(".")
            for size in range(len(parts), 1, -1):
                candidate = self.resources.get(".".join(parts[:size]))
                if candidate is not None and candidate.type == kind:
                    return candidate
                # count/for_each instances: aws_iam_role.x → aws_iam_role.x[0]
                indexed = [r for a, r in self.resources.items()
                           if _INDEX.sub("", a) == ".".join(parts[:size]) and r.type == kind]
                if len(indexed) == 1:
                    return indexed[0]
        return None

    # -- grants -------------------------------------------------------------------------

    def grants(self) -> GrantSet:
        roles: dict[str, Role] = {}
        bindings: list[Binding] = []
        by_role: dict[str, list[Policy]] = {}
        for resource in self.resources.values():
            if resource.mode != "managed":
                continue
            if resource.type == "aws_iam_role_policy":
                role = self.role_of(resource, "role")
                name = str(resource.values.get("name") or resource.address)
                by_role.setdefault(role, []).append(self.policy(resource, "policy", name))
            elif resource.type == "aws_iam_role_policy_attachment":
                by_role.setdefault(self.role_of(resource, "role"), []).append(
                    self.attached(resource))
            elif resource.type == "aws_iam_policy_attachment":
                for name in list_of(resource.values.get("roles")):
                    by_role.setdefault(self.role_named(str(name)), []).append(
                        self.attached(resource))
        roles_known = {self.role_key(r) for r in self.resources.values()
                       if r.mode == "managed" and r.type == "aws_iam_role"}
        service_roles: set[str] = set()
        for resource in self.resources.values():
            if resource.mode == "managed" and resource.type == "aws_iam_role":
                declared = self.role(resource, by_role.pop(self.role_key(resource), []))
                roles[declared.key] = declared
            elif resource.mode == "managed" and resource.type in terraform_types():
                compute = terraform_types()[resource.type]
                binding = self.binding(compute, resource)
                if binding is not None:
                    bindings.append(binding)
                service_roles.update(self.service_role(compute, resource, roles_known))
        for key in by_role:
            self.notices.add("terraform-role-not-in-plan",
                             "policies attached to a role the plan does not create are "
                             "ignored here (the attached-roles source reads the account)",
                             f"{self.path}: {key}")
        return self.resource_grants(roles).onto(GrantSet(
            roles=roles, bindings=tuple(bindings), files=(str(self.path),),
            service_roles=frozenset(service_roles)))

    def resource_grants(self, roles: Mapping[str, Role]) -> ResourceGrants:
        """The Allow statements of the planned resource-based policies
        (``data/resource_policies.yaml``) naming one of ``roles`` by its ARN, per role key
        (a policy naming a role created by the plan is unknown until applied), and those
        naming another role of the account, per its name. Read without warnings: nobody
        asked the scan about them."""
        granted = ResourceGrants.empty()
        types = resource_policy_types("terraform")
        with self.notices.unheard():
            for resource in self.resources.values():
                found = types.get(resource.type) if resource.mode == "managed" else None
                if found is None:
                    continue
                star = found.star_arn(
                    resource.values.get("arn" if found.star == SELF else found.star or ""),
                    self.context.location(),
                    resource.values.get(found.qualifier) if found.qualifier else None)
                policy = self.document(json.dumps(found.permission.document(
                    resource.values, None)), resource.address, found.kind) \
                    if found.permission else self.policy(resource, found.document[0],
                                                         found.kind)
                origin = self.origin(resource.address, found.kind)
                for statement in policy.statements:
                    granted.add(statement, roles, self.context.account, star, origin)
        return granted

    def service_role(self, compute: ComputeType, resource: _Resource,
                     roles: set[str]) -> list[str]:
        """The key of the planned role the resource hands to an AWS service for its own
        use (a task definition's ``execution_role_arn``), when it names one."""
        if compute.service_role is None:
            return []
        arn = resource.values.get(compute.service_role)
        if isinstance(arn, str) and arn and not arn.startswith("arn:"):
            arn = self.role_named(arn)  # ECS takes the role's name too
        if isinstance(arn, str) and arn in roles:
            return [arn]
        target = self.referenced(resource, compute.service_role, "aws_iam_role")
        return [self.role_key(target)] if target is not None else []

    def role_key(self, resource: _Resource) -> str:
        name = resource.values.get("name")
        if isinstance(name, str):
            return role_arn(self.context, name, str(resource.values.get("path") or "/"))
        return resource.address

    def role_named(self, name: str) -> str:
        for resource in self.resources.values():
            if resource.type == "aws_iam_role" and resource.values.get("name") == name:
                return self.role_key(resource)
        return role_arn(self.context, name)

    def role_of(self, resource: _Resource, attribute: str) -> str:
        value = resource.values.get(attribute)
        if isinstance(value, str):
            return value if value.startswith("arn:") else self.role_named(value)
        target = self.referenced(resource, attribute, "aws_iam_role")
        if target is not None:
            return self.role_key(target)
        self.notices.add("terraform-plan-unknown-role", "a role is unknown at plan time",
                         f"{self.path}: {resource.address}.{attribute}")
        return unresolved(f"{resource.address}.{attribute}")

    def role(self, resource: _Resource, attached: list[Policy]) -> Role:
        values = resource.values
        policies: list[Policy] = []
        for index, inline in enumerate(list_of(values.get("inline_policy"))):
            if isinstance(inline, Mapping) and isinstance(inline.get("policy"), str):
                name = str(inline.get("name") or f"{resource.address}.inline_policy[{index}]")
                policies.append(self.document(inline["policy"], resource.address, name))
        for arn in list_of(values.get("managed_policy_arns")):
            policies.append(managed_policy(str(arn), self.origin(resource.address),
                                           self.notices))
        policies.extend(attached)
        boundary = values.get("permissions_boundary")
        role_name = values.get("name")
        return Role(
            key=self.role_key(resource),
            name=role_name if isinstance(role_name, str) else None,
            policies=tuple(policies),
            boundary=managed_policy(str(boundary), self.origin(resource.address), self.notices)
            if boundary else None,
            origin=self.origin(resource.address),
        )

    def attached(self, resource: _Resource) -> Policy:
        arn = resource.values.get("policy_arn")
        policy = self.referenced(resource, "policy_arn", "aws_iam_policy")
        if policy is not None:
            name = str(policy.values.get("name") or policy.address)
            return self.policy(policy, "policy", name)
        if isinstance(arn, str):
            return managed_policy(arn, self.origin(resource.address), self.notices)
        return self.unknown(resource.address, f"{resource.address}.policy_arn",
                            resource.address)

    def policy(self, resource: _Resource, attribute: str, name: str) -> Policy:
        text = resource.values.get(attribute)
        if isinstance(text, str):
            return self.document(text, resource.address, name)
        document = self.referenced(resource, attribute, "aws_iam_policy_document")
        if document is not None and isinstance(document.values.get("json"), str):
            return self.document(str(document.values["json"]), resource.address, name)
        refs = ", ".join(self.references(resource, attribute)) or "no references"
        return self.unknown(resource.address, f"{resource.address}.{attribute} ({refs})", name)

    def document(self, text: str, address: str, name: str) -> Policy:
        origin = self.origin(address, name)
        try:
            document = json.loads(text)
        except ValueError:
            self.notices.add("terraform-bad-policy-json", "a policy is not valid JSON",
                             f"{self.path}: {address}")
            return Policy(name=name, statements=(), origin=origin)
        raw = document.get("Statement") if isinstance(document, Mapping) else None
        items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
        statements = []
        for index, item in enumerate(items):
            try:
                statements.append(parse_statement(item, index=index, policy_name=name,
                                                  origin=origin, notices=self.notices))
            except UserError as exc:
                self.notices.add("terraform-bad-statement", "IAM statement skipped", str(exc))
        return Policy(name=name, statements=tuple(statements), origin=origin)

    def unknown(self, address: str, description: str, name: str) -> Policy:
        self.notices.add("terraform-plan-unknown-policy",
                         "a policy is unknown at plan time and not traceable through the "
                         "configuration; its grants stay unresolved", f"{self.path}: {description}")
        marker = unresolved(f"policy {description}")
        return Policy.unknown(marker, self.origin(address, name), name)

    def binding(self, compute: ComputeType, resource: _Resource) -> Binding | None:
        """The resource's binding to the role its ``compute.role`` names (None: it names
        none; a value unknown at plan time is left out of ``values``, an unset one null)."""
        values = resource.values
        role = values.get(compute.role)
        if isinstance(role, str) and not role.startswith("arn:"):
            role = self.role_named(role)  # an instance profile's role: its name
        if not isinstance(role, str):
            target = self.referenced(resource, compute.role, "aws_iam_role")
            if target is None and compute.role in values:
                return None
            role = self.role_key(target) if target is not None else unresolved(
                f"{resource.address}.{compute.role}")
        function = next((values[name] for name in compute.names
                         if isinstance(values.get(name), str) and values[name]), None)
        users = self.profile_users(resource, function) if compute.kind == INSTANCE_PROFILE \
            else []
        return Binding(function=function or resource.address, role=role,
                       names=(resource.address, *users), origin=self.origin(resource.address),
                       kind=compute.kind)

    def profile_users(self, profile: _Resource, name: str | None) -> list[str]:
        """The addresses of the planned EC2 instances and launch templates that run as
        ``profile``: by its name or ARN, or (unknown at plan time) a reference to it."""
        found = []
        for resource in self.resources.values():
            user = terraform_profile_users().get(resource.type)
            if user is None or resource.mode != "managed":
                continue
            value = _value_at(resource.values, user.profile)
            if isinstance(value, Mapping):
                value = value.get("arn") or value.get("name")
            by_name = isinstance(value, str) and bool(name) and profile_name_of(value) == name
            if by_name or self.referenced(resource, user.profile[0],
                                          "aws_iam_instance_profile") is profile:
                found.append(resource.address)
        return found + self.groups_launching([self.resources[a] for a in found])

    def groups_launching(self, launched: list[_Resource]) -> list[str]:
        """The addresses of the planned Auto Scaling groups that run the instances of one
        of ``launched`` (launch templates or configurations): by its ``id`` or ``name``,
        or (unknown at plan time) a reference to it."""
        found: list[str] = []
        if not launched:
            return found
        for resource in self.resources.values():
            group = launch_users("terraform").get(resource.type)
            if group is None or resource.mode != "managed":
                continue
            for path in group.launch:
                value = _value_at(resource.values, path)
                own = "id" if path[-1].endswith("id") else "name"
                if any((isinstance(value, str) and value == user.values.get(own))
                       or self.referenced(resource, path[0], user.type) is user
                       for user in launched):
                    found.append(resource.address)
                    break
        return found


def _value_at(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The planned value at ``path`` (None: not there); a block is a list of one object."""
    value: Any = values
    for step in path:
        value = value.get(step) if isinstance(value, Mapping) else None
        if isinstance(value, list):
            value = value[0] if len(value) == 1 else None
    return value


def _module_resources(module: Any, prefix: str, depth: int) -> Iterator[_Resource]:
    if not isinstance(module, Mapping) or depth > MAX_MODULE_DEPTH:
        return
    for item in list_of(module.get("resources")):
        if isinstance(item, Mapping) and isinstance(item.get("address"), str):
            values = item.get("values")
            yield _Resource(item["address"], str(item.get("type")), str(item.get("mode")),
                            str(module.get("address") or prefix),
                            values if isinstance(values, Mapping) else {})
    for child in list_of(module.get("child_modules")):
        yield from _module_resources(child, str(mapping_of(child).get("address") or prefix),
                                     depth + 1)


def _module_expressions(module: Any, prefix: str,
                        depth: int) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(module, Mapping) or depth > MAX_MODULE_DEPTH:
        return
    for item in list_of(module.get("resources")):
        if isinstance(item, Mapping) and isinstance(item.get("address"), str):
            address = f"{prefix}.{item['address']}" if prefix else item["address"]
            expressions = item.get("expressions")
            yield address, expressions if isinstance(expressions, Mapping) else {}
    for name, call in mapping_of(module.get("module_calls")).items():
        if isinstance(call, Mapping):
            child = f"{prefix}.module.{name}" if prefix else f"module.{name}"
            yield from _module_expressions(call.get("module"), child, depth + 1)


def _walk_expressions(expression: Any) -> Iterator[Mapping[str, Any]]:
    """Every expression object in a (possibly nested block) configuration expression."""
    if isinstance(expression, Mapping):
        if "references" in expression or "constant_value" in expression:
            yield expression
        else:
            for value in expression.values():
                yield from _walk_expressions(value)
    elif isinstance(expression, list):
        for item in expression:
            yield from _walk_expressions(item)
