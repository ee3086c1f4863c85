"""What a grants source returns: roles and which functions run as them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath

from leastpriv_ci.partitions import dns_suffix
from leastpriv_ci.policy.model import Policy, Role, Statement
from leastpriv_ci.records import Origin

CDK_TEMPLATE = ".template.json"  # a CDK stack's template: cdk.out/STACK.template.json
MIN_NESTED_ID = 8  # characters of a nested stack's cut logical ID that tell it apart
# The name under which GrantSet.granted_by_name keeps a resource-based policy's statement
# granting every role of the account (anyone in its organization): IAM allows no "*" in a
# role's name
EVERY_ROLE = "*"


def cdk_stack(file: str | None) -> str | None:
    """The stack a template file is named after, the way CDK names them (else None)."""
    name = PurePath(file).name if file else ""
    return name.removesuffix(CDK_TEMPLATE) if name.endswith(CDK_TEMPLATE) else None


@dataclass(frozen=True)
class Delivery:
    """What Lambda sends, with the function's role, to a target the function's own
    configuration names: ``kind`` is ``dead-letter``, ``on-failure`` or ``on-success``
    (``data/lambda_deliveries.yaml``), ``target`` the queue's, topic's, function's or
    event bus's ARN."""

    kind: str
    target: str


@dataclass(frozen=True)
class Binding:
    """A compute resource declared to run as a role.

    ``function`` is what the declaration names it by: a template logical ID, a
    ``FunctionName`` / Serverless function key / Terraform ``function_name``, or an ARN.
    ``names`` are the other spellings that identify the same function (physical name,
    logical ID), so principals seen in traces can be matched to it.
    """

    function: str
    role: str  # the Role.key it runs as
    names: tuple[str, ...] = ()
    origin: Origin = field(default_factory=Origin)
    deliveries: tuple[Delivery, ...] = ()  # what Lambda sends for it, with its role
    # data/compute_roles.yaml's kind ("lambda-function", "instance-profile", ...); an
    # instance profile's names include the EC2 instances and launch templates using it
    kind: str = ""
    # The CloudFormation stack its template deploys as, when known: a CDK stack's name
    # from its cloud assembly's manifest.json (see grants/cdk_assembly.py)
    stack: str | None = None
    # For a CDK nested stack's function: the parent stack's name; :attr:`stack` is then
    # PARENT-LOGICALID, how the nested stack's deployed name (…-GUID) starts
    nested_in: str | None = None

    @property
    def cdk_stack(self) -> str | None:
        """The CDK stack it is declared in: :attr:`stack`, else the one its template
        file is named after (``cdk.out/STACK.template.json``), else None."""
        return self.stack if self.stack is not None else cdk_stack(self.origin.file)

    def deployed_in(self, stack: str) -> bool:
        """Whether it is declared in the stack named ``stack`` (a stack-name tag): its
        CDK stack's name, or for a nested stack's function, ``PARENT-LOGICALID-GUID``,
        the logical ID maybe cut (to no fewer than :data:`MIN_NESTED_ID` characters)."""
        own = self.cdk_stack
        if own is None or self.nested_in is None:
            return own == stack
        head, _, guid = stack.rpartition("-")
        return (guid.isalnum() and own.startswith(head)
                and len(head) >= min(len(own), len(self.nested_in) + 1 + MIN_NESTED_ID))


@dataclass(frozen=True)
class StackResource:
    """A resource of a deployed CloudFormation stack, as ``ListStackResources`` lists it:
    the physical ID is what ``Ref`` gives for most types (a table's name, a queue's URL,
    a topic's ARN, a key's ID)."""

    logical_id: str
    type: str
    physical_id: str


@dataclass(frozen=True)
class DeployedAs:
    """The CloudFormation stack a file's resources deploy as, and its region (a
    Serverless service's ``SERVICE-STAGE``, known once its variables are resolved)."""

    stack: str
    region: str


@dataclass(frozen=True)
class ResolveContext:
    """Values a template needs to resolve: region, account, partition, parameters."""

    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    parameters: Mapping[str, str] = field(default_factory=dict)
    stage: str | None = None  # Serverless Framework stage
    # The configured CloudFormation stack: AWS::StackName where a parameter does not say
    stack_name: str | None = None
    # Values other scanned templates export (Outputs' Export.Name → value), for
    # Fn::ImportValue; a parameter of the same name wins
    exports: Mapping[str, str] = field(default_factory=dict)
    # Roles other scanned templates export (Export.Name → role key): a function's
    # ``Role`` importing one runs as that role, whatever name CloudFormation gives it
    role_exports: Mapping[str, str] = field(default_factory=dict)
    # Exports other scanned templates declare whose value does not resolve offline
    # (Export.Name → why), for the message of an Fn::ImportValue of one
    unknown_exports: Mapping[str, str] = field(default_factory=dict)
    # The configured stack as deployed (logical ID → resource): the names CloudFormation
    # generated, for the template that stack was deployed from (see load_declared)
    deployed: Mapping[str, StackResource] = field(default_factory=dict)

    def location(self) -> dict[str, str]:
        """The fields of names and ARNs the scan gives (``data/cfn_resources.json``,
        ``data/terraform_arns.json``): partition, region, account and the partition's DNS
        suffix (``url_suffix``)."""
        return {"partition": self.partition, "region": self.region, "account": self.account,
                "url_suffix": dns_suffix(self.partition)}


@dataclass(frozen=True)
class GrantSet:
    """Roles found in one or more sources, and the functions bound to them."""

    roles: Mapping[str, Role] = field(default_factory=dict)
    bindings: tuple[Binding, ...] = ()
    files: tuple[str, ...] = ()
    # Policies attached by role name to a role another file declares (a Terraform module
    # attaching to its caller's role, or the other way round): added to that role once
    # every file is read (:meth:`with_attached`)
    attached: tuple[tuple[str, Policy], ...] = ()
    # CloudFormation: the values the template exports, and the exports it imports that
    # were not known when it was read (see load_declared)
    exports: Mapping[str, str] = field(default_factory=dict)
    imports: frozenset[str] = frozenset()
    role_exports: Mapping[str, str] = field(default_factory=dict)  # Export.Name → role key
    # Roles of plain policy files that another file reads (Terraform's file()): roles
    # only for a principal mapped to one, never listed as unobserved
    included: frozenset[str] = frozenset()
    # Roles the files hand to an AWS service for its own use (an ECS task definition's
    # execution role, data/compute_roles.yaml's service_role): never traced
    service_roles: frozenset[str] = frozenset()
    # Exports whose value does not resolve offline: Export.Name → why
    unknown_exports: Mapping[str, str] = field(default_factory=dict)
    # The stack each file's resources deploy as, when only reading it tells (file → stack)
    deployed_as: Mapping[str, DeployedAs] = field(default_factory=dict)
    # Allow statements of resource-based policies naming by ARN a role of the account that
    # the file does not declare, by the role's name, or granting every role of the account
    # (EVERY_ROLE): added to the resource grants of the roles the files declare once every
    # file is read (:meth:`with_attached`)
    granted_by_name: tuple[tuple[str, Statement], ...] = ()
    # The resources (ARNs) the files' resource-based policies name, whoever they grant:
    # the files declare those resources' policies, which replace the account's
    policy_resources: frozenset[str] = frozenset()
    # Allow statements of the files' resource-based policies for anyone with no condition
    # on the principal (public): they grant no role, but say why a missing use succeeded
    public_statements: tuple[Statement, ...] = ()

    def merged(self, other: GrantSet) -> GrantSet:
        roles = dict(self.roles)
        roles.update(other.roles)
        return GrantSet(roles, self.bindings + other.bindings, self.files + other.files,
                        self.attached + other.attached, {**self.exports, **other.exports},
                        self.imports | other.imports,
                        {**self.role_exports, **other.role_exports},
                        self.included | other.included,
                        self.service_roles | other.service_roles,
                        {**self.unknown_exports, **other.unknown_exports},
                        {**self.deployed_as, **other.deployed_as},
                        self.granted_by_name + other.granted_by_name,
                        self.policy_resources | other.policy_resources,
                        self.public_statements + other.public_statements)

    def serving_too(self) -> frozenset[str]:
        """Roles traced code runs as that an AWS service also uses for its own work (one
        role as both a task's task role and its execution role)."""
        return self.service_roles & {b.role for b in self.bindings}

    def untraceable(self) -> frozenset[str]:
        """Roles no traced code runs as, so never listed as roles without traces: those of
        policy files another file includes, and those only an AWS service uses."""
        return self.included | (self.service_roles - {b.role for b in self.bindings})

    def with_origins(self, fix: Callable[[Origin], Origin]) -> GrantSet:
        """Every origin (roles', policies', statements', bindings') passed through ``fix``."""
        def policy(p: Policy) -> Policy:
            return replace(p, origin=fix(p.origin), statements=tuple(
                replace(s, origin=fix(s.origin)) for s in p.statements))

        def role(r: Role) -> Role:
            return replace(r, origin=fix(r.origin), policies=tuple(map(policy, r.policies)),
                           boundary=policy(r.boundary) if r.boundary is not None else None,
                           resource_grants=tuple(replace(s, origin=fix(s.origin))
                                                 for s in r.resource_grants))

        return replace(
            self, roles={k: role(r) for k, r in self.roles.items()},
            bindings=tuple(replace(b, origin=fix(b.origin)) for b in self.bindings),
            attached=tuple((name, policy(p)) for name, p in self.attached),
            granted_by_name=tuple((name, replace(s, origin=fix(s.origin)))
                                  for name, s in self.granted_by_name),
            public_statements=tuple(replace(s, origin=fix(s.origin))
                                    for s in self.public_statements))

    def with_attached(self, accounts: Mapping[str, str] | None = None,
                      account: str | None = None) -> tuple[GrantSet, list[tuple[str, Policy]]]:
        """The roles with the policies attached to them by name from other files, and
        the attachments naming a role no file declares (IAM role names are unique in an
        account, whatever their path). The resource grants naming a role by name go to
        that role too, and those granting every role (EVERY_ROLE) to every role; those
        naming a role no file declares stay in ``granted_by_name`` (a role read from the
        account may be it), as do those granting every role. ``accounts`` gives the
        account of the files deploying to another than ``account``, the scan's (a CDK
        stack's environment): a name, or every role, is then the roles of that account,
        and the account's roles read from IAM are the scan's account's."""
        def account_of(origin: Origin) -> str | None:
            return (accounts or {}).get(origin.file or "", account)

        by_name = {(account_of(role.origin), role.name): key
                   for key, role in self.roles.items() if role.name}
        roles = dict(self.roles)
        unmatched: list[tuple[str, Policy]] = []
        for name, policy in self.attached:
            target = by_name.get((account_of(policy.origin), name))
            if target is None:
                unmatched.append((name, policy))
            else:
                roles[target] = replace(roles[target], policies=(*roles[target].policies,
                                                                 policy))
        elsewhere: list[tuple[str, Statement]] = []
        for name, statement in self.granted_by_name:
            here = account_of(statement.origin)
            if name == EVERY_ROLE:
                targets = [key for key, role in roles.items() if account_of(role.origin) == here]
            else:
                targets = [key] if (key := by_name.get((here, name))) is not None else []
            for target in targets:
                roles[target] = replace(roles[target], resource_grants=(
                    *roles[target].resource_grants, statement))
            if (name == EVERY_ROLE or not targets) and here == account:
                elsewhere.append((name, statement))
        return (replace(self, roles=roles, attached=(), granted_by_name=tuple(elsewhere)),
                unmatched)

    def granted_to(self, role: Role) -> Role:
        """``role`` (read from the scan's account) with the resource grants the files'
        policies give it by name, or give every role."""
        found = tuple(statement for name, statement in self.granted_by_name
                      if name in (role.name, EVERY_ROLE))
        return replace(role, resource_grants=(*role.resource_grants, *found)) if found else role
