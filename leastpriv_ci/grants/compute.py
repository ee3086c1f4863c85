"""Which resource types run as a role, and which of their arguments name the role and
the resource (``data/compute_roles.yaml``), for every source that declares them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from leastpriv_ci.bundled import load


@dataclass(frozen=True)
class ComputeType:
    """A resource type that runs as a role: ``role`` is the argument naming the role,
    ``names`` those naming the resource (a function's name, a task family)."""

    kind: str  # the kind of compute, shared by its spellings: "ecs-task-definition"
    type: str  # "AWS::ECS::TaskDefinition", "aws_ecs_task_definition"
    role: str
    names: tuple[str, ...]


@cache
def _by_source() -> Mapping[str, Mapping[str, ComputeType]]:
    data: Mapping[str, Any] = load("compute_roles.yaml")
    found: dict[str, dict[str, ComputeType]] = {}
    for kind, entry in data["kinds"].items():
        for source in ("cloudformation", "terraform"):
            spelled = entry[source]
            found.setdefault(source, {})[spelled["type"]] = ComputeType(
                kind, spelled["type"], spelled["role"], tuple(spelled["names"]))
    return found


def cloudformation_types() -> Mapping[str, ComputeType]:
    """CloudFormation resource type → how it names its role and itself."""
    return _by_source()["cloudformation"]


def terraform_types() -> Mapping[str, ComputeType]:
    """Terraform resource type → how it names its role and itself."""
    return _by_source()["terraform"]
