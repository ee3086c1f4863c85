"""The interface every service extractor implements: one call → IAM actions on resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from leastpriv_ci.usage.fields import Fields
from leastpriv_ci.usage.operations import Step
from leastpriv_ci.usage.resources import ResourceSpec, Where


@dataclass(frozen=True, slots=True)
class Call:
    """One AWS SDK call found in a trace, with what it needs to be interpreted."""

    service: str  # IAM prefix
    operation: str
    fields: Fields
    where: Where
    steps: tuple[Step, ...]
    specs: tuple[ResourceSpec, ...]  # this service's resource types, preferred first


class Target(NamedTuple):
    """One IAM action on one resource (``*`` + ``known=False`` when the trace names none);
    ``possible``: the call may have needed it (its request decides, and is not traced)."""

    action: str
    resource: str
    known: bool = True
    possible: bool = False


UNKNOWN = "*"


def resources_for(call: Call, step: Step, types: tuple[str, ...] | None = None) -> list[str]:
    """The ARNs for ``step`` from the first of the service's types the action supports."""
    wanted = step.resource_types if types is None else types
    for spec in call.specs:
        if spec.type in wanted:
            arns = spec.build(call.fields, call.where)
            if arns:
                return arns
    return []
