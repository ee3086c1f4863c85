"""The data-driven extractor for every service without its own module."""

from __future__ import annotations

from leastpriv_ci.usage.extract import UNKNOWN, Call, Target, resources_for


def targets(call: Call) -> list[Target]:
    """Each step's action on the resources the call's fields name (``*`` if none apply).

    A call that names no resource of an action's one optional resource type is on ``*``,
    as IAM authorizes it (``cloudwatch:PutMetricData`` without a dataset); for any other
    action with resource types, the resource is unknown.
    """
    result: list[Target] = []
    for step in call.steps:
        if not step.resource_types:
            result.append(Target(step.action, "*"))
            continue
        arns = resources_for(call, step)
        if arns:
            result.extend(Target(step.action, arn) for arn in arns)
        elif step.optionally_scoped:
            result.append(Target(step.action, "*"))
        else:
            result.append(Target(step.action, UNKNOWN, known=False))
    return result
