"""Which resource types run as a role, and which of their arguments name the role and
the resource (``data/compute_roles.yaml``), for every source that declares them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from leastpriv_ci.bundled import load

INSTANCE_PROFILE = "instance-profile"  # the kind whose binding EC2 resources name
LAMBDA_FUNCTION = "lambda-function"


@dataclass(frozen=True)
class ComputeType:
    """A resource type that runs as a role: ``role`` is the argument naming the role,
    ``names`` those naming the resource (a function's name, a task family)."""

    kind: str  # the kind of compute, shared by its spellings: "ecs-task-definition"
    type: str  # "AWS::ECS::TaskDefinition", "aws_ecs_task_definition"
    role: str
    names: tuple[str, ...]
    # the argument naming a role the service itself uses for it (an ECS task
    # definition's execution role): never a traced principal's
    service_role: str | None = None


@dataclass(frozen=True)
class ProfileUser:
    """A resource type that runs as an instance profile's role (an EC2 instance, a launch
    template): ``profile`` is the path of the argument naming the profile."""

    kind: str
    type: str
    profile: tuple[str, ...]


@dataclass(frozen=True)
class LaunchUser:
    """A resource type that runs the instances of a launch template or configuration (an
    Auto Scaling group): ``launch`` are the paths of the arguments naming one."""

    kind: str
    type: str
    launch: tuple[tuple[str, ...], ...]


@cache
def _data() -> Mapping[str, Any]:
    data: Mapping[str, Any] = load("compute_roles.yaml")
    return data


SOURCES = ("cloudformation", "terraform")


@cache
def _by_source() -> Mapping[str, Mapping[str, ComputeType]]:
    return {source: {spelled["type"]: ComputeType(
                kind, spelled["type"], spelled["role"], tuple(spelled["names"]),
                entry.get("service_role", {}).get(source))
            for kind, entry in _data()["kinds"].items() for spelled in (entry[source],)}
            for source in SOURCES}


@cache
def _users_by_source() -> Mapping[str, Mapping[str, ProfileUser]]:
    return {source: {spelled["type"]: ProfileUser(kind, spelled["type"],
                                                  tuple(spelled["profile"]))
                     for kind, entry in _data()["profile_users"].items()
                     for spelled in (entry[source],)}
            for source in SOURCES}


@cache
def _launchers_by_source() -> Mapping[str, Mapping[str, LaunchUser]]:
    return {source: {spelled["type"]: LaunchUser(kind, spelled["type"],
                                                 tuple(map(tuple, spelled["launch"])))
                     for kind, entry in _data()["launch_users"].items()
                     for spelled in (entry[source],)}
            for source in SOURCES}


def launch_users(source: str) -> Mapping[str, LaunchUser]:
    """``source``'s (``cloudformation``, ``terraform``) resource type → where it names the
    launch template or configuration whose instances it runs."""
    return _launchers_by_source()[source]


@cache
def service_role_platforms() -> frozenset[str]:
    """The platform groups of what AWS services do with the roles handed to them for
    their own use (an ECS task definition's execution role: ``ecs-task-execution``)."""
    return frozenset(entry["service_role"]["platform"] for entry in _data()["kinds"].values()
                     if "service_role" in entry)


@cache
def traced_kinds() -> Mapping[str, str]:
    """The service in a traced principal's ARN (``lambda``, ``ecs``, ``states``) → the
    kind of declaration that can be that principal."""
    return {entry["traced_as"]: kind for kind, entry in _data()["kinds"].items()
            if "traced_as" in entry}


def cloudformation_types() -> Mapping[str, ComputeType]:
    """CloudFormation resource type → how it names its role and itself."""
    return _by_source()["cloudformation"]


def terraform_types() -> Mapping[str, ComputeType]:
    """Terraform resource type → how it names its role and itself."""
    return _by_source()["terraform"]


def cloudformation_profile_users() -> Mapping[str, ProfileUser]:
    """CloudFormation resource type → where it names the instance profile it runs as."""
    return _users_by_source()["cloudformation"]


def terraform_profile_users() -> Mapping[str, ProfileUser]:
    """Terraform resource type → where it names the instance profile it runs as."""
    return _users_by_source()["terraform"]


def profile_name_of(value: str) -> str:
    """An instance profile's name, from its name or ARN
    (``arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME``)."""
    if value.startswith("arn:"):
        return value.rsplit("/", 1)[-1] if ":instance-profile/" in value else ""
    return value
