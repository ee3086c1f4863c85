"""Serverless Framework (``serverless.yml``): the roles it creates and which functions use them.

Reads ``provider.iamRoleStatements``/``iamManagedPolicies`` (v1-v2) and ``provider.iam.role``
(v3+), custom roles (``provider.iam.role``/``provider.role``/``functions.X.role`` as an ARN,
a name, or a role of ``resources.Resources``), the serverless-iam-roles-per-function
plugin, and what the framework adds to the shared role ``IamRoleLambdaExecution``
(CloudWatch Logs, X-Ray with tracing, the VPC policy, event-source permissions).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from leastpriv_ci import bundled
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.branches import Branches
from leastpriv_ci.grants.cfn_yaml import loads_cfn_yaml
from leastpriv_ci.grants.checkout import repository_root
from leastpriv_ci.grants.compute import LAMBDA_FUNCTION
from leastpriv_ci.grants.intrinsics import NO_VALUE, TemplateResolver
from leastpriv_ci.grants.managed import managed_policy
from leastpriv_ci.grants.model import Binding, Delivery, DeployedAs, GrantSet, ResolveContext
from leastpriv_ci.grants.references import reference_of, role_arn
from leastpriv_ci.grants.resource_policies import ResourceGrants, in_account, resource_grants
from leastpriv_ci.grants.serverless_vars import VariableResolver, file_of
from leastpriv_ci.grants.undecided import statement_under
from leastpriv_ci.loaders import LoadError, LocatedDict, line_of, loads_json, read_text
from leastpriv_ci.notices import Notices
from leastpriv_ci.policy.model import UNRESOLVED_PREFIX, Policy, Role, Statement, is_unresolved
from leastpriv_ci.policy.parse import parse_statement
from leastpriv_ci.records import Origin

NAME = "serverless"
PRIORITY = 5  # chosen by file name, before the content-sniffing CloudFormation source
FILE_NAMES = ("serverless.yml", "serverless.yaml", "serverless.json")
SHARED_ROLE = "IamRoleLambdaExecution"
PER_FUNCTION_PLUGIN = "serverless-iam-roles-per-function"
_CUSTOM_ROLE_KEYS = ("Fn::GetAtt", "Ref", "Fn::ImportValue", "Fn::Sub", "Fn::Join")
_POLICY_REFERENCES = ("ManagedPolicyArns", "PermissionsBoundary")
_ATTACHED_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")


def detect(path: Path) -> bool:
    """``serverless.yml``/``.yaml``/``.json`` by name."""
    return path.name.lower() in FILE_NAMES


def load(path: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    """The roles a Serverless service declares and the functions bound to them."""
    document = _read(path)
    provider = document.get("provider") if isinstance(document, Mapping) else None
    if not isinstance(provider, Mapping) or provider.get("name", "aws") != "aws":
        return GrantSet(files=(str(path),))
    resolver = VariableResolver(
        document=document, path=path, root=repository_root(path), region=context.region,
        account=context.account, notices=notices, stage=context.stage,
        provider_defaults=major_version(document) == 1,
    )
    return _Service.build(path, document, resolver, context, notices).grants()


def major_version(document: Mapping[str, Any]) -> int | None:
    """The framework's major version as ``frameworkVersion`` says it: "3", "^3.38.0" and
    ">=2.0.0 <4" give their first number ("2.72.0" is 2, whatever digits follow)."""
    major = re.search(r"\d+", str(document.get("frameworkVersion", "")))
    return int(major.group()) if major else None


def _read(path: Path) -> Any:
    try:
        text = read_text(path)
        if path.suffix.lower() == ".json":
            return loads_json(text)
        return loads_cfn_yaml(text)
    except LoadError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise UserError(f"cannot read Serverless config: {exc}; fix the syntax", where=where) \
            from None


@cache
def _defaults() -> Mapping[str, Any]:
    """The framework's and the per-function plugin's additions, as data."""
    data: Mapping[str, Any] = bundled.load("serverless_iam.json")
    return data


@dataclass
class _Service:
    path: Path
    document: Mapping[str, Any]
    vars: VariableResolver
    context: ResolveContext
    notices: Notices
    service: str
    stage: str
    region: str
    v3: bool
    resources: Mapping[str, Any]
    roles: dict[str, Role] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    _template: TemplateResolver | None = None
    _branches: Branches | None = None

    @classmethod
    def build(cls, path: Path, document: Mapping[str, Any], resolver: VariableResolver,
              context: ResolveContext, notices: Notices) -> _Service:
        service = resolver.get("service")
        if isinstance(service, Mapping):  # v1: service: {name: ...}
            service = service.get("name")
        if not isinstance(service, str) or is_unresolved(service):
            notices.add("serverless-no-service", "Serverless service name is not resolvable",
                        str(path))
            service = str(service)
        region = resolver.get("provider.region")
        if not isinstance(region, str) or is_unresolved(region):
            region = context.region
        resolver.region = region
        major = major_version(document)
        v3 = major >= 3 if major is not None else "iam" in document["provider"]
        raw_resources = resolver.get("resources.Resources", {})
        resources = raw_resources if isinstance(raw_resources, Mapping) else {}
        return cls(path, document, resolver, context, notices, service,
                   resolver.effective_stage(), region, v3, resources)

    # -- naming ---------------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return f"{self.service}-{self.stage}"

    def origin(self, value: object = None, **kwargs: Any) -> Origin:
        return Origin(file=file_of(value) or str(self.path), line=line_of(value), **kwargs)

    def cfn(self, value: Any) -> Any:
        """CloudFormation intrinsics inside a resolved value → plain values."""
        resolved = self.template().resolve(value)
        return None if resolved is NO_VALUE else resolved

    def branches(self) -> Branches:
        """The branches of values behind a template condition not decided offline."""
        if self._branches is None:
            self._branches = Branches(self.template(), self.notices, str(self.path))
        return self._branches

    def stack(self) -> str:
        """The CloudFormation stack the service deploys as."""
        return str(self.vars.get("provider.stackName") or self.prefix)

    def stack_known(self) -> bool:
        """Whether :meth:`stack` is the name deployed, not one made of a variable that
        does not resolve or of a stage guessed (a stack of that name may be another's)."""
        return UNRESOLVED_PREFIX not in self.stack() and self.vars.stage_known()

    def template(self) -> TemplateResolver:
        """The resolver of the CloudFormation in the config (``resources``)."""
        if self._template is None:
            parameters = {"AWS::StackName": self.stack(), **self.context.parameters}
            context = replace(self.context, region=self.region, parameters=parameters)
            template = {"Resources": self.resources}
            for section in ("Conditions", "Mappings", "Parameters"):
                found = self.vars.get(f"resources.{section}")
                if isinstance(found, Mapping):
                    template[section] = found
            self._template = TemplateResolver(template, context, self.notices, str(self.path))
        return self._template

    def placeholders(self, function: str = "") -> dict[str, str]:
        return {"partition": self.context.partition, "region": self.region,
                "account": self.context.account, "prefix": self.prefix, "function": function}

    # -- the whole service ----------------------------------------------------------------

    def grants(self) -> GrantSet:
        functions = self.vars.get("functions", {})
        functions = functions if isinstance(functions, Mapping) else {}
        provider = self.vars.get("provider", {})
        shared_users: list[tuple[str, Mapping[str, Any]]] = []
        provider_role = self.provider_custom_role(provider)
        for key, function in functions.items():
            if not isinstance(function, Mapping):
                self.notices.add("serverless-bad-function", "function is not a mapping",
                                 f"{self.path}:{key}")
                continue
            deployed = function.get("name") or f"{self.prefix}-{key}"
            deployed = str(deployed)
            if function.get("role") is not None:
                role_key = self.custom_role(function["role"], function)
            elif function.get("iamRoleStatements") is not None and self.uses_plugin():
                role_key = self.per_function_role(str(key), deployed, function, provider)
            elif provider_role is not None:
                role_key = provider_role
            else:
                role_key = self.shared_role_key(provider)
                shared_users.append((deployed, function))
                if function.get("iamRoleStatements") is not None:
                    self.notices.add(
                        "serverless-function-statements-ignored",
                        f"functions.X.iamRoleStatements needs the {PER_FUNCTION_PLUGIN} plugin; "
                        "without it the framework ignores them",
                        f"{self.path}:{line_of(function) or ''}",
                    )
            self.bindings.append(Binding(
                function=deployed, role=role_key,
                names=(str(key), _function_logical_id(str(key))),
                origin=self.origin(function, logical_id=_function_logical_id(str(key))),
                deliveries=self.deliveries(function, functions), kind=LAMBDA_FUNCTION,
            ))
        if provider_role is None and (shared_users or self.provider_statements(provider)):
            self.shared_role(provider, functions, shared_users)
        policies = resource_grants(
            self.resources, self.template(),
            lambda node, line: self.resource_policy_role(node, provider),
            str(self.path), self.notices) if self.resources else ResourceGrants.empty()
        imports = frozenset(self._template.imports) if self._template is not None else None
        exports, role_exports = self.exports(provider, provider_role)
        # the names CloudFormation generates for resources (read from the stack when
        # deployed), for a service whose intrinsics were resolved
        deployed_as = ({str(self.path): DeployedAs(self.stack(), self.region)}
                       if self._template is not None and self.stack_known() else {})
        return policies.onto(GrantSet(
            roles=dict(self.roles), bindings=tuple(self.bindings), files=(str(self.path),),
            imports=imports or frozenset(), exports=exports, role_exports=role_exports,
            deployed_as=deployed_as))

    def deliveries(self, function: Mapping[str, Any], functions: Mapping[str, Any]
                   ) -> tuple[Delivery, ...]:
        """What Lambda sends for the function: ``onError`` (its dead-letter topic),
        ``destinations`` (an ARN, a function of this service by its key, or
        ``{type, arn}``), and its ``stream`` events' ``destinations.onFailure`` (an ARN,
        or ``{type, arn}`` with the ARN maybe an intrinsic of ``resources``)."""
        found: list[Delivery] = []
        on_error = function.get("onError")
        if isinstance(on_error, str) and on_error.startswith("arn:"):
            found.append(Delivery("dead-letter", on_error))
        destinations = function.get("destinations")
        for kind, key in (("on-failure", "onFailure"), ("on-success", "onSuccess")):
            target = destinations.get(key) if isinstance(destinations, Mapping) else None
            if isinstance(target, Mapping):
                target = target.get("arn")
            if isinstance(target, str) and not target.startswith("arn:") \
                    and isinstance(functions.get(target), Mapping):
                name = functions[target].get("name") or f"{self.prefix}-{target}"
                target = (f"arn:{self.context.partition}:lambda:{self.region}:"
                          f"{self.context.account}:function:{name}")
            if isinstance(target, str) and target.startswith("arn:"):
                found.append(Delivery(kind, target))
        events = function.get("events")
        for event in events if isinstance(events, list) else []:
            stream = event.get("stream") if isinstance(event, Mapping) else None
            destinations = stream.get("destinations") if isinstance(stream, Mapping) else None
            target = destinations.get("onFailure") if isinstance(destinations, Mapping) \
                else None
            if isinstance(target, Mapping):
                target = self.cfn(target.get("arn"))
            if isinstance(target, str) and target.startswith("arn:"):
                found.append(Delivery("source-on-failure", target))
        return tuple(found)

    def exports(self, provider: Mapping[str, Any], provider_role: str | None
                ) -> tuple[dict[str, str], dict[str, str]]:
        """What ``resources.Outputs`` exports (another scanned template's
        ``Fn::ImportValue`` reads it): values known offline, and roles by their key (the
        framework's shared role, or one of ``resources.Resources``)."""
        outputs = self.vars.get("resources.Outputs")
        values: dict[str, str] = {}
        roles: dict[str, str] = {}
        if not isinstance(outputs, Mapping) or not outputs:
            return values, roles
        resolver = self.template()
        for name, node, line in resolver.exported(outputs):
            logical = _referenced_logical_id(node) if isinstance(node, Mapping) else None
            if logical == SHARED_ROLE and provider_role is None \
                    and self.shared_role_key(provider) in self.roles:
                roles[name] = self.shared_role_key(provider)
            elif logical is not None and _is_role(self.resources.get(logical)):
                with resolver.silenced():
                    roles[name] = self.template_role(logical)
            with resolver.silenced():
                value = resolver.text(node, line)
            if value is not None:
                values[name] = value
        return values, roles

    def uses_plugin(self) -> bool:
        plugins = self.vars.get("plugins", [])
        if isinstance(plugins, Mapping):
            plugins = plugins.get("modules", [])
        return isinstance(plugins, list) and PER_FUNCTION_PLUGIN in plugins

    def plugin_config(self) -> Mapping[str, Any]:
        """``custom.serverless-iam-roles-per-function`` (``{}`` when not set)."""
        plugin = self.vars.get(f"custom.{PER_FUNCTION_PLUGIN}", {})
        return plugin if isinstance(plugin, Mapping) else {}

    def plugin_roles(self, functions: Mapping[str, Any]) -> bool:
        """Whether the plugin makes any per-function role (it then touches the shared one)."""
        return self.uses_plugin() and any(
            isinstance(f, Mapping) and f.get("iamRoleStatements") is not None
            and f.get("role") is None for f in functions.values())

    # -- the shared role ------------------------------------------------------------------

    def role_config(self, provider: Mapping[str, Any]) -> Mapping[str, Any]:
        iam = provider.get("iam")
        role = iam.get("role") if isinstance(iam, Mapping) else None
        return role if isinstance(role, Mapping) and not _is_custom_role(role) else {}

    def provider_statements(self, provider: Mapping[str, Any]) -> list[Any]:
        if isinstance(provider.get("iam"), Mapping):
            config = self.role_config(provider)
            statements = config.get("statements")
        else:
            config, statements = provider, provider.get("iamRoleStatements")
        return self.statement_list(statements, "provider statements", config)

    def statement_list(self, statements: Any, label: str, anchor: object = None) -> list[Any]:
        if statements is None:
            return []
        if isinstance(statements, str) and is_unresolved(statements):
            # Statements that come from an unresolvable variable still grant something:
            # one statement of unknown actions and resources keeps decisions conditional.
            marker = LocatedDict(Effect="Allow", Action=statements, Resource=statements)
            marker.line = line_of(anchor)
            return [marker]
        if not isinstance(statements, list):
            self.notices.add("serverless-bad-statements",
                             "IAM statements must be a list (or resolve to one)",
                             f"{self.path}:{line_of(statements) or ''} {label}")
            return []
        return list(statements)

    def shared_boundary(self, provider: Mapping[str, Any]) -> tuple[Any, object]:
        """The shared role's boundary and where it is written, in the framework's order:
        ``iam.role.permissionsBoundary``, ``iam.role.permissionBoundary``, then the legacy
        ``provider.rolePermissionsBoundary`` (``mergeIamTemplates``)."""
        config = self.role_config(provider)
        return _first_given(((config.get("permissionsBoundary"), config),
                             (config.get("permissionBoundary"), config),
                             (provider.get("rolePermissionsBoundary"), provider)),
                            (None, provider))

    def shared_role_key(self, provider: Mapping[str, Any]) -> str:
        config = self.role_config(provider)
        name = config.get("name") or f"{self.prefix}-{self.region}-lambdaRole"
        return role_arn(self.context, str(name), str(config.get("path") or "/"))

    def shared_role(self, provider: Mapping[str, Any], functions: Mapping[str, Any],
                    users: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        defaults = _defaults()
        config = self.role_config(provider)
        key = self.shared_role_key(provider)
        anchor = config or provider
        role_origin = self.origin(anchor, logical_id=SHARED_ROLE)
        policy_name = f"{self.stage}-{self.service}-lambda"
        framework = self.origin(anchor, logical_id=SHARED_ROLE, policy_name=policy_name)
        raw: list[tuple[Any, Origin]] = []
        for template in defaults["shared_role_logs"]:
            statement = _fill(template, self.placeholders())
            if self.v3 and "logs:CreateLogGroup" in statement["Action"]:
                statement["Action"] = statement["Action"] + defaults["v3_log_actions"]
            raw.append((statement, framework))
        tracing = provider.get("tracing")
        traced = (isinstance(tracing, Mapping) and tracing.get("lambda") not in (None, False)) \
            or any(f.get("tracing") not in (None, False) for _, f in users)
        if traced:
            raw.extend((_fill(t, self.placeholders()), framework) for t in defaults["tracing"])
        for _, function in users:
            raw.extend((s, framework) for s in self.event_statements(function))
        raw.extend((s, self.origin(s, logical_id=SHARED_ROLE, policy_name=policy_name))
                   for s in self.provider_statements(provider))
        managed = config.get("managedPolicies") if config else provider.get("iamManagedPolicies")
        managed_list = list(managed) if isinstance(managed, list) else []
        vpc_users = provider.get("vpc") or any(
            isinstance(f, Mapping) and f.get("vpc") for f in functions.values())
        if vpc_users:
            managed_list.append(_fill(defaults["vpc_managed_policy"], self.placeholders()))
        policies = [self.policy(policy_name, raw)]
        policies.extend(self.managed(managed_list, anchor))
        boundary, boundary_anchor = self.shared_boundary(provider)
        plugin_boundary = self.plugin_config().get("iamGlobalPermissionsBoundary")
        if plugin_boundary and self.plugin_roles(functions):
            # The plugin sets its global boundary on the shared role too, once it makes a role.
            boundary, boundary_anchor = plugin_boundary, self.plugin_config()
        self.roles[key] = Role(
            key=key, name=key.rsplit("/", 1)[-1], policies=tuple(policies),
            boundary=self.boundary(boundary, boundary_anchor), origin=role_origin,
        )

    # -- per-function roles (serverless-iam-roles-per-function) ---------------------------

    def per_function_role(self, key: str, deployed: str, function: Mapping[str, Any],
                          provider: Mapping[str, Any]) -> str:
        defaults = _defaults()
        plugin = self.plugin_config()
        name = function.get("iamRoleStatementsName") or self.per_function_role_name(key)
        role_key = role_arn(self.context, str(name))
        logical = _normalised(key) + SHARED_ROLE
        policy_name = f"{self.stage}-{self.service}-lambda"
        generated = self.origin(function, logical_id=logical, policy_name=policy_name)
        logs = [_fill(t, self.placeholders(deployed)) for t in defaults["per_function_logs"]]
        raw: list[tuple[Any, Origin]] = [(s, generated) for s in logs]
        raw.extend((s, generated) for s in self.event_statements(function))
        inherit = function.get("iamRoleStatementsInherit")
        if inherit is True or (plugin.get("defaultInherit") is True and inherit is not False):
            raw.extend((s, self.origin(s, logical_id=logical, policy_name=policy_name))
                       for s in self.provider_statements(provider))
        raw.extend((s, self.origin(s, logical_id=logical, policy_name=policy_name))
                   for s in self.statement_list(function.get("iamRoleStatements"), key, function))
        managed: list[Any] = []
        if function.get("vpc") or provider.get("vpc"):
            managed.append(_fill(defaults["vpc_managed_policy"], self.placeholders()))
        # The plugin clones the shared role, boundary included, then lets the function's
        # iamPermissionsBoundary, else its iamGlobalPermissionsBoundary, replace it.
        boundary, boundary_anchor = _first_given(
            ((function.get("iamPermissionsBoundary"), function),
             (plugin.get("iamGlobalPermissionsBoundary"), plugin)),
            self.shared_boundary(provider))
        self.roles[role_key] = Role(
            key=role_key, name=str(name),
            policies=(self.policy(policy_name, raw), *self.managed(managed, function)),
            boundary=self.boundary(boundary, boundary_anchor),
            origin=self.origin(function, logical_id=logical),
        )
        return role_key

    def per_function_role_name(self, key: str) -> str:
        parts = [self.service, self.stage, key, self.region, "lambdaRole"]
        if len("-".join(parts)) > 64:
            parts.pop()  # the plugin drops "lambdaRole" to make room
        name = "-".join(parts)
        if len(name) > 64:
            self.notices.add("serverless-role-name-too-long",
                             "per-function role name over 64 characters; set "
                             "iamRoleStatementsName", f"{self.path}: {key}")
        return name

    def event_statements(self, function: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Permissions the framework adds for the function's event sources and onError."""
        actions = _defaults()["event_actions"]
        by_kind: dict[str, list[Any]] = {}
        events = function.get("events")
        for event in events if isinstance(events, list) else []:
            if not isinstance(event, Mapping):
                continue
            if "sqs" in event:
                sqs = event["sqs"]
                by_kind.setdefault("sqs", []).append(
                    sqs.get("arn") if isinstance(sqs, Mapping) and "arn" in sqs else sqs)
            if "stream" in event:
                stream = event["stream"]
                arn = stream.get("arn") if isinstance(stream, Mapping) and "arn" in stream \
                    else stream
                kind = stream.get("type") if isinstance(stream, Mapping) else None
                if kind is None and isinstance(arn, str) and arn.count(":") >= 2:
                    kind = arn.split(":")[2]
                if kind in ("dynamodb", "kinesis"):
                    by_kind.setdefault(str(kind), []).append(arn)
        if function.get("onError"):
            by_kind["onError"] = [function["onError"]]
        return [{"Effect": "Allow", "Action": list(actions[kind]), "Resource": arns}
                for kind, arns in by_kind.items()]

    # -- custom roles ---------------------------------------------------------------------

    def provider_custom_role(self, provider: Mapping[str, Any]) -> str | None:
        iam = provider.get("iam")
        role = iam.get("role") if isinstance(iam, Mapping) else None
        role = provider.get("role") if role is None else role  # v1-v2 spelling
        if role is None or (isinstance(role, Mapping) and not _is_custom_role(role)):
            return None
        return self.custom_role(role, provider)

    def custom_role(self, reference: Any, anchor: object) -> str:
        """The role key of ``role:`` given as an ARN, a name, a logical ID or an intrinsic."""
        logical: str | None = None
        if isinstance(reference, Mapping):
            logical = _referenced_logical_id(reference)
            if logical is None:
                value = self.cfn(reference)
                if isinstance(value, str) and value.startswith("arn:"):
                    return value
                self.notices.add("serverless-unresolved-role",
                                 "a function's role could not be resolved",
                                 f"{self.path}:{line_of(anchor) or ''}")
                return str(value)
        elif isinstance(reference, str):
            if is_unresolved(reference):
                return reference
            if reference in self.resources:
                logical = reference
            else:
                arn = reference if reference.startswith("arn:") else role_arn(self.context,
                                                                             reference)
                # a role of resources.Resources named by its RoleName (or its ARN)
                logical = self.template_role_by_arn(arn)
                if logical is None:
                    return arn
        if logical is None:
            return str(reference)
        return self.template_role(logical)

    def resource_policy_role(self, node: Any, provider: Mapping[str, Any]) -> str | None:
        """The key of the service's role a resource-based policy's Principal names: the
        shared role (``IamRoleLambdaExecution``) or a role of ``resources.Resources`` by
        ``Fn::GetAtt``/``Ref``, or either by its ARN (None: none of them)."""
        logical = _referenced_logical_id(node) if isinstance(node, Mapping) else None
        key: str | None = None
        if logical == SHARED_ROLE:
            key = self.shared_role_key(provider)
        elif logical is not None:
            raw = self.resources.get(logical)
            properties = raw.get("Properties") if isinstance(raw, Mapping) else None
            if isinstance(properties, Mapping):
                key = self.named_role_arn(self.cfn(properties.get("RoleName")),
                                          self.cfn(properties.get("Path"))) or logical
        else:
            with self.template().silenced():
                arn = self.cfn(node)
            if isinstance(arn, str) and in_account(arn, self.context.account):
                key = arn  # a role's key is its ARN when its name is known
        return key if key in self.roles else None

    def template_role_by_arn(self, arn: str) -> str | None:
        """The logical ID of the ``AWS::IAM::Role`` in ``resources.Resources`` whose
        ``RoleName`` (and ``Path``) make ``arn``, if any."""
        for logical, resource in self.resources.items():
            if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::IAM::Role":
                continue
            raw = resource.get("Properties")
            raw = raw if isinstance(raw, Mapping) else {}
            if self.named_role_arn(self.cfn(raw.get("RoleName")), self.cfn(raw.get("Path"))) \
                    == arn:
                return logical
        return None

    def named_role_arn(self, name: Any, path: Any) -> str | None:
        """The ARN a template role's resolved ``RoleName`` and ``Path`` give (None: no
        name known offline)."""
        if not isinstance(name, str) or is_unresolved(name):
            return None
        return role_arn(self.context, name, str(path or "/"))

    def template_role(self, logical: str) -> str:
        """A role declared under ``resources.Resources`` (``AWS::IAM::Role``)."""
        resource = self.resources.get(logical)
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::IAM::Role":
            self.notices.add("serverless-unknown-role",
                             "role refers to a logical ID that is not an AWS::IAM::Role in "
                             "resources.Resources", f"{self.path}: {logical}")
            return logical
        raw = resource.get("Properties")
        raw = raw if isinstance(raw, Mapping) else {}
        # Policy references are resolved one by one below: `!Ref MP` of a managed policy in
        # the template is read from its document, not resolved to an ARN.
        properties = self.cfn({k: v for k, v in raw.items() if k not in _POLICY_REFERENCES})
        properties = properties if isinstance(properties, Mapping) else {}
        name = properties.get("RoleName")
        role_name = name if isinstance(name, str) and not is_unresolved(name) else None
        key = self.named_role_arn(role_name, properties.get("Path")) or logical
        if key in self.roles:
            return key
        policies: list[Policy] = []
        inline = properties.get("Policies")
        for item in inline if isinstance(inline, list) else []:
            if isinstance(item, Mapping):
                policy_name = str(item.get("PolicyName") or logical)
                policies.append(self.document_policy(item.get("PolicyDocument"), policy_name,
                                                     logical, item))
        attached: set[str] = set()
        for other_id, other in self.resources.items():
            found = self.attached_policies(other_id, other, logical, role_name)
            policies.extend(found)
            if found:
                attached.add(other_id)
        managed = raw.get("ManagedPolicyArns")
        if managed is not None and not isinstance(managed, list):
            managed = self.cfn(managed)  # e.g. an Fn::If choosing between lists
        policies.extend(self.managed(
            [m for m in (managed if isinstance(managed, list) else [])
             if not (isinstance(m, Mapping) and _referenced_logical_id(m) in attached)],
            resource))
        self.roles[key] = Role(
            key=key, name=name if isinstance(name, str) else None, policies=tuple(policies),
            boundary=self.boundary(raw.get("PermissionsBoundary"), resource),
            origin=self.origin(resource, logical_id=logical),
        )
        return key

    def attached_policies(self, logical: str, resource: Any, role: str,
                          role_name: str | None) -> list[Policy]:
        """The policy of ``resource`` if it is attached to the role ``role`` (a logical ID
        whose ``RoleName`` is ``role_name``): an ``AWS::IAM::Policy``/``ManagedPolicy``
        whose ``Roles`` name it, or an ``AWS::IAM::RolePolicy`` whose ``RoleName`` does."""
        kind = resource.get("Type") if isinstance(resource, Mapping) else None
        if kind not in _ATTACHED_POLICY_TYPES:
            return []
        properties = resource.get("Properties") or {}
        if not isinstance(properties, Mapping):
            return []
        targets = [properties.get("RoleName")] if kind == "AWS::IAM::RolePolicy" \
            else properties.get("Roles")
        if not any(self.names_role(target, role, role_name)
                   for target in (targets if isinstance(targets, list) else [])):
            return []
        resolved = self.cfn(properties)
        name = resolved.get("PolicyName") or resolved.get("ManagedPolicyName") or logical
        return [self.document_policy(resolved.get("PolicyDocument"), str(name), logical,
                                     resource)]

    def names_role(self, target: Any, logical: str, name: str | None) -> bool:
        """Whether a ``Roles``/``RoleName`` entry is the role: ``Ref``/``GetAtt`` of its
        logical ID, or its ``RoleName`` (written out, or built by variables or intrinsics)."""
        if isinstance(target, Mapping):
            referenced = _referenced_logical_id(target)
            if referenced is not None:
                return referenced == logical
            target = self.cfn(target)
        return name is not None and target == name

    # -- policies -------------------------------------------------------------------------

    def policy(self, name: str, raw: Sequence[tuple[Any, Origin]]) -> Policy:
        statements: list[Statement] = []
        for index, (statement, origin) in enumerate(raw):
            statements += self.statements(statement, index, name, origin)
        return Policy(name=name, statements=tuple(statements),
                      origin=raw[0][1] if raw else self.origin())

    def document_policy(self, document: Any, name: str, logical: str, anchor: object) -> Policy:
        here = self.origin(anchor, logical_id=logical, policy_name=name)
        raw = document.get("Statement") if isinstance(document, Mapping) else None
        items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
        if not items:
            self.notices.add("serverless-bad-policy", "policy document without statements",
                             f"{self.path}:{line_of(anchor) or ''}")
        statements = [s for i, raw in enumerate(items) for s in self.statements(raw, i, name, here)]
        return Policy(name=name, statements=tuple(statements), origin=here)

    def statements(self, raw: Any, index: int, policy: str, origin: Origin) -> list[Statement]:
        """A statement as parsed (none when it is skipped); behind a template condition
        that cannot be decided offline, one per branch, each under its value, as in a
        CloudFormation template."""
        branches = self.branches()
        if not branches.splits([raw]):  # the usual case, at once
            parsed = self.statement(raw, index, policy, origin)
            return [] if parsed is None else [parsed]
        subject = f"{policy} statement {index + 1}"
        found = []
        for chosen, held in branches.policies([raw], line_of(raw) or origin.line, subject,
                                              expand=False):
            for part, conditions in branches.statement(chosen, held, subject):
                parsed = self.statement(part, index, policy, origin)
                if parsed is not None:
                    found.append(statement_under(parsed, conditions))
        return found

    def statement(self, raw: Any, index: int, policy: str, origin: Origin) -> Statement | None:
        value = self.cfn(raw)  # outside the try: a value too large to expand is fatal
        if isinstance(value, LocatedDict) and value.line is None:
            value.line = origin.line
        try:
            return parse_statement(value, index=index, policy_name=policy, origin=origin,
                                   notices=self.notices)
        except UserError as exc:
            # One bad statement is skipped and counted; the rest of the role still counts.
            self.notices.add("serverless-bad-statement", "IAM statement skipped", str(exc))
            return None

    def managed(self, arns: Sequence[Any], anchor: object) -> list[Policy]:
        """Managed policies by ARN, or by ``Ref``/``GetAtt`` of one in the template."""
        out = []
        for item in arns:
            template = self.template_managed_policy(item)
            if template is not None:
                out.append(template)
                continue
            arn = self.cfn(item)
            if arn is None:
                continue  # Fn::If → AWS::NoValue: no policy
            if not isinstance(arn, str):
                arn = str(arn)
            out.append(managed_policy(arn, self.origin(anchor), self.notices))
        return out

    def boundary(self, value: Any, anchor: object) -> Policy | None:
        if value is None:
            return None
        template = self.template_managed_policy(value)
        if template is not None:
            return template
        arn = self.cfn(value)
        if arn is None:
            return None  # Fn::If → AWS::NoValue: no boundary
        return managed_policy(str(arn), self.origin(anchor), self.notices)

    def template_managed_policy(self, reference: Any) -> Policy | None:
        """The ``AWS::IAM::ManagedPolicy`` of ``resources.Resources`` that ``reference``
        (``Ref``, ``!GetAtt X.PolicyArn``) names, read from its own document."""
        logical = _referenced_logical_id(reference) if isinstance(reference, Mapping) else None
        resource = self.resources.get(logical) if logical is not None else None
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::IAM::ManagedPolicy":
            return None
        properties = self.cfn(resource.get("Properties") or {})
        properties = properties if isinstance(properties, Mapping) else {}
        name = properties.get("ManagedPolicyName") or logical
        policy = self.document_policy(properties.get("PolicyDocument"), str(name), str(logical),
                                      resource)
        if properties.get("ManagedPolicyName"):  # else CloudFormation makes up the ARN
            arn = self.cfn({"Ref": logical})
            if isinstance(arn, str) and arn.startswith("arn:"):
                policy = replace(policy, origin=replace(policy.origin, policy_arn=arn))
        return policy


def _is_custom_role(role: Mapping[str, Any]) -> bool:
    return any(k in role for k in _CUSTOM_ROLE_KEYS)


def _first_given(candidates: Sequence[tuple[Any, object]],
                 otherwise: tuple[Any, object]) -> tuple[Any, object]:
    """The first (value, where it is written) whose value is set, in precedence order."""
    return next(((value, anchor) for value, anchor in candidates if value), otherwise)


def _referenced_logical_id(value: Mapping[str, Any]) -> str | None:
    """``X`` for ``{"Ref": X}`` / ``{"Fn::GetAtt": [X, "Arn"]}`` (``!GetAtt X.Arn``)."""
    named = reference_of(value)
    return named.logical if named is not None else None


def _normalised(key: str) -> str:
    """The framework's normalised function name (``get-note`` → ``GetDashnote``)."""
    text = key[:1].upper() + key[1:]
    return text.replace("-", "Dash").replace("_", "Underscore")


def _function_logical_id(key: str) -> str:
    return _normalised(key) + "LambdaFunction"


def _fill(template: Any, values: Mapping[str, str]) -> Any:
    """Copy ``template`` with ``{placeholder}`` replaced in every string."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, Mapping):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _is_role(resource: object) -> bool:
    return isinstance(resource, Mapping) and resource.get("Type") == "AWS::IAM::Role"
