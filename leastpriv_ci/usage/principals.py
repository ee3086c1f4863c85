"""Which compute principal a segment document belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from leastpriv_ci.usage.documents import EMPTY_AWS, Aws, Node
from leastpriv_ci.usage.resources import partition

LAMBDA_FUNCTION = "AWS::Lambda::Function"
LAMBDA_SERVICE = "AWS::Lambda"
# Origins of application code (the rest of "AWS::..." are AWS services' own segments,
# like API Gateway stages, whose calls are the service's, not the application's).
COMPUTE_ORIGINS = frozenset({
    LAMBDA_FUNCTION,
    "AWS::EC2::Instance",
    "AWS::ECS::Container",
    "AWS::ECS::EC2",  # ADOT's origin for a task on EC2 capacity
    "AWS::ECS::Fargate",
    "AWS::EKS::Container",
    "AWS::ElasticBeanstalk::Environment",
    "AWS::AppRunner::Service",
})


class Principal(NamedTuple):
    """A principal ARN and, when the principal map gives one, the role it runs as."""

    arn: str
    role: str | None = None


SERVICE = Principal("")  # an AWS service's own segment: its calls belong to nobody


def is_role_arn(arn: str) -> bool:
    return arn.startswith("arn:") and ":iam::" in arn and ":role/" in arn


def function_arn(arn: str) -> str:
    """A Lambda function ARN without its version or alias qualifier."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


def detect(doc: Node, principal_map: Mapping[str, str]) -> Principal | None:
    """The principal a top-level document names, SERVICE, or None (inherit or unattributed)."""
    origin = doc.origin
    aws = doc.aws if doc.aws is not None else EMPTY_AWS
    name = doc.name
    mapped = principal_map.get(name) if isinstance(name, str) and principal_map else None
    role = mapped if mapped is not None and is_role_arn(mapped) else None

    arn = aws.function_arn
    if not isinstance(arn, str) and origin in (LAMBDA_FUNCTION, LAMBDA_SERVICE):
        arn = doc.resource_arn
    if isinstance(arn, str) and arn.startswith("arn:") and ":lambda:" in arn:
        return Principal(function_arn(arn), role)

    task = _ecs_task_definition(aws)
    if task is not None:
        return Principal(task, role)

    if mapped is not None:
        return Principal(mapped, role)
    if isinstance(origin, str) and origin.startswith("AWS::") and origin not in COMPUTE_ORIGINS:
        return SERVICE
    return None


def _ecs_task_definition(aws: Aws) -> str | None:
    # ADOT: aws.ecs.task_family, region/account from the task or cluster ARN.
    ecs = aws.ecs
    if not isinstance(ecs, dict):
        return None
    family = ecs.get("task_family")
    if not isinstance(family, str) or not family:
        return None
    for key in ("task_arn", "cluster_arn", "container_arn"):
        source = ecs.get(key)
        if isinstance(source, str) and source.startswith("arn:"):
            parts = source.split(":")
            if len(parts) >= 5:
                return f"arn:{parts[1]}:ecs:{parts[3]}:{parts[4]}:task-definition/{family}"
    region = aws.region
    account = aws.account_id
    if isinstance(region, str) and isinstance(account, str):
        return f"arn:{partition(region)}:ecs:{region}:{account}:task-definition/{family}"
    return None
