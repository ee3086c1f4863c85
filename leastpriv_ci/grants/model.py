"""What a grants source returns: roles and which functions run as them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from leastpriv_ci.policy.model import Role
from leastpriv_ci.records import Origin


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


@dataclass(frozen=True)
class ResolveContext:
    """Values a template needs to resolve: region, account, partition, parameters."""

    region: str = "us-east-1"
    account: str = "123456789012"
    partition: str = "aws"
    parameters: Mapping[str, str] = field(default_factory=dict)
    stage: str | None = None  # Serverless Framework stage


@dataclass(frozen=True)
class GrantSet:
    """Roles found in one or more sources, and the functions bound to them."""

    roles: Mapping[str, Role] = field(default_factory=dict)
    bindings: tuple[Binding, ...] = ()
    files: tuple[str, ...] = ()

    def merged(self, other: GrantSet) -> GrantSet:
        roles = dict(self.roles)
        roles.update(other.roles)
        return GrantSet(roles, self.bindings + other.bindings, self.files + other.files)
